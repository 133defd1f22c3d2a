import Redis, { Cluster } from 'ioredis';
import { hashSlot } from '../../../../lambda/runtime/cache/hash-slot';
import { CacheKeys } from '../../../../lambda/runtime/keys';
import { PatternScanState } from '../../../../lambda/runtime/invalidation/messages';
import { InMemoryInvalidationMetrics, InvalidationMetric } from '../../../../lambda/runtime/invalidation/observability';
import { TagIndex } from '../../../../lambda/runtime/cache/tag-index';
import { cleanupTags, purgeRedis, redisTagStore, unlinkKeys } from '../../../../lambda/runtime/invalidation/redis-purge';
import { describeEachTopology } from '../../../support/topologies';

function waitReady(client: Redis | Cluster): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', reject);
  });
}

/** A clock that advances one tick per read, so a deadline of N ticks allows about N scan steps. */
function tickingClock(): () => number {
  let t = 0;
  return () => t++;
}

describeEachTopology('purgeRedis', (handle) => {
  let redis: Redis | Cluster;
  let keys: CacheKeys;
  let clusterMode: boolean;
  let namespaceCounter = 0;

  beforeAll(async () => {
    const topology = handle.current();
    clusterMode = topology.kind === 'cluster';
    redis = topology.kind === 'cluster' ? new Cluster(topology.startupNodes) : new Redis(topology.url);
    await waitReady(redis);
  });

  afterAll(async () => {
    await redis.quit();
  });

  beforeEach(() => {
    // Each test owns its keys: a namespace of its own.
    keys = new CacheKeys({ namespace: `t${++namespaceCounter}`, clusterMode });
  });

  async function seed(count: number, key: (i: number) => string): Promise<string[]> {
    const names = Array.from({ length: count }, (_, i) => key(i));
    await Promise.all(names.map((name) => redis.set(name, 'x', 'EX', 600)));
    return names;
  }

  async function existing(names: readonly string[]): Promise<number> {
    const flags = await Promise.all(names.map((name) => redis.exists(name)));
    return flags.reduce((a, b) => a + b, 0);
  }

  /** How many masters hold at least one of `names` (1 for a standalone server), from the client's slot map. */
  function mastersHolding(names: readonly string[]): number {
    if (!(redis instanceof Cluster)) return 1;
    const cluster = redis;
    return new Set(names.map((name) => cluster.slots[hashSlot(name)][0])).size;
  }

  it('unlinks exact keys across slots and reports how many existed', async () => {
    const products = await seed(300, (i) => keys.product(i));
    const untouched = await seed(50, (i) => keys.resource('user', [String(i)]));
    const metrics = new InMemoryInvalidationMetrics();
    const missing = keys.product('never-cached');

    const result = await purgeRedis({ keys: [...products, missing], scans: [] }, { redis, cacheKeys: keys, now: Date.now, deadline: Infinity, metrics });

    expect(result.unlinked).toBe(300);
    expect(await existing(products)).toBe(0);
    expect(await existing(untouched)).toBe(50);
    expect(metrics.get(InvalidationMetric.KEYS_UNLINKED)).toBe(300);
    if (clusterMode) expect(mastersHolding(untouched)).toBeGreaterThan(1);
  });

  it('deletes every key matching a pattern on every master, and nothing else', async () => {
    const products = await seed(3000, (i) => keys.product(i));
    const users = await seed(500, (i) => keys.resource('user', [String(i)]));
    if (clusterMode) expect(mastersHolding(products)).toBe(3);

    const result = await purgeRedis(
      { keys: [], scans: [{ pattern: keys.resourcePattern('product'), cursors: {}, finished: [] }] },
      { redis, cacheKeys: keys, now: Date.now, deadline: Infinity, scanCount: 200 },
    );

    expect(result.remaining).toEqual([]);
    expect(result.unlinked).toBe(3000);
    expect(await existing(products)).toBe(0);
    expect(await existing(users)).toBe(500);
  });

  it('stops at the deadline and resumes from the returned cursors until every master is done', async () => {
    const products = await seed(4000, (i) => keys.product(i));
    const users = await seed(200, (i) => keys.resource('user', [String(i)]));
    const now = tickingClock();
    let scans: readonly PatternScanState[] = [{ pattern: keys.resourcePattern('product'), cursors: {}, finished: [] }];
    let rounds = 0;
    let total = 0;
    let largestRound = 0;

    while (scans.length > 0) {
      rounds++;
      // A budget of 3 ticks: about three SCAN steps per round, as if each invocation had little time.
      // No fill is in flight: the second pass may follow at once (its wait has its own test).
      const result = await purgeRedis({ keys: [], scans }, { redis, cacheKeys: keys, now, deadline: now() + 3, scanCount: 100, fillWindowMs: 0 });
      largestRound = Math.max(largestRound, result.scanSteps);
      total += result.unlinked;
      for (const state of result.remaining) {
        // Progress: a cursor or a finished master, or the first pass done.
        expect(Object.keys(state.cursors).length + state.finished.length > 0 || state.pass === 2).toBe(true);
      }
      scans = result.remaining;
      expect(rounds).toBeLessThan(500);
    }

    expect(rounds).toBeGreaterThan(3);
    expect(largestRound).toBeLessThanOrEqual(3);
    expect(total).toBe(4000);
    expect(await existing(products)).toBe(0);
    expect(await existing(users)).toBe(200);
  });

  it('makes progress even when the deadline has already passed', async () => {
    await seed(50, (i) => keys.product(i));
    const result = await purgeRedis(
      { keys: [], scans: [{ pattern: keys.resourcePattern('product'), cursors: {}, finished: [] }] },
      { redis, cacheKeys: keys, now: () => 100, deadline: 0, scanCount: 10 },
    );
    expect(result.scanSteps).toBe(1);
    expect(result.remaining).toHaveLength(1);
  });

  it('scans from the start a master that a continuation does not know (failover, new node)', async () => {
    const products = await seed(100, (i) => keys.product(i));
    const result = await purgeRedis(
      { keys: [], scans: [{ pattern: keys.resourcePattern('product'), cursors: { '10.9.9.9:6379': '17' }, finished: ['10.9.9.8:6379'] }] },
      { redis, cacheKeys: keys, now: Date.now, deadline: Infinity },
    );
    expect(result.remaining).toEqual([]);
    expect(await existing(products)).toBe(0);
  });

  it('empties a tag set with its members and leaves keys outside it', async () => {
    const tag = keys.tagSet('product:7');
    const lists = [keys.resource('product-list', ['_', '1']), keys.resource('product-list', ['books', '2']), keys.resource('product-list', ['games', '1'])];
    const other = keys.resource('product-list', ['music', '1']);
    await Promise.all([...lists, other].map((k) => redis.set(k, 'x', 'EX', 600)));
    await redis.zadd(tag, ...lists.flatMap((list) => [0, list]));
    const metrics = new InMemoryInvalidationMetrics();

    const result = await purgeRedis({ keys: [tag], scans: [] }, { redis, cacheKeys: keys, now: Date.now, deadline: Infinity, metrics });

    expect(result.tagsCleared).toBe(1);
    expect(result.unlinked).toBe(3);
    expect(await existing(lists)).toBe(0);
    // The members stay until the caller has made their CDN paths safe.
    expect(await redis.zcard(tag)).toBe(3);
    await cleanupTags(redis, keys, result.tagCleanup!);
    expect(await redis.exists(tag)).toBe(0);
    expect(await redis.exists(other)).toBe(1);
    expect(metrics.get(InvalidationMetric.TAGS_CLEARED)).toBe(1);
  });

  it('keeps a tag member recorded while the purge runs, so the next purge still finds it', async () => {
    const index = new TagIndex(redisTagStore(redis), keys);
    const tag = keys.tagSet('product:8');
    const before = keys.resource('product-list', ['_', '1']);
    const during = keys.resource('product-list', ['_', '2']);
    await redis.set(before, 'x', 'EX', 600);
    await index.record(await index.ticket(), before, [], ['product:8'], 300);

    const result = await purgeRedis({ keys: [tag], scans: [] }, { redis, cacheKeys: keys, now: Date.now, deadline: Infinity });
    // The write path caches a new list page (and records it) between the purge's read and its clean-up.
    await redis.set(during, 'x', 'EX', 600);
    expect(await index.record(await index.ticket(), during, [], ['product:8'], 300)).toBe(true);
    await cleanupTags(redis, keys, result.tagCleanup!);

    expect(await redis.exists(before)).toBe(0);
    expect((await redis.zrange(tag, 0, -1)).sort()).toEqual(['#', during].sort());
  });

  it('purges tags: every key recorded under them, with its lock, and reports their CDN paths', async () => {
    const index = new TagIndex(redisTagStore(redis), keys);
    const books = await seed(20, (i) => keys.resource('list', ['books', String(i + 1)]));
    const other = await seed(1, () => keys.resource('list', ['music', '1']));
    for (const [i, key] of books.entries()) await index.record(await index.ticket(), key, [`/api/lists/books?page=${i + 1}`], ['category:books'], 300);
    await index.record(await index.ticket(), other[0], ['/api/lists/music'], ['category:music'], 300);
    await redis.set(keys.lock(books[3]), 'token', 'EX', 60);
    const metrics = new InMemoryInvalidationMetrics();

    const result = await purgeRedis({ keys: [], scans: [], tags: ['category:books'] }, { redis, cacheKeys: keys, now: Date.now, deadline: Infinity, metrics });

    // The 20 pages and the one lock, each unlinked with its key.
    expect(result).toMatchObject({ unlinked: 21, tagsCleared: 1, remaining: [], unknownTags: [] });
    expect(result.cdnPaths).toEqual(books.map((_, i) => `/api/lists/books?page=${i + 1}`).sort());
    expect(await existing([...books, keys.lock(books[3])])).toBe(0);
    await cleanupTags(redis, keys, result.tagCleanup!);
    expect(await redis.zrange(keys.tagSet('category:books'), 0, -1)).toEqual(['#']);
    expect(await existing(other)).toBe(1);
    expect(metrics.get(InvalidationMetric.TAGS_CLEARED)).toBe(1);
  });

  it('leaves tag members outside the namespace in place', async () => {
    const tag = keys.tagSet('product:9');
    const foreign = `someone-else:${keys.resource('product-list', ['_', '1'])}`;
    await redis.set(foreign, 'x', 'EX', 600);
    await redis.zadd(tag, 0, foreign);
    await purgeRedis({ keys: [tag], scans: [] }, { redis, cacheKeys: keys, now: Date.now, deadline: Infinity });
    expect(await redis.exists(foreign)).toBe(1);
    await redis.unlink(foreign);
  });

  it('refuses keys and patterns outside the namespace before touching anything', async () => {
    const mine = await seed(3, (i) => keys.product(i));
    await expect(
      purgeRedis({ keys: [...mine, 'other-app:v1:product:1'], scans: [] }, { redis, cacheKeys: keys, now: Date.now, deadline: Infinity }),
    ).rejects.toThrow(/outside the app namespace/);
    await expect(
      purgeRedis({ keys: [], scans: [{ pattern: '*', cursors: {}, finished: [] }] }, { redis, cacheKeys: keys, now: Date.now, deadline: Infinity }),
    ).rejects.toThrow(/outside the app namespace/);
    expect(await existing(mine)).toBe(3);
  });

  it('unlinkKeys handles more keys than one UNLINK batch', async () => {
    const many = await seed(1234, (i) => keys.resource('order', [String(i)]));
    expect(await unlinkKeys(redis, many, 100)).toBe(1234);
    expect(await existing(many)).toBe(0);
  });
});
