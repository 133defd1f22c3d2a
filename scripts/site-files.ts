/**
 * The default page (`site/`) as the dev server serves it: the same files the stack deploys to the
 * assets bucket, with the Cache-Control CloudFront's deployment gives them (entry document
 * revalidated, versioned files immutable). Only names of files in the folder are served.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const SITE_DIR = path.join(__dirname, '..', 'site');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export interface SiteFile {
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** The file for `urlPath` (`/` is `index.html`), or undefined when the site has no such file. */
export function siteFile(urlPath: string, dir: string = SITE_DIR): SiteFile | undefined {
  const name = urlPath === '/' ? 'index.html' : urlPath.slice(1);
  // Flat folder: a name is one path segment of safe characters, so nothing outside `dir` is reachable.
  if (!/^[\w.-]+$/.test(name) || name.startsWith('.')) return undefined;
  const file = path.join(dir, name);
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) return undefined;
  const entry = name === 'index.html';
  return {
    headers: {
      'content-type': CONTENT_TYPES[path.extname(name)] ?? 'application/octet-stream',
      'cache-control': entry ? 'public, max-age=0, must-revalidate' : 'public, max-age=31536000, immutable',
    },
    body: fs.readFileSync(file),
  };
}
