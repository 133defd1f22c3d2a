/**
 * The cache is never a single point of failure: with Redis killed, paused (SIGSTOP) or restarted,
 * or one cluster master gone, reads are answered by the origin within the command timeout plus the
 * origin's own time, nothing throws, and hits come back once Redis does.
 */
import { Cluster } from 'ioredis';
import { CacheClient, hashSlot, Loader, ReadThroughCache } from '../../../../lambda/runtime/cache';
import { CacheKeys } from '../../../../lambda/runtime/keys';
import { DEFAULT_TTL_SECONDS, TtlClass } from '../../../../lambda/runtime/ttl';
import { RedisCluster, RedisServer } from '../../../support/servers';
import { describeEachTopology, Topology } from '../../../support/topologies';
import { connectClient, countingLoader, freshKeys, SCHEDULER_SLACK_MS, untilAccepted } from './support';

const COMMAND_TIMEOUT_MS = 50;
const ORIGIN_MS = 20;
const READ_BOUND_MS = COMMAND_TIMEOUT_MS + ORIGIN_MS + SCHEDULER_SLACK_MS;

/** The server holding `key`: the standalone server, or the master of the key's slot. */
function serverOf(topology: Topology, key: string): RedisServer {
  return topology.kind === 'standalone' ? topology.server : topology.cluster.masterFor(key);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await work();
  return { result, ms: performance.now() - started };
}

/** Reads until `key` is served by Redis again (the circuit probes every `coolDownMs`), or gives up. */
async function untilServedFromRedis(cache: ReadThroughCache, key: string, load: Loader<string>, timeoutMs = 20_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if ((await cache.get(key, TtlClass.PRODUCT, load)).source === 'redis') return Date.now() - started;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${key} was not served from Redis within ${timeoutMs} ms`);
}

describeEachTopology('cache faults', (handle) => {
  let client: CacheClient;
  let keys: CacheKeys;
  let cache: ReadThroughCache;
  const origin = countingLoader((call) => ({ value: `from origin #${call}` }), ORIGIN_MS);

  beforeEach(async () => {
    const topology = handle.current();
    if (topology.kind === 'cluster') await topology.cluster.waitUntilHealthy();
    client = await connectClient(topology, {
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      connectTimeoutMs: 100,
      circuitBreaker: { failureThreshold: 5, coolDownMs: 200 },
    });
    keys = freshKeys(topology);
    cache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, l1: false, earlyRefreshBeta: 0 });
  });

  afterEach(async () => {
    await client.quit();
  });

  test('Redis killed: every read is answered by the origin within the bound, then hits recover after a restart', async () => {
    const topology = handle.current();
    const key = keys.product(1);
    const victim = serverOf(topology, key);
    await victim.kill();

    const loadsBefore = origin.calls();
    const reads = [];
    for (let i = 0; i < 20; i++) reads.push(await timed(() => cache.get(key, TtlClass.PRODUCT, origin.load)));
    expect(reads.every(({ result }) => result.source === 'origin' && String(result.value).startsWith('from origin'))).toBe(true);
    expect(origin.calls() - loadsBefore).toBe(20);
    expect(Math.max(...reads.map((r) => r.ms))).toBeLessThan(READ_BOUND_MS);
    expect(cache.stats().cacheErrors).toBeGreaterThanOrEqual(20);

    await victim.restart();
    if (topology.kind === 'cluster') await topology.cluster.waitUntilHealthy();
    await untilServedFromRedis(cache, key, origin.load);
  });

  test('Redis paused (SIGSTOP): each read returns within command timeout + origin time; after SIGCONT hits recover', async () => {
    const topology = handle.current();
    const key = keys.product(2);
    // Precondition (retried: a 50 ms timeout may fire on a busy machine): the key is cached.
    await untilAccepted('the key is served from Redis', () => cache.get(key, TtlClass.PRODUCT, origin.load), (read) => read.source === 'redis');
    const victim = serverOf(topology, key);
    const originOnly = new ReadThroughCache({ keys, ttls: DEFAULT_TTL_SECONDS, l1: false, earlyRefreshBeta: 0 });
    victim.pause();
    try {
      const reads = [];
      const baseline = [];
      // Interleaved with reads that never ask Redis, so that a busy machine slows both alike.
      for (let i = 0; i < 20; i++) {
        reads.push(await timed(() => cache.get(key, TtlClass.PRODUCT, origin.load)));
        baseline.push((await timed(() => originOnly.get(keys.product(1000 + i), TtlClass.PRODUCT, origin.load))).ms);
      }
      expect(reads.every(({ result }) => result.source === 'origin')).toBe(true);
      const slowest = Math.max(...reads.map((r) => r.ms));
      expect(slowest).toBeLessThan(READ_BOUND_MS);
      // Once the circuit is open the cache costs nothing: later reads take about the origin time,
      // where each one would pay the command timeout again if it were still asking Redis.
      expect(median(reads.slice(5).map((r) => r.ms))).toBeLessThan(median(baseline.slice(5)) + COMMAND_TIMEOUT_MS);
    } finally {
      victim.resume();
    }
    await untilServedFromRedis(cache, key, origin.load);
  });

  test('concurrent reads during an outage still coalesce in-process: one origin load per key', async () => {
    const topology = handle.current();
    const key = keys.product(3);
    const victim = serverOf(topology, key);
    victim.pause();
    try {
      const loadsBefore = origin.calls();
      const reads = await Promise.all(Array.from({ length: 100 }, () => cache.get(key, TtlClass.PRODUCT, origin.load)));
      expect(reads.every((r) => r.source === 'origin')).toBe(true);
      expect(origin.calls() - loadsBefore).toBe(1);
    } finally {
      victim.resume();
    }
  });
});

describe('cache faults in cluster mode', () => {
  let cluster: RedisCluster;
  let client: CacheClient;
  const origin = countingLoader((call) => ({ value: `from origin #${call}` }), ORIGIN_MS);

  beforeAll(async () => {
    cluster = await RedisCluster.start();
    client = await connectClient({ kind: 'cluster', cluster, startupNodes: cluster.startupNodes }, {
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      connectTimeoutMs: 100,
      circuitBreaker: { failureThreshold: 5, coolDownMs: 200 },
    });
  });

  afterAll(async () => {
    await client.quit();
    await cluster.stop();
  });

  test('a key whose master is killed falls back to the origin; keys of the other masters are still served from Redis', async () => {
    const keys = new CacheKeys({ namespace: 'shard-down', clusterMode: true });
    const cache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, l1: false, earlyRefreshBeta: 0 });
    const ids = Array.from({ length: 30 }, (_, i) => 100 + i);
    for (const id of ids) await cache.get(keys.product(id), TtlClass.PRODUCT, origin.load);
    const victim = cluster.masterFor(keys.product(ids[0]));
    // The client's slot map says which master holds each key (masterFor() shells out to redis-cli).
    const slots = (client.redis as Cluster).slots;
    const onVictim = ids.filter((id) => slots[hashSlot(keys.product(id))][0] === `${victim.host}:${victim.port}`);
    const elsewhere = ids.filter((id) => !onVictim.includes(id));
    await victim.kill();
    try {
      for (let round = 0; round < 3; round++) {
        for (const id of onVictim) {
          const { result, ms } = await timed(() => cache.get(keys.product(id), TtlClass.PRODUCT, origin.load));
          expect(result.source).toBe('origin');
          expect(ms).toBeLessThan(READ_BOUND_MS);
        }
      }
      const others = await Promise.all(elsewhere.map((id) => cache.get(keys.product(id), TtlClass.PRODUCT, origin.load)));
      expect(others.map((r) => r.source)).toEqual(elsewhere.map(() => 'redis'));
    } finally {
      await victim.restart();
      await cluster.waitUntilHealthy();
    }
    await untilServedFromRedis(cache, keys.product(onVictim[0]), origin.load);
  });
});
