/**
 * Cluster operations under load (issue 13): on 3 masters with 1 replica each, three API processes
 * (own L1, own ioredis Cluster client, production command timeout 50 ms) read products, lists and
 * users, write products and profiles, and purge by tag and by pattern while an operator runs, one
 * after the other: a planned failover, an unplanned one (SIGKILL; the killed node rejoins), adding a
 * master with a third of the slots migrated to it live, and removing that master again.
 *
 * Per operation, against the steady state measured before it in the same run: read latency p50/p99
 * during the operation, origin loads per second (what the operation cost the database), the lowest
 * hit rate of any second, and how long after the operation the hit rate took to return within 10 %
 * of steady state. Targets: 0 failed
 * requests and 0 answers staler than the documented bounds (the checker of the tests).
 */
import { BenchResult, BenchRow, percentile, result, row } from './support/result';
import type { RequestRecord } from '../test/cluster/support/protocol';
import { ClusterEnvironment, runScenario, ScenarioResult, startEnvironment } from '../test/cluster/support/scenario';
import type { RedisClusterNode } from '../test/support/servers';

const STEADY_MS = 5_000;
const AFTER_MS = 8_000;
/** Hit rate is judged per second: writes and purges make shorter buckets too noisy. */
const BUCKET_MS = 1_000;
/** Back to steady state: within 10 % of the steady hit rate. */
const RECOVERED = 0.9;
const READS = new Set(['product', 'list', 'user']);
/** The runtime's defaults: production timeouts, and no replicaAcks (the harness's added master has no replica). */
const PRODUCTION_TIMEOUTS = { commandTimeoutMs: 50, connectTimeoutMs: 100, replicaAcks: undefined };

interface Window {
  readonly from: number;
  readonly to: number;
}

function readsIn(requests: readonly RequestRecord[], window: Window): RequestRecord[] {
  return requests.filter(([at, , , route]) => READS.has(route) && at >= window.from && at < window.to);
}

function hitRate(reads: readonly RequestRecord[]): number {
  if (reads.length === 0) return NaN;
  return reads.filter(([, , , , source]) => source !== 'origin').length / reads.length;
}

function originPerSecond(reads: readonly RequestRecord[], window: Window): number {
  return reads.filter(([, , , , source]) => source === 'origin').length / ((window.to - window.from) / 1000);
}

/** ms after the operation ended until the hit rate stayed within 10 % of steady state (0 if it never left). */
function recoveryMs(requests: readonly RequestRecord[], run: ScenarioResult, steadyHitRate: number): number {
  let lastBelow = -Infinity;
  for (let from = run.operationStartedAt; from + BUCKET_MS <= run.loadStoppedAt; from += BUCKET_MS) {
    const rate = hitRate(readsIn(requests, { from, to: from + BUCKET_MS }));
    if (rate < steadyHitRate * RECOVERED) lastBelow = from + BUCKET_MS;
  }
  return Math.max(0, Math.round(lastBelow - run.operationEndedAt));
}

function lowestHitRate(requests: readonly RequestRecord[], run: ScenarioResult): number {
  let lowest = 1;
  for (let from = run.operationStartedAt; from + BUCKET_MS <= run.loadStoppedAt; from += BUCKET_MS) {
    const rate = hitRate(readsIn(requests, { from, to: from + BUCKET_MS }));
    if (rate < lowest) lowest = rate;
  }
  return Math.round(lowest * 1000) / 10;
}

function rowsOf(name: string, run: ScenarioResult): BenchRow[] {
  const requests = run.reports.flatMap((r) => r.requests);
  // The first second warms the caches; it is not steady state.
  const steady = { from: run.loadStartedAt + 1_000, to: run.operationStartedAt };
  const during = { from: run.operationStartedAt, to: Math.max(run.operationEndedAt, run.operationStartedAt + 1) };
  const steadyReads = readsIn(requests, steady);
  const duringReads = readsIn(requests, during);
  const latency = (reads: RequestRecord[], p: number) => percentile(reads.map(([, ms]) => Math.round(ms * 10) / 10), p);
  const steadyHitRate = hitRate(steadyReads);
  const { verdict } = run;
  const problems = [...verdict.failed.map((f) => `failed: ${JSON.stringify(f)}`), ...verdict.stale, ...verdict.incompletePurges, ...verdict.invisibleWrites];
  // The checker's own words, so that a missed target can be read without re-running.
  if (problems.length > 0) process.stderr.write(`${name}: ${problems.length} problem(s):\n  ${problems.slice(0, 20).join('\n  ')}\n`);
  return [
    row(`${name}: operation took`, Math.round(during.to - during.from), 'ms'),
    row(`${name}: read p50 during`, latency(duringReads, 50), 'ms', { baseline: { name: 'steady state', value: latency(steadyReads, 50) } }),
    row(`${name}: read p99 during`, latency(duringReads, 99), 'ms', { baseline: { name: 'steady state', value: latency(steadyReads, 99) } }),
    row(`${name}: origin loads during`, Math.round(originPerSecond(duringReads, during) * 10) / 10, 'loads/s', {
      baseline: { name: 'steady state', value: Math.round(originPerSecond(steadyReads, steady) * 10) / 10 },
    }),
    row(`${name}: lowest hit rate in a second during or after`, lowestHitRate(requests, run), '%', { baseline: { name: 'steady state', value: Math.round(steadyHitRate * 1000) / 10 } }),
    row(`${name}: hit rate back within 10 % of steady`, recoveryMs(requests, run, steadyHitRate), 'ms after the operation'),
    row(`${name}: failed requests (5xx or past 10 s)`, verdict.failed.length, 'requests', { target: '0', pass: verdict.failed.length === 0 }),
    row(`${name}: answers staler than the bounds`, verdict.stale.length + verdict.incompletePurges.length + verdict.invisibleWrites.length, 'answers', {
      target: '0',
      pass: verdict.stale.length + verdict.incompletePurges.length + verdict.invisibleWrites.length === 0,
    }),
  ];
}

export default async function bench(): Promise<BenchResult> {
  const env: ClusterEnvironment = await startEnvironment();
  try {
    const rows: BenchRow[] = [];
    const scenario = (operation: () => Promise<unknown>) => runScenario(env, { steadyMs: STEADY_MS, afterMs: AFTER_MS, load: PRODUCTION_TIMEOUTS, operation });

    const [first] = await env.operator.masters();
    rows.push(...rowsOf('planned failover', await scenario(() => env.operator.plannedFailover(first))));

    const victim = (await env.operator.masters())[1];
    rows.push(...rowsOf('unplanned failover (SIGKILL)', await scenario(() => env.operator.killMaster(victim))));
    await env.operator.rejoin(victim);

    let added: RedisClusterNode | undefined;
    rows.push(
      ...rowsOf(
        'add a master, migrate 1/3 of the slots',
        await scenario(async () => {
          added = (await env.operator.addMasterAndReshard(1 / 3, { batchSize: 16 })).node;
        }),
      ),
    );
    rows.push(...rowsOf('remove that master', await scenario(() => env.operator.removeMaster(added!, { batchSize: 16 }))));

    return result(
      'cluster-ops',
      '3 masters + 1 replica each; 3 API processes × 2 loops of mixed reads/writes/purges, command timeout 50 ms; per operation vs the steady state before it in the same run',
      rows,
    );
  } finally {
    await env.stop();
  }
}
