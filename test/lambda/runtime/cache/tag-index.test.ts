/**
 * Generic tags over real Redis (standalone and a 3-master cluster): recording keys and CDN paths
 * under tags before a fill, invalidating a tag in every slot, and the race between a reader's fill
 * and a writer's tag invalidation — each interleaving also run in its naive order, which fails.
 */
import Redis, { Cluster } from 'ioredis';
import { CacheClient, DEFAULT_TTL_SECONDS, Loaded, ReadThroughCache, TagIndex, taggedLoader } from 'cache-pyramid/runtime';
import { describeEachTopology } from '../../../support/topologies';
import { connectClient, freshKeys, inspector } from './support';

/** A gate a loader waits at, opened by the test when the other party has done its part. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** The origin: one row whose version a "write" bumps. */
class Row {
  version = 1;
  reads = 0;
  read(): { value: { name: string; version: number }; version: number } {
    this.reads += 1;
    return { value: { name: `v${this.version}`, version: this.version }, version: this.version };
  }
}

describeEachTopology('TagIndex', (topology) => {
  let client: CacheClient;
  let redis: Redis | Cluster;

  beforeAll(async () => {
    client = await connectClient(topology.current());
    redis = await inspector(topology.current());
  });

  afterAll(async () => {
    await client?.quit();
    redis?.disconnect();
  });

  function setup() {
    const keys = freshKeys(topology.current());
    const index = new TagIndex(client, keys);
    const cache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, earlyRefreshBeta: 0, l1: false });
    return { keys, index, cache };
  }

  describe('record and invalidate', () => {
    test('invalidating a tag unlinks every key recorded under it, in every slot, and returns their CDN paths', async () => {
      const { keys, index } = setup();
      const tagged = Array.from({ length: 30 }, (_, i) => keys.resource('article', [String(i + 1)]));
      const untagged = keys.resource('article', ['999']);
      for (const key of [...tagged, untagged]) await redis.set(key, 'x', 'EX', 60);
      for (const [i, key] of tagged.entries()) {
        expect(await index.record(await index.ticket(), key, [`/api/articles/${i + 1}`], ['topic:cache', i % 2 ? 'odd' : 'even'], 600)).toBe(true);
      }
      await redis.set(keys.lock(tagged[0]), 'token', 'EX', 60);
      const result = await index.invalidate(['topic:cache']);
      // The 30 keys and the one lock that existed, each lock unlinked in one command with its key.
      expect(result.unlinked).toBe(31);
      expect(result.unknownTags).toEqual([]);
      expect(result.cdnPaths).toEqual(tagged.map((_, i) => `/api/articles/${i + 1}`).sort());
      for (const key of tagged) expect(await redis.exists(key)).toBe(0);
      expect(await redis.exists(keys.lock(tagged[0]))).toBe(0);
      expect(await redis.exists(untagged)).toBe(1);
      // Only the sentinel is left: the set is whole, and empty of members.
      expect(await redis.zrange(keys.tagSet('topic:cache'), 0, -1)).toEqual(['#']);
      // The other tags still name their (now gone) members: a later invalidation costs an UNLINK of nothing.
      expect(await index.invalidate(['odd', 'even'])).toMatchObject({ unlinked: 0, keys: [...tagged].sort(), cdnPaths: expect.arrayContaining(['/api/articles/1', '/api/articles/2']) });
    });

    test('tag sets outlive their members: TTL of the entry, +10 % jitter, the stale window and a margin, never shortened', async () => {
      const { keys, index } = setup();
      await index.record(0, keys.resource('a', ['1']), [], ['long'], 3600);
      await index.record(0, keys.resource('a', ['2']), [], ['long'], 60);
      const pttl = await redis.pttl(keys.tagSet('long'));
      expect(pttl).toBeGreaterThan(3600 * 1100 + 300_000);
      expect(pttl).toBeLessThanOrEqual(3600 * 1100 + 300_000 + 60_000);
    });

    test('a record after an invalidation that followed its ticket is refused; one whose ticket follows it is accepted', async () => {
      const { keys, index } = setup();
      const before = await index.ticket();
      await index.invalidate(['t']);
      expect(await index.record(before, keys.resource('a', ['1']), [], ['t'], 60)).toBe(false);
      expect(await index.record(await index.ticket(), keys.resource('a', ['1']), [], ['t'], 60)).toBe(true);
      // A tag without a mark: created at the ticket, which is only trusted while the clock has not moved since.
      expect(await index.record(before, keys.resource('a', ['2']), [], ['unrelated'], 60)).toBe(false);
      const now = await index.ticket();
      expect(await index.record(now, keys.resource('a', ['3']), [], ['another'], 60)).toBe(true);
      expect(await redis.get(keys.tagMark('another'))).toBe(String(now));
    });

    test('a tag whose set is gone is reported unknown; its marks still move', async () => {
      const { keys, index } = setup();
      await index.record(await index.ticket(), keys.resource('a', ['1']), ['/a/1'], ['kept', 'evicted'], 60);
      await redis.del(keys.tagSet('evicted'));
      const result = await index.invalidate(['kept', 'evicted']);
      expect(result.unknownTags).toEqual(['evicted']);
      expect(result.cdnPaths).toEqual(['/a/1']);
      expect(Number(await redis.get(keys.tagMark('evicted')))).toBe(result.clock);
    });

    test('the clock never runs below the Redis node\'s time, so losing it cannot bring ticks under the marks', async () => {
      const { keys, index } = setup();
      const first = await index.invalidate(['t']);
      await redis.del(keys.tagClock());
      const ticket = await index.ticket();
      expect(ticket).toBeGreaterThanOrEqual(first.clock);
      const second = await index.invalidate(['t']);
      expect(second.clock).toBeGreaterThan(first.clock);
      expect(await index.record(await index.ticket(), keys.resource('a', ['1']), [], ['t'], 60)).toBe(true);
    });

    test('a tag outside the allowed characters is refused by name', async () => {
      const { index } = setup();
      await expect(index.invalidate(['has space'])).rejects.toThrow(/cache tag must match/);
    });
  });

  describe('a fill racing a tag invalidation', () => {
    /** The reader's loader, tagged, with its origin read held at `atOrigin` and its return held at `beforeFill`. */
    function reader(index: TagIndex, key: string, row: Row, holds: { afterOriginRead?: Promise<void>; beforeFill?: Promise<void> }) {
      const tagged = taggedLoader(index, {
        key,
        paths: ['/api/rows/1'],
        ttlSeconds: 3600,
        load: async () => {
          const loaded = row.read();
          await holds.afterOriginRead;
          return loaded;
        },
        tagsOf: () => ['row:1'],
      });
      return async (): Promise<Loaded<{ name: string }>> => {
        const loaded = await tagged();
        await holds.beforeFill;
        return loaded;
      };
    }

    /** What a reader arriving later gets: the cached value when there is one. */
    async function cachedName(cache: ReadThroughCache, key: string, row: Row): Promise<string> {
      const read = await cache.get(key, 3600, async () => row.read());
      return (read.value as { name: string }).name;
    }

    test('the writer invalidates after the reader recorded its key: the fill in flight is refused', async () => {
      const { keys, index, cache } = setup();
      const row = new Row();
      const key = keys.resource('row', ['1']);
      const hold = gate();
      const reading = cache.get(key, 3600, reader(index, key, row, { beforeFill: hold.wait }));
      await until(async () => (await redis.zcard(keys.tagSet('row:1'))) === 3);
      row.version = 2;
      expect((await index.invalidate(['row:1'])).cdnPaths).toEqual(['/api/rows/1']);
      hold.open();
      expect((await reading).value).toMatchObject({ name: 'v1' });
      expect(await cachedName(cache, key, row)).toBe('v2');
    });

    test('the writer invalidates between the reader\'s origin read and its record: the reader reads again and caches the new value', async () => {
      const { keys, index, cache } = setup();
      const row = new Row();
      const key = keys.resource('row', ['1']);
      const hold = gate();
      const reading = cache.get(key, 3600, reader(index, key, row, { afterOriginRead: hold.wait }));
      await until(async () => row.reads === 1);
      row.version = 2;
      expect(await index.invalidate(['row:1'])).toMatchObject({ unlinked: 0, keys: [], cdnPaths: [] });
      hold.open();
      expect((await reading).value).toMatchObject({ name: 'v2' });
      expect(row.reads).toBe(2);
      expect(await cachedName(cache, key, row)).toBe('v2');
      expect(row.reads).toBe(2);
    });

    test('naive: recording the key after the fill leaves the old value cached for its TTL in the same interleaving', async () => {
      const { keys, index, cache } = setup();
      const row = new Row();
      const key = keys.resource('row', ['1']);
      // The naive reader caches what it read, then records the key…
      await cache.get(key, 3600, async () => row.read());
      const ticket = await index.ticket();
      // …and the writer commits and invalidates the tag in between.
      row.version = 2;
      await index.invalidate(['row:1']);
      await index.record(ticket, key, ['/api/rows/1'], ['row:1'], 3600);
      expect(await cachedName(cache, key, row)).toBe('v1');
    });

    test('naive: recording before the fill without the ticket check caches the old value when the invalidation came first', async () => {
      const { keys, cache } = setup();
      /** The same index, but its records never compare the tag's mark with a ticket. */
      class NaiveTagIndex extends TagIndex {
        override async ticket(): Promise<number> {
          return Number.MAX_SAFE_INTEGER;
        }
      }
      const index = new NaiveTagIndex(client, keys);
      const row = new Row();
      const key = keys.resource('row', ['1']);
      const hold = gate();
      const reading = cache.get(key, 3600, reader(index, key, row, { afterOriginRead: hold.wait }));
      await until(async () => row.reads === 1);
      row.version = 2;
      await index.invalidate(['row:1']);
      hold.open();
      expect((await reading).value).toMatchObject({ name: 'v1' });
      expect(await cachedName(cache, key, row)).toBe('v1');
    });

    test('when the tag keeps being invalidated, the value is answered but not cached', async () => {
      const { keys, index, cache } = setup();
      const row = new Row();
      const key = keys.resource('row', ['1']);
      const loader = taggedLoader(index, {
        key,
        paths: [],
        ttlSeconds: 3600,
        load: async () => {
          const loaded = row.read();
          await index.invalidate(['row:1']);
          return loaded;
        },
        tagsOf: () => ['row:1'],
      });
      expect((await cache.get(key, 3600, loader)).source).toBe('origin');
      expect(row.reads).toBe(3);
      expect(await redis.exists(key)).toBe(0);
    });

    test('with Redis failing while tagging, the value is answered but not cached', async () => {
      const { keys, cache } = setup();
      const errors: unknown[] = [];
      // A store whose scripts fail, as a shard that is failing over answers them.
      const broken = new TagIndex({ eval: async () => Promise.reject(new Error('CLUSTERDOWN')), unlink: async () => 0 }, keys);
      const row = new Row();
      const key = keys.resource('row', ['1']);
      const loader = taggedLoader(broken, { key, paths: [], ttlSeconds: 60, load: async () => row.read(), tagsOf: () => ['row:1'], onError: (e) => errors.push(e) });
      expect((await cache.get(key, 60, loader)).value).toMatchObject({ name: 'v1' });
      expect(errors).toHaveLength(1);
      expect(await redis.exists(key)).toBe(0);
    });
  });
});

/** Polls `condition` until it holds (a generous bound: the machine is shared and slow). */
async function until(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
