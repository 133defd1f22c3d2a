/**
 * The Redis purge of exact keys against a read that began before the write and fills after the
 * purge. Two ways the old code let the replaced value back in for the whole TTL, each run with the
 * naive variant (failing) and with the fix:
 * - the write's tombstone could not reach Redis, so the purge is the first thing that does: it must
 *   drop the coalescing lock (`purgeEntries`), or the reader holding it fills its older value into
 *   the emptied slot (naive: `UNLINK` of the key alone);
 * - the write's tombstone is there, the reader gave up waiting for the lock, and the purge removes
 *   the tombstone: the reader's fill must be refused because the lock it gave up on is gone (the
 *   tombstone dropped it). Naive: the old rule for such fills, "write into an empty slot".
 */
import Redis, { Cluster } from 'ioredis';
import { CacheClient, decodeEnvelope, encodeEnvelope, luaScript, ReadThroughCache } from '../../../../lambda/runtime/cache';
import { FILL, FILL_LOCK_LOST, FILL_WRITTEN, FillMode } from '../../../../lambda/runtime/cache/scripts';
import { CacheKeys } from '../../../../lambda/runtime/keys';
import { purgeRedis, unlinkKeys } from '../../../../lambda/runtime/invalidation/redis-purge';
import { DEFAULT_TTL_SECONDS, TtlClass } from '../../../../lambda/runtime/ttl';
import { connectClient, freshKeys, inspector } from '../cache/support';
import { describeEachTopology } from '../../../support/topologies';

interface Product {
  readonly id: number;
  readonly version: number;
}

type Purge = (redis: Redis | Cluster, keys: CacheKeys, key: string) => Promise<unknown>;

const naivePurge: Purge = (redis, _keys, key) => unlinkKeys(redis, [key]);
const purge: Purge = (redis, keys, key) => purgeRedis({ keys: [key], scans: [] }, { redis, cacheKeys: keys, now: Date.now, deadline: Infinity, announceOnBus: false });

/** A loader that has read version 1 from the origin and returns it when told to (a slow query). */
function slowLoaderOfVersion1(): { load: () => Promise<{ value: Product; version: number }>; started: Promise<void>; finish: () => void } {
  let finish!: () => void;
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const released = new Promise<void>((resolve) => (finish = resolve));
  return {
    started,
    finish,
    load: async () => {
      markStarted();
      await released;
      return { value: { id: 9, version: 1 }, version: 1 };
    },
  };
}

/** The fill rule of a reader that gave up on the lock before the fix: any empty slot is taken. */
const NAIVE_UNLOCKED_FILL = luaScript(
  'naive_unlocked_fill',
  2,
  `if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`,
);

describeEachTopology('Redis purge of a key while an older read is filling it', (topology) => {
  const clients: CacheClient[] = [];
  let redis: Redis | Cluster;

  beforeAll(async () => {
    redis = await inspector(topology.current());
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit()));
    await redis.quit();
  });

  async function cacheFor(keys: CacheKeys, lock: { waitMs: number; pollMs: number } = { waitMs: 1_000, pollMs: 20 }): Promise<ReadThroughCache> {
    const client = await connectClient(topology.current());
    clients.push(client);
    return new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, l1: false, earlyRefreshBeta: 0, lock: { ttlMs: 10_000, ...lock } });
  }

  /** The write's tombstone failed; the purge runs while the reader that holds the lock is loading. */
  async function lockHolderAfterFailedTombstone(purgeWith: Purge): Promise<number | undefined> {
    const keys = freshKeys(topology.current());
    const key = keys.product(9);
    const reader = await cacheFor(keys);
    const origin = slowLoaderOfVersion1();
    const read = reader.get(key, TtlClass.PRODUCT, origin.load);
    await origin.started;
    expect(await redis.exists(keys.lock(key))).toBe(1);
    // Version 2 commits; its tombstone cannot reach Redis (failover); the purge pipeline runs.
    await purgeWith(redis, keys, key);
    origin.finish();
    await read;
    return decodeEnvelope(await redis.get(key))?.ver;
  }

  test('the purge drops the lock: the reader holding it cannot fill the version the write replaced', async () => {
    expect(await lockHolderAfterFailedTombstone(purge)).toBeUndefined();
  });

  test('naive: UNLINK of the key alone leaves the lock, and version 1 is cached after the write of version 2', async () => {
    expect(await lockHolderAfterFailedTombstone(naivePurge)).toBe(1);
  });

  /** The write's tombstone is in place; the purge removes it while a reader that gave up on the lock is loading. */
  async function unlockedReaderAfterTombstone(fill: 'naive' | 'fixed'): Promise<number | undefined> {
    const keys = freshKeys(topology.current());
    const key = keys.product(9);
    const client = await connectClient(topology.current());
    clients.push(client);
    // Another process holds the lock and does not fill in time; the reader gives up and loads version 1.
    await redis.set(keys.lock(key), 'the-slow-holder', 'PX', 60_000);
    const loaded = encodeEnvelope({ v: { id: 9, version: 1 }, s: Date.now(), x: Date.now() + 60_000, ver: 1 });
    // Version 2 commits: the write path leaves its tombstone (dropping the lock), then the purge runs.
    const writer = await cacheFor(keys);
    expect(await writer.tombstone(key, 2, 30_000)).toBe(true);
    await purge(redis, keys, key);
    const reply =
      fill === 'fixed'
        ? await client.eval(FILL, [key, keys.lock(key)], [loaded, 60_000, 1, FillMode.UNLOCKED, 'the-slow-holder'])
        : await client.eval(NAIVE_UNLOCKED_FILL, [key, keys.lock(key)], [loaded, 60_000]);
    expect(Number(reply)).toBe(fill === 'fixed' ? FILL_LOCK_LOST : FILL_WRITTEN);
    return decodeEnvelope(await redis.get(key))?.ver;
  }

  test('a reader that gave up on the lock cannot fill once the write dropped that lock, tombstone purged or not', async () => {
    expect(await unlockedReaderAfterTombstone('fixed')).toBeUndefined();
  });

  test('naive: filling any empty slot, it caches version 1 after the write of version 2 and its purge', async () => {
    expect(await unlockedReaderAfterTombstone('naive')).toBe(1);
  });

  test('through the cache: a reader that gave up on the lock loads version 1 and its fill is refused after the write and purge', async () => {
    const keys = freshKeys(topology.current());
    const key = keys.product(9);
    await redis.set(keys.lock(key), 'the-slow-holder', 'PX', 60_000);
    const reader = await cacheFor(keys, { waitMs: 50, pollMs: 10 });
    const writer = await cacheFor(keys);
    const origin = slowLoaderOfVersion1();
    const read = reader.get(key, TtlClass.PRODUCT, origin.load);
    await origin.started;
    expect(await writer.tombstone(key, 2, 30_000)).toBe(true);
    await purge(redis, keys, key);
    origin.finish();
    expect((await read).version).toBe(1);
    expect(await redis.exists(key)).toBe(0);
  });

  test('a reader that gave up on a holder which is still loading fills an empty slot', async () => {
    const keys = freshKeys(topology.current());
    const key = keys.product(9);
    await redis.set(keys.lock(key), 'the-slow-holder', 'PX', 60_000);
    const reader = await cacheFor(keys, { waitMs: 50, pollMs: 10 });
    const read = await reader.get(key, TtlClass.PRODUCT, async () => ({ value: { id: 9, version: 1 }, version: 1 }));
    expect(read.source).toBe('origin');
    expect(decodeEnvelope(await redis.get(key))?.ver).toBe(1);
    expect(await redis.get(keys.lock(key))).toBe('the-slow-holder');
  });

  test('removes entries of every kind with their locks, and counts what existed', async () => {
    const keys = freshKeys(topology.current());
    const now = Date.now();
    const value = keys.product(1);
    const tombstone = keys.product(3);
    const missing = keys.product(4);
    const set = keys.resource('odd', ['5']);
    await redis.set(value, encodeEnvelope({ v: { id: 1 }, s: now, x: now + 60_000, ver: 1 }), 'PX', 60_000);
    await redis.set(tombstone, encodeEnvelope({ v: null, s: now, x: 0, ver: 7, t: 1 }), 'PX', 60_000);
    await redis.sadd(set, 'member');
    for (const key of [value, missing]) await redis.set(keys.lock(key), 'token', 'PX', 60_000);

    const result = await purgeRedis({ keys: [value, tombstone, missing, set], scans: [] }, { redis, cacheKeys: keys, now: Date.now, deadline: Infinity, announceOnBus: false });

    expect(result.unlinked).toBe(5);
    expect(await Promise.all([value, tombstone, missing, set].map((key) => redis.exists(key)))).toEqual([0, 0, 0, 0]);
    expect(await Promise.all([value, missing].map((key) => redis.exists(keys.lock(key))))).toEqual([0, 0]);
  });
  test('upToVersion: removes older, unversioned and older-tombstone entries with their locks, and keeps a newer entry and its lock', async () => {
    const keys = freshKeys(topology.current());
    const now = Date.now();
    const entry = (ver: number | undefined, tombstone = false) =>
      encodeEnvelope({ v: tombstone ? null : { id: 1 }, s: now, x: now + 60_000, ...(ver === undefined ? {} : { ver }), ...(tombstone ? { t: 1 as const } : {}) });
    const [older, same, unversioned, olderTombstone, newer, missing] = [1, 2, 3, 4, 5, 6].map((id) => keys.product(id));
    await redis.set(older, entry(6), 'PX', 60_000);
    await redis.set(same, entry(7), 'PX', 60_000);
    await redis.set(unversioned, entry(undefined), 'PX', 60_000);
    await redis.set(olderTombstone, entry(5, true), 'PX', 60_000);
    await redis.set(newer, entry(8), 'PX', 60_000);
    for (const key of [older, newer, missing]) await redis.set(keys.lock(key), 'token', 'PX', 60_000);

    const result = await purgeRedis({ keys: [older, same, unversioned, olderTombstone, newer, missing], upToVersion: 7, scans: [] }, { redis, cacheKeys: keys, now: Date.now, deadline: Infinity, announceOnBus: false });

    // Four entries, and the locks of the older entry and of the missing one.
    expect(result.unlinked).toBe(6);
    expect(await Promise.all([older, same, unversioned, olderTombstone, newer].map((key) => redis.exists(key)))).toEqual([0, 0, 0, 0, 1]);
    expect(await Promise.all([older, newer, missing].map((key) => redis.exists(keys.lock(key))))).toEqual([0, 1, 0]);
  });
});
