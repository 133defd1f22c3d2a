/**
 * Issue 20, over real Redis (standalone and a 3-master cluster): tag invalidations that a full Redis
 * (evicting tag sets and marks) or concurrent fills cannot undo, and the writer's own L1. Each case
 * is also run with the tag index as it was (test/support/naive-tag-index.ts), which fails it:
 * - a tag set evicted before the write: the value stays readable (naive) / is unreadable (lazy marks);
 * - the set and the mark both evicted: a missing mark counts as an invalidation;
 * - a reader's locked fill landing between the naive index's two UNLINKs (key, then lock) of one member;
 * - a member recorded again while an invalidation runs: the naive SREM removes it, and the next
 *   write no longer finds the page or its CDN path;
 * - the writer's own L1 keeps a page another instance's write took out of the tag set.
 */
import Redis, { Cluster } from 'ioredis';
import { CacheClient, DEFAULT_TTL_SECONDS, Loaded, ReadThroughCache, TagIndex } from 'cache-pyramid/runtime';
import type { LuaScript } from '../../../../lambda/runtime/cache/cache-client';
import type { CacheKeys } from '../../../../lambda/runtime/keys';
import { NaiveTagIndex } from '../../../support/naive-tag-index';
import { describeEachTopology } from '../../../support/topologies';
import { connectClient, freshKeys, inspector } from './support';

type Variant = 'fixed' | 'naive';

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** The origin: one row whose version a write bumps. */
class Row {
  version = 1;
  read(): { value: { name: string; version: number }; version: number } {
    return { value: { name: `v${this.version}`, version: this.version }, version: this.version };
  }
}

const TAG = 'row:1';
const PATH = '/api/rows/1';

describeEachTopology('tag invalidation under eviction and concurrency', (topology) => {
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

  function indexOf(variant: Variant, keys: CacheKeys, store: ConstructorParameters<typeof NaiveTagIndex>[0] = client): TagIndex {
    return variant === 'fixed' ? new TagIndex(store, keys) : new NaiveTagIndex(store, keys);
  }

  function cacheOf(keys: CacheKeys, l1 = false): ReadThroughCache {
    return new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, earlyRefreshBeta: 0, ...(l1 ? {} : { l1: false }) });
  }

  /** A read of the row's cached page through `index`'s loader, optionally held before its fill. */
  function readPage(cache: ReadThroughCache, index: TagIndex, key: string, row: Row, beforeFill?: Promise<void>): Promise<string> {
    const tagged = index.loader({ key, paths: [PATH], ttlSeconds: 3600, load: async () => row.read(), tagsOf: () => [TAG] });
    const load = async (): Promise<Loaded<{ name: string }>> => {
      const loaded = await tagged();
      await beforeFill;
      return loaded;
    };
    return cache.get(key, 3600, load).then((read) => (read.value as { name: string }).name);
  }

  describe('a tag set evicted before the write', () => {
    async function afterEviction(variant: Variant, alsoEvictMark: boolean): Promise<string> {
      const keys = freshKeys(topology.current());
      const index = indexOf(variant, keys);
      const cache = cacheOf(keys);
      const row = new Row();
      const key = keys.resource('row', ['1']);
      expect(await readPage(cache, index, key, row)).toBe('v1');
      // What allkeys-lru does to a cold tag set while the hot page stays.
      await redis.del(keys.tagSet(TAG));
      row.version = 2;
      await index.invalidate([TAG]);
      if (alsoEvictMark) await redis.del(keys.tagMark(TAG));
      expect(await redis.exists(key)).toBe(1);
      return readPage(cache, index, key, row);
    }

    test('the page is unreadable once its tag is invalidated: the next read loads the new version', async () => {
      expect(await afterEviction('fixed', false)).toBe('v2');
    });

    test('with the mark evicted too, a missing mark counts as an invalidation', async () => {
      expect(await afterEviction('fixed', true)).toBe('v2');
    });

    test('naive: the invalidation finds no member and the old page is served from Redis', async () => {
      expect(await afterEviction('naive', false)).toBe('v1');
    });
  });

  test('a mark evicted while nothing was written makes the next read load again, then it is cached again', async () => {
    const keys = freshKeys(topology.current());
    const index = indexOf('fixed', keys);
    const cache = cacheOf(keys);
    const row = new Row();
    const key = keys.resource('row', ['1']);
    let loads = 0;
    const counted = (): Promise<string> => readPage(cache, index, key, Object.assign(row, { read: () => (loads++, Row.prototype.read.call(row)) }));
    await counted();
    await counted();
    expect(loads).toBe(1);
    await redis.del(keys.tagMark(TAG));
    expect(await counted()).toBe('v1');
    expect(loads).toBe(2);
    await counted();
    expect(loads).toBe(2);
  });

  describe("a reader's locked fill racing the removal of its key", () => {
    /**
     * The reader holds the coalescing lock and has loaded version 1; the writer commits version 2 and
     * invalidates the tag. An UNLINK that names only locks is held until the reader's fill was tried.
     */
    async function fillDuringInvalidate(variant: Variant): Promise<string> {
      const keys = freshKeys(topology.current());
      const keyRemoved = gate();
      const lockRemoval = gate();
      const store = {
        get: (key: string) => client.get(key),
        srem: (key: string, members: readonly string[]) => client.srem(key, members),
        eval: (script: LuaScript, k: readonly string[], args: readonly (string | number)[]) => client.eval(script, k, args),
        unlink: async (names: readonly string[]) => {
          const onlyLocks = names.every((name) => name.endsWith(':lock'));
          if (onlyLocks) await lockRemoval.wait;
          const removed = await client.unlink(names);
          if (!onlyLocks) keyRemoved.open();
          return removed;
        },
      };
      const index = indexOf(variant, keys, store);
      const cache = cacheOf(keys);
      const row = new Row();
      const key = keys.resource('row', ['1']);
      // A first fill puts the key in the tag set; the reader then refreshes it under the lock.
      expect(await readPage(cache, index, key, row)).toBe('v1');
      await redis.del(key);
      const fill = gate();
      const reading = readPage(cache, index, key, row, fill.wait);
      await until(async () => (await redis.exists(keys.lock(key))) === 1);
      row.version = 2;
      const invalidating = index.invalidate([TAG]);
      await keyRemoved.wait;
      fill.open();
      expect(await reading).toBe('v1');
      lockRemoval.open();
      await invalidating;
      return readPage(cache, index, key, row);
    }

    test('key and lock go in one command: the fill is refused, the next read loads version 2', async () => {
      expect(await fillDuringInvalidate('fixed')).toBe('v2');
    });

    test('naive: between the two UNLINKs the fill still holds its lock and stores version 1 after the write', async () => {
      expect(await fillDuringInvalidate('naive')).toBe('v1');
    });
  });

  describe('a member recorded again while an invalidation runs', () => {
    /**
     * Write 1 reads the tag set; before it removes the members, a reader (whose read began after
     * write 1 committed) fills the page again and records it. Write 2 must still find the page and its path.
     */
    async function secondWriteFinds(variant: Variant): Promise<{ page: string; keys: string[]; cdnPaths: string[] }> {
      const keys = freshKeys(topology.current());
      const membersRead = gate();
      const removal = gate();
      const store = {
        get: (key: string) => client.get(key),
        srem: async (key: string, members: readonly string[]) => {
          membersRead.open();
          await removal.wait;
          return client.srem(key, members);
        },
        eval: async (script: LuaScript, k: readonly string[], args: readonly (string | number)[]) => {
          if (script.name === 'tag_cleanup') {
            membersRead.open();
            await removal.wait;
          }
          return client.eval(script, k, args);
        },
        unlink: (names: readonly string[]) => client.unlink(names),
      };
      const index = indexOf(variant, keys, store);
      const cache = cacheOf(keys);
      const row = new Row();
      const key = keys.resource('row', ['1']);
      expect(await readPage(cache, index, key, row)).toBe('v1');
      row.version = 2;
      const first = index.invalidate([TAG]);
      await membersRead.wait;
      expect(await readPage(cache, index, key, row)).toBe('v2');
      removal.open();
      await first;
      row.version = 3;
      const second = await index.invalidate([TAG]);
      return { page: key, keys: second.keys, cdnPaths: second.cdnPaths };
    }

    test('the member re-recorded with a newer ticket stays: the next write unlinks the page and purges its path', async () => {
      const found = await secondWriteFinds('fixed');
      expect(found.cdnPaths).toEqual([PATH]);
      expect(found.keys).toEqual([found.page]);
    });

    test('naive: the SREM of what write 1 read removes the page recorded again, and write 2 finds neither page nor path', async () => {
      expect(await secondWriteFinds('naive')).toMatchObject({ keys: [], cdnPaths: [] });
    });
  });

  describe("the writer's own L1 (no bus)", () => {
    async function writerReadsAfterOtherInstanceWrote(forget: 'tagged' | 'removed-keys'): Promise<string> {
      const keys = freshKeys(topology.current());
      const index = indexOf('fixed', keys);
      const writer = cacheOf(keys, true);
      const other = cacheOf(keys, true);
      const row = new Row();
      const key = keys.resource('row', ['1']);
      expect(await readPage(writer, index, key, row)).toBe('v1');
      // Another instance writes first: its invalidation takes the page out of the tag set.
      row.version = 2;
      const theirs = await index.invalidate([TAG]);
      await other.forgetTagged([TAG], theirs.keys);
      // Then this instance writes: the set no longer names the page its L1 holds.
      row.version = 3;
      const ours = await index.invalidate([TAG]);
      expect(ours.keys).toEqual([]);
      if (forget === 'tagged') await writer.forgetTagged([TAG], ours.keys);
      else await writer.forgetRemoved(...ours.keys);
      return readPage(writer, index, key, row);
    }

    test('forgetTagged drops every L1 entry carrying the tag, named by the set or not: the writer reads its write', async () => {
      expect(await writerReadsAfterOtherInstanceWrote('tagged')).toBe('v3');
    });

    test('naive: dropping only the keys the set named leaves version 1 in the writer\'s L1', async () => {
      expect(await writerReadsAfterOtherInstanceWrote('removed-keys')).toBe('v1');
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
