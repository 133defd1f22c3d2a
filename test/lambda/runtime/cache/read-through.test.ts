import Redis, { Cluster } from 'ioredis';
import {
  CacheClient,
  CacheMetric,
  decodeEnvelope,
  encodeEnvelope,
  InMemoryCacheMetrics,
  ReadThroughCache,
  ReadThroughCacheDeps,
} from '../../../../lambda/runtime/cache';
import { CacheKeys } from '../../../../lambda/runtime/keys';
import { DEFAULT_TTL_SECONDS, TtlClass, TtlTable } from '../../../../lambda/runtime/ttl';
import { describeEachTopology } from '../../../support/topologies';
import { connectClient, countingLoader, freshKeys, inspector, pttlsOf } from './support';

interface Product {
  id: number;
  name: string;
}

const TTLS: TtlTable = { ...DEFAULT_TTL_SECONDS, [TtlClass.PRODUCT]: 60, [TtlClass.NOT_FOUND]: 30 };

describeEachTopology('ReadThroughCache', (handle) => {
  const clients: CacheClient[] = [];
  let redis: Redis | Cluster;

  let next = 0;

  beforeAll(async () => {
    redis = await inspector(handle.current());
    for (let i = 0; i < 4; i++) clients.push(await connectClient(handle.current()));
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit()));
    redis.disconnect();
  });

  /**
   * One simulated process: its own L1 and in-process coalescing, and a connection of its own (up to
   * four distinct connections, reused across tests to keep connection churn low).
   */
  async function processCache(keys: CacheKeys, deps: Partial<ReadThroughCacheDeps> = {}): Promise<ReadThroughCache> {
    const client = clients[next++ % clients.length];
    return new ReadThroughCache({ client, keys, ttls: TTLS, earlyRefreshBeta: 0, ...deps });
  }

  describe('layers', () => {
    test('a miss loads from the origin, then the same process answers from L1 and another process from Redis', async () => {
      const keys = freshKeys(handle.current());
      const key = keys.product(1);
      const origin = countingLoader<Product>(() => ({ value: { id: 1, name: 'kettle' }, version: 3 }));
      const metrics = new InMemoryCacheMetrics();
      const first = await processCache(keys, { metrics });

      const loaded = await first.get(key, TtlClass.PRODUCT, origin.load);
      const local = await first.get(key, TtlClass.PRODUCT, origin.load);
      const other = await (await processCache(keys)).get(key, TtlClass.PRODUCT, origin.load);

      expect(loaded).toMatchObject({ value: { id: 1, name: 'kettle' }, source: 'origin', version: 3 });
      expect(local).toMatchObject({ value: { id: 1, name: 'kettle' }, source: 'l1', version: 3 });
      expect(other).toMatchObject({ value: { id: 1, name: 'kettle' }, source: 'redis', version: 3 });
      expect(origin.calls()).toBe(1);
      expect(metrics.total(CacheMetric.L1_HIT)).toBe(1);
      expect(metrics.total(CacheMetric.L1_MISS)).toBe(1);
      expect(metrics.total(CacheMetric.REDIS_MISS)).toBe(1);
      expect(metrics.total(CacheMetric.ORIGIN_LOAD)).toBe(1);
      expect(metrics.durations(CacheMetric.ORIGIN_LOAD_LATENCY)).toHaveLength(1);
      expect(first.stats()).toMatchObject({ reads: 2, originLoads: 1, served: { origin: 1, l1: 1 }, hitRate: 0.5 });
    });

    test('without L1 every read after the first is a Redis hit', async () => {
      const keys = freshKeys(handle.current());
      const origin = countingLoader(() => ({ value: 'v' }));
      const cache = await processCache(keys, { l1: false });
      await cache.get(keys.resource('config', ['global']), TtlClass.CONFIG, origin.load);
      const again = await cache.get(keys.resource('config', ['global']), TtlClass.CONFIG, origin.load);
      expect(again).toMatchObject({ value: 'v', source: 'redis' });
      expect(cache.stats().redis).toEqual({ hits: 1, misses: 1 });
    });

    test('without a Redis client the cache still coalesces and keeps an L1', async () => {
      const keys = freshKeys(handle.current());
      const origin = countingLoader(() => ({ value: 7 }), 20);
      const cache = new ReadThroughCache({ keys, ttls: TTLS });
      const reads = await Promise.all(Array.from({ length: 20 }, () => cache.get(keys.product(9), TtlClass.PRODUCT, origin.load)));
      expect(reads.every((r) => r.value === 7)).toBe(true);
      expect((await cache.get(keys.product(9), TtlClass.PRODUCT, origin.load)).source).toBe('l1');
      expect(origin.calls()).toBe(1);
    });
  });

  describe('TTLs', () => {
    test('every key written gets a TTL of the soft TTL ± 10 % plus the stale window', async () => {
      const keys = freshKeys(handle.current());
      const low = await processCache(keys, { random: () => 0, staleTtlSeconds: 100 });
      const high = await processCache(keys, { random: () => 0.999, staleTtlSeconds: 100 });
      await low.get(keys.product(1), TtlClass.PRODUCT, async () => ({ value: 1 }));
      await high.get(keys.product(2), TtlClass.PRODUCT, async () => ({ value: 2 }));
      await low.get(keys.product(3), TtlClass.PRODUCT, async () => null);

      const ttls = await pttlsOf(redis, keys);
      expect([...ttls.keys()].sort()).toEqual([keys.product(1), keys.product(2), keys.product(3)].sort());
      for (const ttl of ttls.values()) expect(ttl).toBeGreaterThan(0);
      // soft 60 s: jitter spans 54..66 s; the stale window (100 s) is added for found values only.
      expect(ttls.get(keys.product(1))).toBeGreaterThan(153_000);
      expect(ttls.get(keys.product(1))).toBeLessThanOrEqual(154_000);
      expect(ttls.get(keys.product(2))).toBeGreaterThan(165_000);
      expect(ttls.get(keys.product(2))).toBeLessThanOrEqual(166_000);
      // not found: the NOT_FOUND class (30 s ± 10 %), no stale window.
      expect(ttls.get(keys.product(3))).toBeGreaterThan(26_000);
      expect(ttls.get(keys.product(3))).toBeLessThanOrEqual(27_000);
    });

    test('the coalescing lock has a TTL while the load runs and is gone after the fill', async () => {
      const keys = freshKeys(handle.current());
      const cache = await processCache(keys, { lock: { ttlMs: 4_000 } });
      let lockTtl = 0;
      await cache.get(keys.product(5), TtlClass.PRODUCT, async () => {
        lockTtl = await redis.pttl(keys.lock(keys.product(5)));
        return { value: 5 };
      });
      expect(lockTtl).toBeGreaterThan(3_000);
      expect(lockTtl).toBeLessThanOrEqual(4_000);
      expect(await redis.exists(keys.lock(keys.product(5)))).toBe(0);
    });
  });

  describe('negative caching and malformed entries', () => {
    test('not found is cached: the origin is asked once and readers get null', async () => {
      const keys = freshKeys(handle.current());
      const origin = countingLoader<Product>(() => null);
      const a = await processCache(keys);
      const b = await processCache(keys);
      expect(await a.get(keys.product(404), TtlClass.PRODUCT, origin.load)).toMatchObject({ value: null, source: 'origin' });
      expect(await a.get(keys.product(404), TtlClass.PRODUCT, origin.load)).toMatchObject({ value: null, source: 'l1' });
      expect(await b.get(keys.product(404), TtlClass.PRODUCT, origin.load)).toMatchObject({ value: null, source: 'redis' });
      expect(origin.calls()).toBe(1);
    });

    test.each([
      ['not JSON', 'definitely not json'],
      ['JSON of another shape', '{"name":"legacy"}'],
      ['another envelope format', JSON.stringify({ f: 99, v: 'x', s: 1, x: 9e15 })],
      ['a truncated envelope', '{"f":1,"s":1,"x":'],
      ['a number', '12345'],
    ])('an entry that is %s is a miss, then replaced by a good one', async (_what, corrupt) => {
      const keys = freshKeys(handle.current());
      const key = keys.product(77);
      await redis.set(key, corrupt, 'PX', 60_000);
      const origin = countingLoader(() => ({ value: 'fresh' }));
      const cache = await processCache(keys, { l1: false });
      expect(await cache.get(key, TtlClass.PRODUCT, origin.load)).toMatchObject({ value: 'fresh', source: 'origin' });
      expect(await cache.get(key, TtlClass.PRODUCT, origin.load)).toMatchObject({ value: 'fresh', source: 'redis' });
      expect(origin.calls()).toBe(1);
    });
  });

  describe('request coalescing', () => {
    test('200 concurrent reads of a cold key in one process cause one origin load', async () => {
      const keys = freshKeys(handle.current());
      const origin = countingLoader(() => ({ value: { id: 42 } }), 50);
      const cache = await processCache(keys);
      const reads = await Promise.all(Array.from({ length: 200 }, () => cache.get(keys.product(42), TtlClass.PRODUCT, origin.load)));
      expect(origin.calls()).toBe(1);
      expect(reads.every((r) => (r.value as { id: number }).id === 42)).toBe(true);
      expect(cache.stats().coalesced).toBe(199);
    });

    test('concurrent misses in several processes cause one origin load; the others read its fill', async () => {
      const keys = freshKeys(handle.current());
      const origin = countingLoader(() => ({ value: 'shared' }), 80);
      const processes = await Promise.all(Array.from({ length: 4 }, () => processCache(keys)));
      const reads = await Promise.all(
        processes.flatMap((cache) => Array.from({ length: 50 }, () => cache.get(keys.product(8), TtlClass.PRODUCT, origin.load))),
      );
      expect(origin.calls()).toBe(1);
      expect(reads.every((r) => r.value === 'shared')).toBe(true);
      expect(reads.filter((r) => r.source === 'origin')).toHaveLength(50);
      expect(reads.filter((r) => r.source === 'redis')).toHaveLength(150);
    });

    test('a lock holder that died (never releases) delays readers by the bounded wait only; they then load themselves', async () => {
      const keys = freshKeys(handle.current());
      const key = keys.product(13);
      await redis.set(keys.lock(key), 'a-process-that-crashed', 'PX', 60_000);
      const origin = countingLoader(() => ({ value: 'recovered' }));
      const processes = await Promise.all(Array.from({ length: 3 }, () => processCache(keys, { lock: { waitMs: 300, pollMs: 20 } })));

      const started = Date.now();
      const reads = await Promise.all(processes.map((cache) => cache.get(key, TtlClass.PRODUCT, origin.load)));
      const elapsed = Date.now() - started;

      expect(reads.map((r) => r.value)).toEqual(['recovered', 'recovered', 'recovered']);
      // Each gave up after waitMs and loaded, unless another one's fill appeared while it polled.
      expect(origin.calls()).toBeGreaterThanOrEqual(1);
      expect(origin.calls()).toBeLessThanOrEqual(3);
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(1_500);
      // The first of them filled the empty slot; later reads are hits.
      expect(decodeEnvelope(await redis.get(key))?.v).toBe('recovered');
      expect((await (await processCache(keys)).get(key, TtlClass.PRODUCT, origin.load)).source).toBe('redis');
    });

    test('when a lock holder is lost and its lock expires, exactly one waiter takes over the load', async () => {
      const keys = freshKeys(handle.current());
      const key = keys.product(14);
      await redis.set(keys.lock(key), 'a-process-that-crashed', 'PX', 150);
      const origin = countingLoader(() => ({ value: 'taken over' }), 30);
      const processes = await Promise.all(Array.from({ length: 3 }, () => processCache(keys, { lock: { waitMs: 3_000, pollMs: 20 } })));
      const reads = await Promise.all(processes.map((cache) => cache.get(key, TtlClass.PRODUCT, origin.load)));
      expect(reads.map((r) => r.value)).toEqual(['taken over', 'taken over', 'taken over']);
      expect(origin.calls()).toBe(1);
    });
  });

  describe('stale-while-revalidate', () => {
    test('past the soft TTL the stale value is served at once and refreshed once in the background', async () => {
      const keys = freshKeys(handle.current());
      const key = keys.product(21);
      let now = 1_700_000_000_000;
      const origin = countingLoader((call) => ({ value: `v${call}`, version: call }), 30);
      const cache = await processCache(keys, { clock: () => now, random: () => 0.5 });

      expect(await cache.get(key, TtlClass.PRODUCT, origin.load, { staleWhileRevalidate: true })).toMatchObject({ value: 'v1', source: 'origin' });
      now += 70_000;
      const stale = await Promise.all(
        Array.from({ length: 30 }, () => cache.get(key, TtlClass.PRODUCT, origin.load, { staleWhileRevalidate: true })),
      );
      expect(stale.every((r) => r.value === 'v1' && r.source === 'stale')).toBe(true);
      await cache.drain();
      expect(origin.calls()).toBe(2);
      expect(await cache.get(key, TtlClass.PRODUCT, origin.load, { staleWhileRevalidate: true })).toMatchObject({ value: 'v2', version: 2 });
      expect(cache.stats().backgroundRefreshes).toBe(1);
    });

    test('two processes seeing the same stale entry refresh it once between them', async () => {
      const keys = freshKeys(handle.current());
      const key = keys.product(22);
      let now = 1_700_000_000_000;
      const origin = countingLoader((call) => ({ value: `v${call}` }), 60);
      const a = await processCache(keys, { clock: () => now });
      const b = await processCache(keys, { clock: () => now });
      await a.get(key, TtlClass.PRODUCT, origin.load, { staleWhileRevalidate: true });
      now += 120_000;
      const reads = await Promise.all([a, b].map((c) => c.get(key, TtlClass.PRODUCT, origin.load, { staleWhileRevalidate: true })));
      expect(reads.map((r) => r.source)).toEqual(['stale', 'stale']);
      await Promise.all([a.drain(), b.drain()]);
      expect(origin.calls()).toBe(2);
    });

    test('without SWR a value past its soft TTL is reloaded before answering', async () => {
      const keys = freshKeys(handle.current());
      let now = 1_700_000_000_000;
      const origin = countingLoader((call) => ({ value: `v${call}` }));
      const cache = await processCache(keys, { clock: () => now });
      await cache.get(keys.product(23), TtlClass.PRODUCT, origin.load);
      now += 70_000;
      expect(await cache.get(keys.product(23), TtlClass.PRODUCT, origin.load)).toMatchObject({ value: 'v2', source: 'origin' });
    });

    test('when the origin fails and a stale value exists, the stale value is served (stale-if-error)', async () => {
      const keys = freshKeys(handle.current());
      let now = 1_700_000_000_000;
      let originUp = true;
      const cache = await processCache(keys, { clock: () => now });
      const load = async () => {
        if (!originUp) throw new Error('connection refused');
        return { value: 'last good' };
      };
      await cache.get(keys.product(24), TtlClass.PRODUCT, load);
      now += 70_000;
      originUp = false;
      expect(await cache.get(keys.product(24), TtlClass.PRODUCT, load)).toMatchObject({ value: 'last good', source: 'stale' });
      expect(await redis.exists(keys.lock(keys.product(24)))).toBe(0);
    });

    test('when the origin fails and nothing is cached, the origin error propagates', async () => {
      const keys = freshKeys(handle.current());
      const cache = await processCache(keys);
      await expect(
        cache.get(keys.product(25), TtlClass.PRODUCT, async () => {
          throw new Error('connection refused');
        }),
      ).rejects.toThrow('connection refused');
      expect(cache.stats().originErrors).toBe(1);
      expect(await redis.exists(keys.lock(keys.product(25)))).toBe(0);
    });

    test('a background refresh that fails keeps the stale value and does not throw', async () => {
      const keys = freshKeys(handle.current());
      let now = 1_700_000_000_000;
      let fail = false;
      const cache = await processCache(keys, { clock: () => now });
      const load = async () => {
        if (fail) throw new Error('origin down');
        return { value: 'kept' };
      };
      await cache.get(keys.product(26), TtlClass.PRODUCT, load, { staleWhileRevalidate: true });
      now += 70_000;
      fail = true;
      expect(await cache.get(keys.product(26), TtlClass.PRODUCT, load, { staleWhileRevalidate: true })).toMatchObject({ value: 'kept', source: 'stale' });
      await cache.drain();
      expect(await cache.get(keys.product(26), TtlClass.PRODUCT, load, { staleWhileRevalidate: true })).toMatchObject({ value: 'kept', source: 'stale' });
    });
  });

  describe('XFetch early refresh', () => {
    async function primed(beta: number, random: number) {
      const keys = freshKeys(handle.current());
      const key = keys.product(31);
      let now = 1_700_000_000_000;
      const origin = {
        calls: 0,
        load: async () => {
          origin.calls += 1;
          now += 1_000; // the origin takes 1 s, as the clock sees it
          return { value: `v${origin.calls}` };
        },
      };
      const cache = await processCache(keys, { clock: () => now, random: () => random, earlyRefreshBeta: beta, l1: false });
      await cache.get(key, TtlClass.PRODUCT, origin.load);
      const entry = decodeEnvelope(await redis.get(key))!;
      expect(entry.d).toBe(1_000);
      now = entry.x - 500;
      return { cache, key, origin };
    }

    test('with β = 1 and a draw of 0.5, a fresh entry 0.5 s before expiry is refreshed early (−1 s·ln 0.5 ≈ 0.69 s ≥ 0.5 s)', async () => {
      const { cache, key, origin } = await primed(1, 0.5);
      expect(await cache.get(key, TtlClass.PRODUCT, origin.load)).toMatchObject({ value: 'v1', source: 'redis' });
      await cache.drain();
      expect(origin.calls).toBe(2);
      expect(decodeEnvelope(await redis.get(key))?.v).toBe('v2');
    });

    test('with a draw of 0.9 the same entry is not refreshed yet (−1 s·ln 0.9 ≈ 0.1 s < 0.5 s)', async () => {
      const { cache, key, origin } = await primed(1, 0.9);
      await cache.get(key, TtlClass.PRODUCT, origin.load);
      await cache.drain();
      expect(origin.calls).toBe(1);
    });

    test('β = 0 turns early refresh off', async () => {
      const { cache, key, origin } = await primed(0, 0.000001);
      await cache.get(key, TtlClass.PRODUCT, origin.load);
      await cache.drain();
      expect(origin.calls).toBe(1);
    });
  });

  describe('writes, invalidation and tombstones', () => {
    test('a fill that started before a write is refused by the tombstone of the newer version', async () => {
      const keys = freshKeys(handle.current());
      const key = keys.product(41);
      const reader = await processCache(keys);
      const writer = await processCache(keys);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let dbVersion = 1;
      const load = async () => {
        const snapshot = { value: `row v${dbVersion}`, version: dbVersion };
        await gate;
        return snapshot;
      };

      const slowRead = reader.get(key, TtlClass.PRODUCT, load);
      await new Promise((r) => setTimeout(r, 50));
      dbVersion = 2;
      expect(await writer.tombstone(key, 2)).toBe(true);
      release();

      expect(await slowRead).toMatchObject({ value: 'row v1', version: 1, source: 'origin' });
      const stored = decodeEnvelope(await redis.get(key));
      expect(stored).toMatchObject({ t: 1, ver: 2 });
      const after = await (await processCache(keys)).get(key, TtlClass.PRODUCT, load);
      expect(after).toMatchObject({ value: 'row v2', version: 2, source: 'origin' });
      expect(decodeEnvelope(await redis.get(key))).toMatchObject({ v: 'row v2', ver: 2 });
      // The reader did not keep the old row in its L1.
      expect((await reader.get(key, TtlClass.PRODUCT, load)).value).toBe('row v2');
    });

    test('an unversioned fill never replaces a tombstone', async () => {
      const keys = freshKeys(handle.current());
      const key = keys.product(42);
      const cache = await processCache(keys, { l1: false });
      await cache.tombstone(key, 5);
      expect(await cache.get(key, TtlClass.PRODUCT, async () => ({ value: 'unversioned' }))).toMatchObject({ value: 'unversioned', source: 'origin' });
      expect(decodeEnvelope(await redis.get(key))).toMatchObject({ t: 1, ver: 5 });
    });

    test('put stores a newer version, refuses an older one, and a tombstone does not replace a newer value', async () => {
      const keys = freshKeys(handle.current());
      const key = keys.product(43);
      const cache = await processCache(keys);
      expect(await cache.put(key, TtlClass.PRODUCT, 'v5', { version: 5 })).toBe(true);
      expect(await cache.put(key, TtlClass.PRODUCT, 'v4', { version: 4 })).toBe(false);
      expect(await cache.tombstone(key, 3)).toBe(false);
      expect(decodeEnvelope(await redis.get(key))).toMatchObject({ v: 'v5', ver: 5 });
      expect(await cache.get(key, TtlClass.PRODUCT, async () => ({ value: 'never loaded' }))).toMatchObject({ value: 'v5', source: 'redis' });
      expect(await redis.pttl(key)).toBeGreaterThan(0);
    });

    test('the tombstone TTL must cover the lock TTL', async () => {
      const keys = freshKeys(handle.current());
      const cache = await processCache(keys, { lock: { ttlMs: 3_000 } });
      await expect(cache.tombstone(keys.product(1), 2, 1_000)).rejects.toThrow('tombstone ttlMs must be at least lock.ttlMs (3000)');
    });

    test('invalidate removes the entry from Redis and L1, and refuses a fill already in flight', async () => {
      const keys = freshKeys(handle.current());
      const key = keys.product(44);
      const a = await processCache(keys);
      const b = await processCache(keys);
      let value = 'old';
      await a.get(key, TtlClass.PRODUCT, async () => ({ value }));
      expect((await a.get(key, TtlClass.PRODUCT, async () => ({ value }))).source).toBe('l1');

      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      await a.invalidate(key);
      const inFlight = b.get(key, TtlClass.PRODUCT, async () => {
        const snapshot = value;
        await gate;
        return { value: snapshot };
      });
      await new Promise((r) => setTimeout(r, 50));
      value = 'new';
      await a.invalidate(key);
      release();
      expect((await inFlight).value).toBe('old');

      expect(await redis.exists(key)).toBe(0);
      expect(await a.get(key, TtlClass.PRODUCT, async () => ({ value }))).toMatchObject({ value: 'new', source: 'origin' });
    });

    test('invalidate deletes many keys in one call (spread over every slot in cluster mode)', async () => {
      const keys = freshKeys(handle.current());
      const cache = await processCache(keys);
      const ids = Array.from({ length: 20 }, (_, i) => i);
      for (const id of ids) await cache.get(keys.product(id), TtlClass.PRODUCT, async () => ({ value: id }));
      expect((await pttlsOf(redis, keys)).size).toBe(20);
      await cache.invalidate(...ids.map((id) => keys.product(id)));
      expect((await pttlsOf(redis, keys)).size).toBe(0);
    });
  });

  describe('configuration', () => {
    test('keys built for the other topology are rejected', async () => {
      const topology = handle.current();
      const client = clients[0];
      const isCluster = topology.kind === 'cluster';
      const wrong = new CacheKeys({ namespace: 'wrong', clusterMode: !isCluster });
      expect(() => new ReadThroughCache({ client, keys: wrong, ttls: TTLS })).toThrow(
        `keys.clusterMode must match the cache client (a ${isCluster ? 'cluster' : 'standalone'} client), got ${!isCluster}`,
      );
    });

    test('in cluster mode a key without a hash tag is rejected before touching Redis', async () => {
      const clusterKeys = new CacheKeys({ namespace: 'untagged', clusterMode: true });
      const cache = new ReadThroughCache({ keys: clusterKeys, ttls: TTLS });
      const origin = countingLoader(() => ({ value: 1 }));
      await expect(cache.get('untagged:v1:product:1', TtlClass.PRODUCT, origin.load)).rejects.toThrow(
        'cache key "untagged:v1:product:1" has no hash tag; in cluster mode build keys with CacheKeys({ clusterMode: true })',
      );
      expect(origin.calls()).toBe(0);
      expect((await cache.get(clusterKeys.product(1), TtlClass.PRODUCT, origin.load)).value).toBe(1);
    });

    test('an L1 TTL above 60 s is rejected', () => {
      const keys = freshKeys(handle.current());
      expect(() => new ReadThroughCache({ keys, ttls: TTLS, l1: { maxBytes: 1024, ttlSeconds: 61 } })).toThrow(
        'l1.ttlSeconds must be greater than 0 and at most 60, got 61',
      );
    });

    test('a value the envelope cannot encode is returned but not cached', async () => {
      const keys = freshKeys(handle.current());
      const cache = await processCache(keys);
      const read = await cache.get(keys.product(50), TtlClass.PRODUCT, async () => ({ value: { big: BigInt(1) } }));
      expect(read.source).toBe('origin');
      expect(await redis.exists(keys.product(50))).toBe(0);
      expect(await redis.exists(keys.lock(keys.product(50)))).toBe(0);
    });

    test('an envelope written by hand is read like one the cache wrote', async () => {
      const keys = freshKeys(handle.current());
      const now = Date.now();
      await redis.set(keys.resource('config', ['global']), encodeEnvelope({ v: { flag: true }, s: now, x: now + 60_000, ver: 9 }), 'PX', 60_000);
      const cache = await processCache(keys);
      expect(await cache.get(keys.resource('config', ['global']), TtlClass.CONFIG, async () => null)).toEqual({
        value: { flag: true },
        source: 'redis',
        storedAtMs: now,
        version: 9,
      });
    });
  });
});
