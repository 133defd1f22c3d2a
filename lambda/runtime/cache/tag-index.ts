/**
 * Generic tags: a cached value may carry tags (`category:garden`, `product:42`), and
 * `invalidate(tags)` removes every key carrying one of them, in cluster mode too, and yields the CDN
 * paths under which those values were served.
 *
 * Layout, per tag, in one hash slot (`CacheKeys.tagSet`, `CacheKeys.tagMark`):
 * - the tag set holds the cache keys carrying the tag and the CDN paths of their answers (members
 *   starting with `/`), so one `SMEMBERS` finds both;
 * - the mark holds the invalidation clock's value at the tag's last invalidation.
 * The invalidation clock (`CacheKeys.tagClock`) is one counter for the app, incremented by every
 * invalidation.
 *
 * The race this closes (generalising lambda/shop/write-path/list-tags.ts): a reader loads a value
 * (old data), a writer commits and invalidates its tag, and only then does the reader record its key
 * in the tag's set and cache the value. The writer never saw the key, and the value would stay stale
 * for its whole TTL. Hence the reader's order: read the clock (`ticket`) BEFORE the origin read,
 * record the key in every tag set, and only then fill, and the writer's order: commit, tick the clock,
 * mark each tag and read its members in one step, unlink them with their coalescing locks. For a
 * writer whose tick comes after the reader's ticket, the two steps on the tag's slot are serialised:
 * - the reader's record comes first: the writer reads the key and unlinks it with its lock, so the
 *   reader's fill (which needs its lock) is refused;
 * - the writer's mark comes first: the reader's record sees a mark above its ticket and reports the
 *   value as possibly older than the write, so the reader loads again or does not cache it.
 * A writer whose tick comes before the ticket committed before the origin read began: the value is new.
 *
 * If the clock key is lost (eviction), ticks restart low while marks are still high: tagged fills are
 * then refused (served uncached) until the marks expire ({@link DEFAULT_TAG_MARK_TTL_MS}) — slower,
 * never stale. Members are never removed by anything but an invalidation: a dangling member costs one
 * UNLINK of a key that is gone.
 */
import { CacheKeys } from '../keys';
import { luaScript, LuaScript } from './cache-client';
import type { Loaded, Loader } from './read-through';

/** The operations the tag index needs; `CacheClient` fits, and the purge core adapts a raw ioredis client. */
export interface TagStore {
  get(key: string): Promise<string | null>;
  /** In cluster mode every key of one call shares a slot. */
  eval(script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
  /** UNLINK, grouped per slot in cluster mode; returns how many existed. */
  unlink(keys: readonly string[]): Promise<number>;
  srem(key: string, members: readonly string[]): Promise<number>;
}

export interface TagIndexOptions {
  /** Stale window of the cached entries past their soft TTL; a tag set outlives its members' whole life. @default 300 */
  readonly staleTtlSeconds?: number;
  /** How long a mark refuses fills that began before it; far above the longest load a fill may follow. @default DEFAULT_TAG_MARK_TTL_MS */
  readonly markTtlMs?: number;
}

/** A mark outlives any fill that could follow a load begun before it (the lock TTL, the hard timeout). */
export const DEFAULT_TAG_MARK_TTL_MS = 15 * 60_000;
/** The clock lives this long after the last invalidation (refreshed by every tick). */
export const TAG_CLOCK_TTL_MS = 30 * 86_400_000;
/** Tag sets live this much longer than the longest life of a member entry. */
const TAG_SET_MARGIN_MS = 60_000;
/** Members per SREM. */
const SREM_BATCH = 500;

/** KEYS: tag set, mark. ARGV: set ttl ms, ticket, member… → 1 when no invalidation marked the tag after `ticket`, else 0. */
export const TAG_RECORD = luaScript(
  'tag_record',
  2,
  `redis.call('SADD', KEYS[1], unpack(ARGV, 3))
local ttl = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
local mark = tonumber(redis.call('GET', KEYS[2]))
if mark ~= nil and mark > tonumber(ARGV[2]) then return 0 end
return 1`,
);

/** KEYS: tag set, mark. ARGV: clock value, mark ttl ms → the set's members. The mark only moves forward. */
export const TAG_MARK_AND_READ = luaScript(
  'tag_mark_and_read',
  2,
  `local current = tonumber(redis.call('GET', KEYS[2]))
local mark = tonumber(ARGV[1])
if current ~= nil and current > mark then mark = current end
redis.call('SET', KEYS[2], mark, 'PX', ARGV[2])
return redis.call('SMEMBERS', KEYS[1])`,
);

/** KEYS: clock. ARGV: ttl ms → the new clock value. */
export const TAG_CLOCK_TICK = luaScript(
  'tag_clock_tick',
  1,
  `local value = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return value`,
);

export interface TagInvalidation {
  /** Member keys that existed and were unlinked. */
  readonly unlinked: number;
  /** Every member key named by the tags, sorted (drop them from L1 too: `ReadThroughCache.forgetRemoved`). */
  readonly keys: string[];
  /** CDN paths of the values that carried the tags, sorted, without duplicates. */
  readonly cdnPaths: string[];
}

export class TagIndex {
  readonly staleTtlSeconds: number;
  readonly markTtlMs: number;

  constructor(
    private readonly store: TagStore,
    private readonly keys: CacheKeys,
    options: TagIndexOptions = {},
  ) {
    this.staleTtlSeconds = options.staleTtlSeconds ?? 300;
    this.markTtlMs = options.markTtlMs ?? DEFAULT_TAG_MARK_TTL_MS;
    if (!Number.isFinite(this.staleTtlSeconds) || this.staleTtlSeconds < 0) throw new RangeError(`staleTtlSeconds must be a non-negative number, got ${options.staleTtlSeconds}`);
    if (!Number.isInteger(this.markTtlMs) || this.markTtlMs < 1000) throw new RangeError(`markTtlMs must be an integer of at least 1000 ms, got ${options.markTtlMs}`);
  }

  /** The invalidation clock now. Take it BEFORE reading the origin; pass it to {@link record}. */
  async ticket(): Promise<number> {
    return Number((await this.store.get(this.keys.tagClock())) ?? 0);
  }

  /**
   * Records `key` (and its CDN `paths`) in the set of each tag, for an entry whose soft TTL is
   * `ttlSeconds`. Call it after the origin read and BEFORE the fill. Resolves false when one of the
   * tags was invalidated after `ticket`: the value may predate that write and must not be cached.
   */
  async record(ticket: number, key: string, paths: readonly string[], tags: readonly string[], ttlSeconds: number): Promise<boolean> {
    if (tags.length === 0) return true;
    const setTtlMs = Math.ceil(ttlSeconds * 1.1 * 1000 + this.staleTtlSeconds * 1000 + TAG_SET_MARGIN_MS);
    const replies = await Promise.all(
      [...new Set(tags)].map((tag) => this.store.eval(TAG_RECORD, [this.keys.tagSet(tag), this.keys.tagMark(tag)], [setTtlMs, ticket, key, ...paths])),
    );
    return replies.every((reply) => Number(reply) === 1);
  }

  /**
   * Removes every key carrying one of `tags` (with its coalescing lock, so a fill in flight is
   * refused) and empties the tag sets of what it read: a member recorded meanwhile stays for the next
   * invalidation. Returns the CDN paths of what it removed. Redis errors propagate (the caller retries,
   * or publishes the tags for the purge pipeline).
   */
  async invalidate(tags: readonly string[]): Promise<TagInvalidation> {
    const unique = [...new Set(tags)];
    if (unique.length === 0) return { unlinked: 0, keys: [], cdnPaths: [] };
    const clock = Number(await this.store.eval(TAG_CLOCK_TICK, [this.keys.tagClock()], [TAG_CLOCK_TTL_MS]));
    const read = await Promise.all(
      unique.map(async (tag) => {
        const members = (await this.store.eval(TAG_MARK_AND_READ, [this.keys.tagSet(tag), this.keys.tagMark(tag)], [clock, this.markTtlMs])) as string[];
        return { tag, members };
      }),
    );
    const keys = new Set<string>();
    const paths = new Set<string>();
    for (const { members } of read) {
      for (const member of members) {
        if (member.startsWith('/')) paths.add(member);
        else if (this.keys.owns(member)) keys.add(member);
      }
    }
    const [unlinked] = keys.size === 0 ? [0] : await Promise.all([this.store.unlink([...keys]), this.store.unlink([...keys].map((key) => this.keys.lock(key)))]);
    await Promise.all(
      read.map(async ({ tag, members }) => {
        for (let i = 0; i < members.length; i += SREM_BATCH) await this.store.srem(this.keys.tagSet(tag), members.slice(i, i + SREM_BATCH));
      }),
    );
    return { unlinked, keys: [...keys].sort(), cdnPaths: [...paths].sort() };
  }
}

/** Times a tagged value is read again when one of its tags was invalidated during the read. */
export const MAX_TAGGED_READS = 3;

export interface TaggedLoaderOptions<T> {
  /** The cache key the value is filled under. */
  readonly key: string;
  /** CDN paths the value is served under (purged with the tag). */
  readonly paths: readonly string[];
  /** Soft TTL of the entry, in seconds (sizes the tag sets' life). */
  readonly ttlSeconds: number;
  /** The origin read. */
  readonly load: () => Promise<NonNullable<Loaded<T>> | null>;
  /** The tags of a loaded value. */
  readonly tagsOf: (value: T) => readonly string[];
  /** Redis failures while tagging are reported here; the value is then served uncached. @default - ignored */
  readonly onError?: (error: unknown) => void;
}

/**
 * The loader of a tagged value: ticket, origin read, record in every tag set, and only then the fill
 * (by the cache, when this loader returns). When a tag was invalidated during the read, reads again
 * (at most {@link MAX_TAGGED_READS} times); when that keeps happening, or Redis fails while tagging,
 * the value is answered but not cached (`cache: false`), so that no untracked entry can outlive a write.
 */
export function taggedLoader<T>(index: TagIndex, options: TaggedLoaderOptions<T>): Loader<T> {
  const fail = (error: unknown): undefined => {
    options.onError?.(error);
    return undefined;
  };
  return async () => {
    for (let read = 1; ; read++) {
      const ticket = await index.ticket().catch(fail);
      const loaded = await options.load();
      if (loaded === null) return null;
      const tags = options.tagsOf(loaded.value);
      if (tags.length === 0) return loaded;
      const recorded = ticket === undefined ? undefined : await index.record(ticket, options.key, options.paths, tags, loaded.ttlSeconds ?? options.ttlSeconds).catch(fail);
      if (recorded === true) return loaded;
      if (recorded === undefined || read >= MAX_TAGGED_READS) return { ...loaded, cache: false };
    }
  };
}
