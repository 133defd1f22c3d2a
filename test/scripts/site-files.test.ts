import * as fs from 'node:fs';
import * as path from 'node:path';
import { SITE_DIR, siteFile } from '../../scripts/site-files';

describe('the default page (site/) as npm run dev serves it', () => {
  it('serves index.html at the root, revalidated, and the versioned files it links as immutable', () => {
    const index = siteFile('/')!;
    expect(index.headers).toEqual({ 'content-type': 'text/html; charset=utf-8', 'cache-control': 'public, max-age=0, must-revalidate' });
    const html = index.body.toString('utf8');
    const linked = [...html.matchAll(/(?:src|href)="\/([^"]+)"/g)].map((m) => m[1]);
    expect(linked.sort()).toEqual(['pyramid.1.css', 'pyramid.1.js']);
    for (const name of linked) {
      expect(siteFile(`/${name}`)?.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(fs.existsSync(path.join(SITE_DIR, name))).toBe(true);
    }
  });

  it('has no inline script or style, which the distribution\'s Content-Security-Policy (default-src \'self\') would block', () => {
    const html = siteFile('/')!.body.toString('utf8');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|style="/);
  });

  it('serves nothing outside the folder and nothing that is not a file of it', () => {
    for (const p of ['/../package.json', '/%2e%2e/package.json', '/.gitignore', '/api/products/1', '/missing.js', '/site']) expect(siteFile(p)).toBeUndefined();
  });
});
