// `npm run build`, second step: bundles each of the package's own functions (lambda/<name>/index.ts)
// into dist/functions/<name>/index.js with the options CachePyramidFunction gives esbuild at synth,
// so an installed package deploys them without sources or esbuild (lib/package-paths.ts).
import { readdirSync, existsSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { buildSync } from 'esbuild';

const root = path.join(path.dirname(new URL(import.meta.url).pathname), '..');
const out = path.join(root, 'dist', 'functions');
rmSync(out, { recursive: true, force: true });
const functions = readdirSync(path.join(root, 'lambda'), { withFileTypes: true })
  // runtime is the library entry (cache-pyramid/runtime), not a function.
  .filter((entry) => entry.isDirectory() && entry.name !== 'runtime' && existsSync(path.join(root, 'lambda', entry.name, 'index.ts')))
  .map((entry) => entry.name);
for (const name of functions) {
  buildSync({
    entryPoints: [path.join(root, 'lambda', name, 'index.ts')],
    outfile: path.join(out, name, 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    external: ['@aws-sdk/*', 'pg-native'],
    logLevel: 'warning',
  });
}
process.stdout.write(`bundled ${functions.length} functions into ${path.relative(root, out)}: ${functions.join(', ')}\n`);
