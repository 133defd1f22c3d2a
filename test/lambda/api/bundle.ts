/**
 * Bundles a function entry the way CDK's NodejsFunction does for CachePyramidFunction
 * (lib/api/api-function.ts): `esbuild --bundle <entry> --target=node24 --platform=node --format=cjs
 * --minify --sourcemap --external:@aws-sdk/*`. Tests and the cold-start benchmark load the result,
 * i.e. the artifact that would be deployed, not the TypeScript sources.
 */
import * as path from 'node:path';
import { build } from 'esbuild';

export const REPO_ROOT = path.join(__dirname, '..', '..', '..');

/** The modules the Lambda runtime provides (AWS SDK v3), left out of the bundle as CDK does. */
export const RUNTIME_PROVIDED = ['@aws-sdk/*'];

export async function bundleLikeCdk(entry: string, outfile: string, extraExternal: string[] = []): Promise<void> {
  await build({
    entryPoints: [entry],
    bundle: true,
    target: 'node24',
    platform: 'node',
    format: 'cjs',
    outfile,
    minify: true,
    sourcemap: true,
    external: [...RUNTIME_PROVIDED, ...extraExternal],
    logLevel: 'warning',
  });
}

/** `NODE_PATH` for a process that loads a bundle from outside the repository: externals resolve from its node_modules. */
export const NODE_PATH = path.join(REPO_ROOT, 'node_modules');
