/**
 * Invalidation (issue #6), two parts in one run.
 *
 * CloudFront cost: 10 000 events over 60 s of simulated time, naming 2 000 distinct paths (1 980
 * product pages with Zipf-distributed popularity, s = 1, plus 20 list pages; each event names its
 * product and one list page). They pass through a simulation of the SQS event source with the
 * pipeline's CloudFront-purger defaults (10 s batching window, 1 000 records per batch) into the real
 * purge core, `purgeCdnPaths`. The CloudFront client is a counting fake (it counts calls and paths
 * and answers success; no AWS call is made, and CloudFront's in-progress limits are not simulated).
 * Baseline: one `CreateInvalidation` per event, as the seed's `invalidate_cdn(paths)` does.
 *
 * Redis throughput: keys/s of the purge core removing 200 000 exact keys (`purgeRedis`), and removing
 * them by pattern (`SCAN` on every master), against a raw pipelined `UNLINK` of the same keys in
 * batches of the same size, on the harness's real standalone Redis and 3-master cluster: a warm-up
 * round, then 5 rounds in rotating order, median reported. The purge of exact keys also unlinks each
 * key's coalescing lock (so that no fill begun before the write lands after it), so its target is
 * against a raw `UNLINK` of the keys with their locks; the ratio to the keys alone is reported too.
 */
import type { CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import Redis, { Cluster } from 'ioredis';
import { hashSlot } from '../lambda/runtime/cache/hash-slot';
import { CacheKeys } from '../lambda/runtime/keys';
import { CdnPurgeRecord, purgeCdnPaths } from '../lambda/runtime/invalidation/cdn-purge';
import { purgeRedis } from '../lambda/runtime/invalidation/redis-purge';
import { RedisCluster, RedisServer } from '../test/support/servers';
import { BenchResult, BenchRow, percentile, result, row } from './support/result';

const EVENTS = 10_000;
const SIMULATED_MS = 60_000;
const PRODUCTS = 1_980;
const LIST_PAGES = 20;
const WINDOW_MS = 10_000;
const BATCH_SIZE = 1_000;
/** CloudFront: the first 1 000 paths a month are free (Developer Guide), then USD 0.005 per path (Vantage CUR reference, April 2025). */
const USD_PER_PATH = 0.005;

const REDIS_KEYS = 200_000;
const UNLINK_BATCH = 500;
const ROUNDS = 5;

/** Deterministic PRNG (mulberry32), so every run simulates the same events. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function zipfSampler(n: number, random: () => number): () => number {
  const weights = Array.from({ length: n }, (_, i) => 1 / (i + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const cumulative: number[] = [];
  let sum = 0;
  for (const w of weights) cumulative.push((sum += w / total));
  return () => {
    const u = random();
    let low = 0;
    let high = n - 1;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (cumulative[mid] < u) low = mid + 1;
      else high = mid;
    }
    return low;
  };
}

interface SimulatedEvent {
  readonly atMs: number;
  readonly id: string;
  readonly paths: readonly string[];
}

function simulatedEvents(): SimulatedEvent[] {
  const random = prng(6);
  const product = zipfSampler(PRODUCTS, random);
  // The first PRODUCTS events name each product once, so that the events name exactly 2 000 distinct
  // paths; the rest follow the popularity distribution. Arrival times are uniform over the 60 s.
  return Array.from({ length: EVENTS }, (_, i) => ({
    atMs: random() * SIMULATED_MS,
    id: `event-${i}`,
    paths: [`/api/products/${(i < PRODUCTS ? i : product()) + 1}`, `/api/products?page=${(i % LIST_PAGES) + 1}`],
  })).sort((a, b) => a.atMs - b.atMs);
}

/** The SQS event source: a batch closes when it holds BATCH_SIZE records or WINDOW_MS after its first record. */
function eventSourceBatches(events: readonly SimulatedEvent[]): SimulatedEvent[][] {
  const batches: SimulatedEvent[][] = [];
  let current: SimulatedEvent[] = [];
  for (const event of events) {
    if (current.length > 0 && (current.length === BATCH_SIZE || event.atMs - current[0].atMs >= WINDOW_MS)) {
      batches.push(current);
      current = [];
    }
    current.push(event);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** A counting fake of the CloudFront client: counts `CreateInvalidation` calls and their paths, answers success. */
class CountingCloudFront {
  calls = 0;
  paths = 0;
  largestCall = 0;

  async send(command: CreateInvalidationCommand): Promise<{ Invalidation: { Id: string } }> {
    const items = command.input.InvalidationBatch?.Paths?.Items ?? [];
    this.calls++;
    this.paths += items.length;
    this.largestCall = Math.max(this.largestCall, items.length);
    return { Invalidation: { Id: `I${this.calls}` } };
  }
}

async function cdnRows(): Promise<BenchRow[]> {
  const events = simulatedEvents();
  const distinct = new Set(events.flatMap((e) => e.paths)).size;
  const options = { distributionId: 'EBENCH', sleep: async () => undefined, random: () => 0.5, now: () => 0, deadline: Infinity };

  const batched = new CountingCloudFront();
  const batches = eventSourceBatches(events);
  for (const batch of batches) {
    const records: CdnPurgeRecord[] = batch.map((e) => ({ id: e.id, paths: e.paths }));
    const outcome = await purgeCdnPaths(records, { ...options, cloudFront: batched as never });
    if (outcome.succeeded.length !== batch.length) throw new Error('the counting fake refused nothing, yet a record did not succeed');
  }

  const perEvent = new CountingCloudFront();
  for (const event of events) await purgeCdnPaths([{ id: event.id, paths: event.paths }], { ...options, cloudFront: perEvent as never });

  const cost = (paths: number) => Math.max(0, paths - 1000) * USD_PER_PATH;
  const baselineName = 'one CreateInvalidation per event';
  return [
    row('events over 60 s of simulated time', EVENTS, 'events'),
    row('distinct paths the events name', distinct, 'paths'),
    row('SQS batches (≤ 1000 records, 10 s window)', batches.length, 'batches'),
    row('CreateInvalidation calls', batched.calls, 'calls', {
      baseline: { name: baselineName, value: perEvent.calls },
      target: '≤ 0.01× baseline',
      pass: batched.calls <= perEvent.calls * 0.01,
    }),
    row('paths submitted (billed)', batched.paths, 'paths', {
      baseline: { name: baselineName, value: perEvent.paths },
      target: '≤ 0.75× baseline',
      pass: batched.paths <= perEvent.paths * 0.75,
    }),
    row('invalidation cost beyond the free 1000 paths', Math.round(cost(batched.paths) * 100) / 100, 'USD', {
      baseline: { name: baselineName, value: Math.round(cost(perEvent.paths) * 100) / 100 },
    }),
    row('largest CreateInvalidation', batched.largestCall, 'paths', { target: '≤ 3000 (CloudFront in-progress limit)', pass: batched.largestCall <= 3000 }),
  ];
}

function bySlot(keys: readonly string[]): string[][] {
  const groups = new Map<number, string[]>();
  for (const key of keys) {
    const slot = hashSlot(key);
    const group = groups.get(slot) ?? [];
    group.push(key);
    groups.set(slot, group);
  }
  return [...groups.values()];
}

async function seed(redis: Redis | Cluster, keys: readonly string[]): Promise<void> {
  if (redis instanceof Cluster) {
    await Promise.all(bySlot(keys).map((group) => redis.mset(...group.flatMap((k) => [k, 'v']))));
    return;
  }
  for (let i = 0; i < keys.length; i += 5000) await redis.mset(...keys.slice(i, i + 5000).flatMap((k) => [k, 'v']));
}

/** The baseline: what a hand-written purge does, pipelined `UNLINK`s in batches (per slot in a cluster, which UNLINK requires). */
async function rawUnlink(redis: Redis | Cluster, keys: readonly string[], batchSize = UNLINK_BATCH): Promise<number> {
  const groups: string[][] = [];
  if (redis instanceof Cluster) {
    for (const group of bySlot(keys)) for (let i = 0; i < group.length; i += batchSize) groups.push(group.slice(i, i + batchSize));
    const counts = await Promise.all(groups.map((group) => redis.unlink(...group)));
    return counts.reduce((a, b) => a + b, 0);
  }
  const pipeline = redis.pipeline();
  for (let i = 0; i < keys.length; i += batchSize) pipeline.unlink(...keys.slice(i, i + batchSize));
  return ((await pipeline.exec()) ?? []).reduce((sum, [, n]) => sum + Number(n), 0);
}

async function timed(run: () => Promise<number>, expected: number): Promise<number> {
  const started = process.hrtime.bigint();
  const removed = await run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (removed !== expected) throw new Error(`expected ${expected} keys removed, got ${removed}`);
  return expected / seconds;
}

async function redisRows(kind: 'standalone' | 'cluster'): Promise<BenchRow[]> {
  const server = kind === 'standalone' ? await RedisServer.start() : await RedisCluster.start();
  const redis = server instanceof RedisCluster ? new Cluster(server.startupNodes) : new Redis((server as RedisServer).url);
  try {
    await new Promise<void>((resolve) => (redis.status === 'ready' ? resolve() : redis.once('ready', () => resolve())));
    const cacheKeys = new CacheKeys({ namespace: 'bench', clusterMode: kind === 'cluster' });
    const keys = Array.from({ length: REDIS_KEYS }, (_, i) => cacheKeys.product(i));
    const exact: number[] = [];
    const pattern: number[] = [];
    const raw: number[] = [];
    const rawWithLocks: number[] = [];
    const options = { redis, cacheKeys, now: Date.now, deadline: Infinity, unlinkBatchSize: UNLINK_BATCH };
    const scans = [{ pattern: cacheKeys.resourcePattern('product'), cursors: {}, finished: [] }];
    const runs: [number[], () => Promise<number>][] = [
      [raw, () => rawUnlink(redis, keys)],
      // A hand-written purge that drops the locks too names them (inside the timing, as the purge core
      // does), each lock right before its key so that a batch of 2 × UNLINK_BATCH holds the same
      // entries as the purge's batch. The same keys existed (the locks do not): the rate is per entry.
      [rawWithLocks, () => rawUnlink(redis, keys.flatMap((key) => [cacheKeys.lock(key), key]), 2 * UNLINK_BATCH)],
      [exact, async () => (await purgeRedis({ keys, scans: [] }, options)).unlinked],
      [pattern, async () => (await purgeRedis({ keys: [], scans }, options)).unlinked],
    ];
    // A warm-up round, then the order rotates each round so that no variant always runs first.
    for (let round = -1; round < ROUNDS; round++) {
      for (let i = 0; i < runs.length; i++) {
        const [samples, run] = runs[(i + Math.max(round, 0)) % runs.length];
        await seed(redis, keys);
        const rate = await timed(run, REDIS_KEYS);
        if (round >= 0) samples.push(rate);
      }
    }
    const baseline = { name: `raw pipelined UNLINK, ${kind}`, value: Math.round(percentile(raw, 50)) };
    const baselineWithLocks = { name: `raw pipelined UNLINK of the keys and their locks, ${kind}`, value: Math.round(percentile(rawWithLocks, 50)) };
    return [
      row(`Redis purge of ${REDIS_KEYS} exact keys with their locks, ${kind}`, Math.round(percentile(exact, 50)), 'keys/s', {
        baseline: baselineWithLocks,
        target: '≥ 0.8× baseline',
        pass: percentile(exact, 50) >= 0.8 * baselineWithLocks.value,
      }),
      row(`Redis purge of ${REDIS_KEYS} exact keys with their locks vs the keys alone, ${kind}`, Math.round(percentile(exact, 50)), 'keys/s', { baseline }),
      row(`Redis purge of ${REDIS_KEYS} keys by pattern (SCAN every master), ${kind}`, Math.round(percentile(pattern, 50)), 'keys/s', {
        baseline,
        target: '≥ 0.25× baseline (SCAN must find the keys first)',
        pass: percentile(pattern, 50) >= 0.25 * baseline.value,
      }),
    ];
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

export default async function bench(): Promise<BenchResult> {
  const rows = [...(await cdnRows()), ...(await redisRows('standalone')), ...(await redisRows('cluster'))];
  return result(
    'invalidation',
    'CloudFront calls and billed paths for 10 000 events (counting fake client) vs one call per event; Redis purge keys/s vs raw pipelined UNLINK on real servers',
    rows,
  );
}
