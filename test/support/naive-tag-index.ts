/**
 * The tag index as it was before issue 20 (kept for the tests that show what the fix changed): tag
 * sets of plain members written only when a value is filled, entries that do not carry their tags
 * (a read never consults a mark, so an evicted tag set means a value nobody can invalidate), a
 * member's key and its coalescing lock unlinked by two commands sent in parallel, and the members
 * removed from the set (SREM) before the caller forwards their CDN paths. Its layout uses the same
 * key names as the real index; a test uses one or the other per namespace.
 */
import type { CacheClient } from '../../lambda/runtime/cache';
import { luaScript } from '../../lambda/runtime/cache/cache-client';
import type { Loader } from '../../lambda/runtime/cache/read-through';
import { InvalidateOptions, MAX_TAGGED_READS, TaggedLoaderOptions, TagIndex, TagIndexOptions, TagInvalidation } from '../../lambda/runtime/cache/tag-index';
import type { CacheKeys } from '../../lambda/runtime/keys';

/** The operations the naive index used. `CacheClient` fits. */
export type NaiveTagStore = Pick<CacheClient, 'get' | 'eval' | 'unlink' | 'srem'>;

const NAIVE_RECORD = luaScript(
  'naive_tag_record',
  2,
  `redis.call('SADD', KEYS[1], unpack(ARGV, 3))
local ttl = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
local mark = tonumber(redis.call('GET', KEYS[2]))
if mark ~= nil and mark > tonumber(ARGV[2]) then return 0 end
return 1`,
);

const NAIVE_MARK_AND_READ = luaScript(
  'naive_tag_mark_and_read',
  2,
  `local current = tonumber(redis.call('GET', KEYS[2]))
local mark = tonumber(ARGV[1])
if current ~= nil and current > mark then mark = current end
redis.call('SET', KEYS[2], mark, 'PX', ARGV[2])
return redis.call('SMEMBERS', KEYS[1])`,
);

const NAIVE_TICK = luaScript(
  'naive_tag_clock_tick',
  1,
  `local value = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return value`,
);

export class NaiveTagIndex extends TagIndex {
  constructor(
    private readonly naiveStore: NaiveTagStore,
    private readonly naiveKeys: CacheKeys,
    options: TagIndexOptions = {},
  ) {
    super(naiveStore, naiveKeys, options);
  }

  override async ticket(): Promise<number> {
    return Number((await this.naiveStore.get(this.naiveKeys.tagClock())) ?? 0);
  }

  override async record(ticket: number, key: string, paths: readonly string[], tags: readonly string[], ttlSeconds: number): Promise<boolean> {
    if (tags.length === 0) return true;
    const setTtlMs = Math.ceil(ttlSeconds * 1.1 * 1000 + this.staleTtlSeconds * 1000 + 60_000);
    const replies = await Promise.all([...new Set(tags)].map((tag) => this.naiveStore.eval(NAIVE_RECORD, [this.naiveKeys.tagSet(tag), this.naiveKeys.tagMark(tag)], [setTtlMs, ticket, key, ...paths])));
    return replies.every((reply) => Number(reply) === 1);
  }

  /** `deferCleanup` is ignored: the naive index always removed the members before returning. */
  override async invalidate(tags: readonly string[], _options: InvalidateOptions = {}): Promise<TagInvalidation> {
    const unique = [...new Set(tags)];
    if (unique.length === 0) return { unlinked: 0, keys: [], cdnPaths: [], unknownTags: [], clock: 0 };
    const clock = Number(await this.naiveStore.eval(NAIVE_TICK, [this.naiveKeys.tagClock()], [30 * 86_400_000]));
    const read = await Promise.all(
      unique.map(async (tag) => ({ tag, members: (await this.naiveStore.eval(NAIVE_MARK_AND_READ, [this.naiveKeys.tagSet(tag), this.naiveKeys.tagMark(tag)], [clock, this.markTtlMs])) as string[] })),
    );
    const keys = new Set<string>();
    const paths = new Set<string>();
    for (const { members } of read) {
      for (const member of members) {
        if (member.startsWith('/')) paths.add(member);
        else if (this.naiveKeys.owns(member)) keys.add(member);
      }
    }
    const [unlinked] =
      keys.size === 0 ? [0] : await Promise.all([this.naiveStore.unlink([...keys]), this.naiveStore.unlink([...keys].map((key) => this.naiveKeys.lock(key)))]);
    await Promise.all(read.map(async ({ tag, members }) => members.length > 0 && this.naiveStore.srem(this.naiveKeys.tagSet(tag), members)));
    // The naive index could not tell an evicted set from an empty one.
    return { unlinked, keys: [...keys].sort(), cdnPaths: [...paths].sort(), unknownTags: [], clock };
  }

  override async cleanup(): Promise<void> {
    // Members were removed by invalidate itself.
  }

  /** The naive loader: the entry does not carry its tags, so reads never check a mark. */
  override loader<T>(options: TaggedLoaderOptions<T>): Loader<T> {
    const fail = (error: unknown): undefined => {
      options.onError?.(error);
      return undefined;
    };
    return async () => {
      for (let read = 1; ; read++) {
        const ticket = await this.ticket().catch(fail);
        const loaded = await options.load();
        if (loaded === null) return null;
        const tags = options.tagsOf(loaded.value);
        if (tags.length === 0) return loaded;
        const recorded = ticket === undefined ? undefined : await this.record(ticket, options.key, options.paths, tags, loaded.ttlSeconds ?? options.ttlSeconds).catch(fail);
        if (recorded === true) return loaded;
        if (recorded === undefined || read >= MAX_TAGGED_READS) return { ...loaded, cache: false };
      }
    };
  }
}
