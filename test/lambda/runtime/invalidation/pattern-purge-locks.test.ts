/**
 * A pattern purge against fills in flight. Each list page's reader took its coalescing lock before
 * the purge began and loaded the page from the origin; its fill (`FILL`, locked mode) lands while the
 * purge is scanning. A page the scan has already passed when its fill lands survives one pass: the
 * fill releases its own lock, so nothing of the page is left for the scan to meet. Every such fill
 * lands within its lock's TTL or is refused, so the purge scans a second time once that window has
 * passed since it began (`RedisPurgeOptions.fillWindowMs`), and removes each value together with
 * its lock (`withTheirLocks`), so that a fill the scan meets first by its lock is refused. Naive: the
 * old scan, one pass removing exactly the keys each step returned, leaves pages loaded before the
 * purge in Redis.
 */
import Redis, { Cluster } from 'ioredis';
import { CacheClient, encodeEnvelope } from '../../../../lambda/runtime/cache';
import { FILL, FILL_WRITTEN, FillMode } from '../../../../lambda/runtime/cache/scripts';
import type { CacheKeys } from '../../../../lambda/runtime/keys';
import { purgeRedis, unlinkKeys, withTheirLocks } from '../../../../lambda/runtime/invalidation/redis-purge';
import { describeEachTopology } from '../../../support/topologies';
import { connectClient, freshKeys, inspector } from '../cache/support';

/** Pages with a fill in flight; enough that the naive scan leaves some behind in every run. */
const PAGES = 600;
/** Fills that land before each scan step after the first. */
const FILLS_PER_STEP = 5;
const SCAN_COUNT = 10;
/** The readers' lock TTL, and so the purge's fill window. */
const LOCK_TTL_MS = 2_000;

type PatternPurge = (redis: Redis | Cluster, keys: CacheKeys, pattern: string, beforeStep: () => void) => Promise<void>;

const purge: PatternPurge = async (redis, keys, pattern, beforeStep) => {
  const now = (): number => {
    beforeStep();
    return Date.now();
  };
  const result = await purgeRedis({ keys: [], scans: [{ pattern, cursors: {}, finished: [] }] }, { redis, cacheKeys: keys, now, deadline: Infinity, scanCount: SCAN_COUNT, announceOnBus: false, fillWindowMs: LOCK_TTL_MS });
  expect(result.remaining).toEqual([]);
};

/** The scan before the fix: every master, `SCAN MATCH`, and `UNLINK` of exactly what each step returned. */
const naivePurge: PatternPurge = async (redis, _keys, pattern, beforeStep) => {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  let steps = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      if (steps++ > 0) beforeStep();
      const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
      await unlinkKeys(redis, found);
      cursor = next;
    } while (cursor !== '0');
  }
};

describeEachTopology('a pattern purge while list pages are being filled', (topology) => {
  let redis: Redis | Cluster;
  let client: CacheClient;

  beforeAll(async () => {
    redis = await inspector(topology.current());
    client = await connectClient(topology.current());
  });
  afterAll(async () => {
    await client?.quit();
    await redis?.quit();
  });

  /** Runs `purgeWith` over PAGES pages whose fills land during it; returns the pages stored before the purge that are still there. */
  async function survivorsOf(purgeWith: PatternPurge): Promise<{ survivors: number; storedDuringPurge: number }> {
    const keys = freshKeys(topology.current());
    const pages = Array.from({ length: PAGES }, (_, i) => keys.resource('product-list', ['toys', String(i)]));
    const loadedAt = Date.now();
    // Every reader holds its page's lock and has loaded the page: the purge starts after those loads.
    await Promise.all(pages.map((page, i) => redis.set(keys.lock(page), `reader-${i}`, 'PX', LOCK_TTL_MS)));
    const fill = (i: number): Promise<number> => {
      const envelope = encodeEnvelope({ v: { page: i, products: ['before the purge'] }, s: loadedAt, x: loadedAt + 300_000 });
      return client.eval(FILL, [pages[i], keys.lock(pages[i])], [envelope, 300_000, '', FillMode.LOCKED, `reader-${i}`]).then(Number);
    };
    const fills: Promise<number>[] = [];
    let purging = true;
    const replies: number[] = [];
    const landDuringPurge = (): void => {
      for (let n = 0; n < FILLS_PER_STEP && fills.length < PAGES; n++) {
        fills.push(fill(fills.length).then((reply) => (purging && replies.push(reply), reply)));
      }
    };

    await purgeWith(redis, keys, keys.resourcePattern('product-list'), landDuringPurge);
    purging = false;
    // The readers whose fills had not landed by the end of the purge fill now.
    while (fills.length < PAGES) fills.push(fill(fills.length));
    await Promise.all(fills);

    const left = await Promise.all(pages.map((page) => redis.exists(page)));
    return { survivors: left.reduce((a, b) => a + b, 0), storedDuringPurge: replies.filter((reply) => reply === FILL_WRITTEN).length };
  }

  test('no page loaded before the purge survives it: a second pass after the fill window, each value with its lock', async () => {
    const { survivors, storedDuringPurge } = await survivorsOf(purge);
    // The race was there: fills stored pages while the scan ran (and the purge removed them).
    expect(storedDuringPurge).toBeGreaterThan(0);
    expect(survivors).toBe(0);
  });

  test('naive: one pass removing exactly what each scan step returned leaves pages whose fills landed behind it', async () => {
    const { survivors } = await survivorsOf(naivePurge);
    expect(survivors).toBeGreaterThan(0);
  });

  test('a second pass the deadline does not leave room for goes to the continuation, which waits out the window and removes what landed', async () => {
    const keys = freshKeys(topology.current());
    const pattern = keys.resourcePattern('product-list');
    const page = keys.resource('product-list', ['garden', '1']);
    let clock = 1_000_000;
    const scans = [{ pattern, cursors: {}, finished: [] }];
    const first = await purgeRedis({ keys: [], scans }, { redis, cacheKeys: keys, now: () => clock, deadline: clock + 500, fillWindowMs: LOCK_TTL_MS, announceOnBus: false });
    expect(first.remaining).toEqual([expect.objectContaining({ pattern, cursors: {}, finished: [], startedAt: 1_000_000, pass: 2 })]);
    // A fill that began before the purge lands behind the first pass.
    await redis.set(page, encodeEnvelope({ v: ['before the purge'], s: 999_000, x: Date.now() + 300_000 }), 'PX', 300_000);
    clock += 800;
    const waits: number[] = [];
    const sleep = async (ms: number): Promise<void> => {
      waits.push(ms);
      clock += ms;
    };
    const second = await purgeRedis({ keys: [], scans: first.remaining }, { redis, cacheKeys: keys, now: () => clock, deadline: clock + 20_000, fillWindowMs: LOCK_TTL_MS, sleep, announceOnBus: false });
    expect(waits).toEqual([LOCK_TTL_MS - 800]);
    expect(second.remaining).toEqual([]);
    expect(await redis.exists(page)).toBe(0);
  });

  test('withTheirLocks pairs each value with its lock, once, keeps internal keys, and puts a lock guarding no value last', () => {
    const keys = freshKeys(topology.current());
    const page = keys.resource('product-list', ['toys', '1']);
    const other = keys.resource('product-list', ['toys', '2']);
    const tagSet = keys.tagSet('category:toys');
    const versionClock = keys.profileVersion(7);
    expect(withTheirLocks([keys.lock(page), page, tagSet, keys.lock(versionClock), versionClock, other], keys)).toEqual([keys.lock(page), page, keys.lock(other), other, keys.lock(versionClock)]);
  });
});
