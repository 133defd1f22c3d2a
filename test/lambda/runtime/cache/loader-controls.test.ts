/**
 * Loader controls of ReadThroughCache against a real slow PostgreSQL (`pg_sleep`) and a real failing
 * one (the server killed): soft timeout, hard timeout, grace backoff, and a loader that sets its
 * value's TTL or keeps it out of the cache. Real Redis in both topologies. Soft expiry is moved by an
 * injected clock; timeouts are real timers, with bounds far from the origin's delay.
 */
import Redis, { Cluster } from 'ioredis';
import { Pool } from 'pg';
import { DEFAULT_TTL_SECONDS, decodeEnvelope, OriginUnavailableError, ReadThroughCache, type CacheClient, type CacheKeys } from 'cache-pyramid/runtime';
import { PostgresServer } from '../../../support/servers';
import { describeEachTopology } from '../../../support/topologies';
import { connectClient, freshKeys, inspector } from './support';

/** The origin is this slow in the slow tests; every bound below is far under it. */
const SLOW_SECONDS = 6;
/** A read that did not wait for the slow origin returns well within this. */
const WELL_BEFORE_THE_ORIGIN_MS = 4_000;
const TTL = 60;
/** A late fill is accepted only while its load still holds the coalescing lock: longer than the slow origin. */
const LOCK = { ttlMs: 20_000 };

describeEachTopology('loader controls', (topology) => {
  let server: PostgresServer;
  let pool: Pool;
  let client: CacheClient;
  let redis: Redis | Cluster;

  beforeAll(async () => {
    server = await PostgresServer.start();
    pool = new Pool({ connectionString: server.url, max: 4, connectionTimeoutMillis: 2_000 });
    client = await connectClient(topology.current());
    redis = await inspector(topology.current());
  });

  afterAll(async () => {
    await client?.quit();
    redis?.disconnect();
    await pool?.end().catch(() => undefined);
    await server?.stop();
  });

  /** Reads `value` from PostgreSQL after `seconds` of `pg_sleep`, counting the calls. */
  function origin(db: Pool = pool) {
    let calls = 0;
    return {
      calls: () => calls,
      load: (value: string, seconds = 0) => async () => {
        calls += 1;
        const { rows } = await db.query<{ v: string }>('select pg_sleep($1), $2::text as v', [seconds, value]);
        return { value: rows[0].v };
      },
    };
  }

  /** A cache with its own clock and keys, and a key holding `v1` that has gone stale (past its soft TTL). */
  async function withStaleValue(): Promise<{ cache: ReadThroughCache; keys: CacheKeys; key: string; advance: (ms: number) => void }> {
    let now = Date.now();
    const keys = freshKeys(topology.current());
    const cache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, clock: () => now, l1: false, earlyRefreshBeta: 0, lock: LOCK });
    const key = keys.resource('row', ['1']);
    await cache.get(key, TTL, origin().load('v1'));
    now += TTL * 1.1 * 1000 + 1_000;
    return { cache, keys, key, advance: (ms) => (now += ms) };
  }

  async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
    const started = performance.now();
    const value = await work();
    return { value, ms: performance.now() - started };
  }

  describe('soft timeout', () => {
    test('a slow origin with a stale value: the stale value is answered, and the load fills the cache when it returns', async () => {
      const { cache, key } = await withStaleValue();
      const slow = origin();
      const { value: read, ms } = await timed(() => cache.get(key, TTL, slow.load('v2', SLOW_SECONDS), { softTimeoutMs: 200 }));
      expect(read).toMatchObject({ value: 'v1', source: 'stale' });
      expect(ms).toBeLessThan(WELL_BEFORE_THE_ORIGIN_MS);
      await cache.drain();
      expect(slow.calls()).toBe(1);
      expect(await cache.get(key, TTL, origin().load('never'))).toMatchObject({ value: 'v2', source: 'redis' });
    });

    test('without a stale value, the soft timeout does not apply: the read waits for the origin', async () => {
      const keys = freshKeys(topology.current());
      const cache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, l1: false });
      const read = await cache.get(keys.resource('row', ['2']), TTL, origin().load('v1', 1), { softTimeoutMs: 100 });
      expect(read).toMatchObject({ value: 'v1', source: 'origin' });
    });

    test('an origin faster than the soft timeout is answered as usual', async () => {
      const { cache, key } = await withStaleValue();
      expect(await cache.get(key, TTL, origin().load('v2'), { softTimeoutMs: 10_000 })).toMatchObject({ value: 'v2', source: 'origin' });
    });
  });

  describe('hard timeout', () => {
    test('without a stale value: OriginUnavailableError (503) well before the origin answers; its late answer still fills the cache', async () => {
      const keys = freshKeys(topology.current());
      const cache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, l1: false, lock: LOCK });
      const key = keys.resource('row', ['3']);
      const started = performance.now();
      await expect(cache.get(key, TTL, origin().load('late', SLOW_SECONDS), { hardTimeoutMs: 300 })).rejects.toBeInstanceOf(OriginUnavailableError);
      expect(performance.now() - started).toBeLessThan(WELL_BEFORE_THE_ORIGIN_MS);
      await cache.drain();
      expect(decodeEnvelope(await redis.get(key))?.v).toBe('late');
    });

    test('with a stale value: the stale value, even past the soft timeout', async () => {
      const { cache, key } = await withStaleValue();
      const { value: read, ms } = await timed(() => cache.get(key, TTL, origin().load('v2', SLOW_SECONDS), { hardTimeoutMs: 300 }));
      expect(read).toMatchObject({ value: 'v1', source: 'stale' });
      expect(ms).toBeLessThan(WELL_BEFORE_THE_ORIGIN_MS);
      await cache.drain();
    });

    test('option values are checked by name', async () => {
      const keys = freshKeys(topology.current());
      const cache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, l1: false });
      await expect(cache.get(keys.resource('row', ['4']), TTL, origin().load('x'), { hardTimeoutMs: 0 })).rejects.toThrow(/hardTimeoutMs must be a positive number of milliseconds, got 0/);
      await expect(cache.get(keys.resource('row', ['4']), TTL, origin().load('x'), { graceBackoffMs: -1 })).rejects.toThrow(/graceBackoffMs must be/);
    });
  });

  describe('grace backoff, with PostgreSQL killed', () => {
    let failing: PostgresServer;
    let failingPool: Pool;

    beforeAll(async () => {
      failing = await PostgresServer.start();
      failingPool = new Pool({ connectionString: failing.url, max: 2, connectionTimeoutMillis: 2_000 });
    });

    afterAll(async () => {
      await failingPool?.end().catch(() => undefined);
      await failing?.stop();
    });

    test('after a failed load, the origin is not called again during the backoff while a stale value is served; after it, it is', async () => {
      const { cache, key, advance } = await withStaleValue();
      const dead = origin(failingPool);
      const loader = dead.load('v2');
      await failing.kill();
      expect(await cache.get(key, TTL, loader, { graceBackoffMs: 30_000 })).toMatchObject({ value: 'v1', source: 'stale' });
      expect(dead.calls()).toBe(1);
      for (let i = 0; i < 5; i++) expect(await cache.get(key, TTL, loader, { graceBackoffMs: 30_000 })).toMatchObject({ value: 'v1', source: 'stale' });
      expect(dead.calls()).toBe(1);
      advance(31_000);
      expect(await cache.get(key, TTL, loader, { graceBackoffMs: 30_000 })).toMatchObject({ value: 'v1', source: 'stale' });
      expect(dead.calls()).toBe(2);
    });

    test('naive: without the backoff, every read calls the dead origin again', async () => {
      const { cache, key } = await withStaleValue();
      const dead = origin(failingPool);
      const loader = dead.load('v2');
      for (let i = 0; i < 3; i++) expect(await cache.get(key, TTL, loader)).toMatchObject({ value: 'v1', source: 'stale' });
      expect(dead.calls()).toBe(3);
    });

    test('without a stale value the origin is still called, and its error surfaces', async () => {
      const keys = freshKeys(topology.current());
      const cache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, l1: false });
      const dead = origin(failingPool);
      const key = keys.resource('row', ['5']);
      await expect(cache.get(key, TTL, dead.load('x'), { graceBackoffMs: 30_000 })).rejects.toThrow();
      await expect(cache.get(key, TTL, dead.load('x'), { graceBackoffMs: 30_000 })).rejects.toThrow();
      expect(dead.calls()).toBe(2);
    });
  });

  describe('a loader that decides', () => {
    test("a per-value TTL sets the entry's life and is reported with the read", async () => {
      const keys = freshKeys(topology.current());
      const cache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, l1: false });
      const key = keys.resource('row', ['6']);
      const read = await cache.get(key, TTL, async () => ({ value: 'short', ttlSeconds: 5 }));
      expect(read).toMatchObject({ value: 'short', ttlSeconds: 5 });
      const pttl = await redis.pttl(key);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual((5 * 1.1 + cache.staleTtlSeconds) * 1000);
      expect(await cache.get(key, TTL, async () => ({ value: 'never' }))).toMatchObject({ value: 'short', source: 'redis', ttlSeconds: 5 });
    });

    test('cache: false answers the value and keeps it out of Redis and L1', async () => {
      const keys = freshKeys(topology.current());
      const cache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS });
      const key = keys.resource('row', ['7']);
      const count = origin();
      const load = async () => ({ ...(await count.load('volatile')()), cache: false });
      expect(await cache.get(key, TTL, load)).toMatchObject({ value: 'volatile', source: 'origin' });
      expect(await cache.get(key, TTL, load)).toMatchObject({ value: 'volatile', source: 'origin' });
      expect(count.calls()).toBe(2);
      expect(await redis.exists(key)).toBe(0);
      expect(await redis.exists(keys.lock(key))).toBe(0);
    });
  });
});
