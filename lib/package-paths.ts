import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The folder of this package's package.json: the repository root in a checkout (this file is
 * lib/package-paths.ts), node_modules/cache-pyramid in an app that installed it (this file is
 * dist/lib/package-paths.js). Every path the package resolves starts here, never from `__dirname`
 * counted upwards, which differs between the two.
 */
export const PACKAGE_ROOT = findPackageRoot(__dirname);

/** `lambda/`: the function sources, present in a checkout only. */
export const LAMBDA_SOURCE_ROOT = path.join(PACKAGE_ROOT, 'lambda');

/** `dist/functions/<codeDir>/index.js`: the package's own functions, bundled by `npm run build`. */
export const FUNCTION_BUNDLE_ROOT = path.join(PACKAGE_ROOT, 'dist', 'functions');

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === 'cache-pyramid') return dir;
    if (path.dirname(dir) === dir) throw new Error(`cache-pyramid: no package.json named cache-pyramid above ${from}`);
  }
}
