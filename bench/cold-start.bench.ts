/**
 * Cold start of the API function (issue #4): the bundle CDK would deploy (esbuild as NodejsFunction
 * runs it for CachePyramidFunction: minified, source maps, platform node, target node24, AWS SDK
 * external) and the time a fresh Node process takes to load it, median of 10, against an empty
 * bundle built and loaded the same way in the same run. Loading includes the external AWS SDK
 * client the function imports at module scope, resolved from node_modules as the Lambda runtime
 * resolves it from its own copy.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundleLikeCdk, NODE_PATH, REPO_ROOT } from '../test/lambda/api/bundle';
import { BenchResult, percentile, result, row } from './support/result';

const RUNS = 10;
const MAX_BUNDLE_BYTES = 300 * 1024;
const MAX_LOAD_MS = 150;

interface LoadTimes {
  /** Wall time of `require(bundle)`, measured inside the fresh process. */
  readonly requireMs: number;
  /** CPU time (user + system) the process spent in `require(bundle)`: what a busy machine's scheduler cannot inflate. */
  readonly requireCpuMs: number;
  /** Wall time of the whole process: start, require, exit. */
  readonly wallMs: number;
}

function loadOnce(bundle: string): LoadTimes {
  const script = [
    'const c=process.cpuUsage(),t=process.hrtime.bigint();',
    `require(${JSON.stringify(bundle)});`,
    'const u=process.cpuUsage(c);',
    'process.stdout.write(JSON.stringify([Number(process.hrtime.bigint()-t)/1e6,(u.user+u.system)/1e3]))',
  ].join('');
  const started = process.hrtime.bigint();
  const out = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, NODE_PATH }, encoding: 'utf8' });
  const [requireMs, requireCpuMs] = JSON.parse(out) as [number, number];
  return { requireMs, requireCpuMs, wallMs: Number(process.hrtime.bigint() - started) / 1e6 };
}

function medians(bundle: string): LoadTimes {
  loadOnce(bundle);
  const runs = Array.from({ length: RUNS }, () => loadOnce(bundle));
  const median = (pick: (r: LoadTimes) => number) => Math.round(percentile(runs.map(pick), 50) * 10) / 10;
  return { requireMs: median((r) => r.requireMs), requireCpuMs: median((r) => r.requireCpuMs), wallMs: median((r) => r.wallMs) };
}

export default async function bench(): Promise<BenchResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cache-pyramid-cold-start-'));
  try {
    const apiBundle = path.join(dir, 'api', 'index.js');
    const emptyEntry = path.join(dir, 'empty.ts');
    const emptyBundle = path.join(dir, 'empty', 'index.js');
    fs.writeFileSync(emptyEntry, 'export async function handler(): Promise<void> {}\n');
    await bundleLikeCdk(path.join(REPO_ROOT, 'lambda', 'api', 'index.ts'), apiBundle);
    await bundleLikeCdk(emptyEntry, emptyBundle);

    const apiBytes = fs.statSync(apiBundle).size;
    const emptyBytes = fs.statSync(emptyBundle).size;
    const api = medians(apiBundle);
    const empty = medians(emptyBundle);

    return result('cold-start', 'API function bundle size and load time in a fresh Node process (median of 10) vs an empty bundle', [
      row('bundle size (index.js, minified)', Math.round((apiBytes / 1024) * 10) / 10, 'KiB', {
        baseline: { name: 'empty bundle', value: Math.round((emptyBytes / 1024) * 10) / 10 },
        target: `≤ ${MAX_BUNDLE_BYTES / 1024} KiB`,
        pass: apiBytes <= MAX_BUNDLE_BYTES,
      }),
      row('require(bundle) in a fresh process, wall time, median of 10', api.requireMs, 'ms', {
        baseline: { name: 'empty bundle', value: empty.requireMs },
        target: `≤ ${MAX_LOAD_MS} ms`,
        pass: api.requireMs <= MAX_LOAD_MS,
      }),
      row('require(bundle) in a fresh process, CPU time, median of 10', api.requireCpuMs, 'ms', {
        baseline: { name: 'empty bundle', value: empty.requireCpuMs },
        target: `≤ ${MAX_LOAD_MS} ms`,
        pass: api.requireCpuMs <= MAX_LOAD_MS,
      }),
      row('node process start + require + exit, median of 10', api.wallMs, 'ms', {
        baseline: { name: 'empty bundle', value: empty.wallMs },
        target: `≤ baseline + ${MAX_LOAD_MS} ms`,
        pass: api.wallMs - empty.wallMs <= MAX_LOAD_MS,
      }),
      // Absolute load times scale with how busy the machine is; this says how busy it was.
      row('machine load average (1 min) after the runs', Math.round(os.loadavg()[0] * 10) / 10, `on ${os.cpus().length} CPUs`),
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
