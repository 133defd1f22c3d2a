/**
 * Generic tags: a cached value may carry tags (`category:garden`, `product:42`), and
 * `invalidate(tags)` makes every value carrying one of them unreadable, in cluster mode too, and
 * yields the CDN paths under which those values were served.
 *
 * Layout, per tag, in one hash slot (`CacheKeys.tagSet`, `CacheKeys.tagMark`):
 * - the mark holds the invalidation clock's value at the tag's last invalidation;
 * - the tag set (a sorted set) holds the cache keys carrying the tag and the CDN paths of their
 *   answers (members starting with `/`), each scored with the ticket of its latest record, plus a
 *   sentinel member (`#`, scored +inf) that says the set is whole.
 * The invalidation clock (`CacheKeys.tagClock`) is one counter for the app, ticked by every
 * invalidation; it never runs below the clock of the Redis node that holds it (ms), so losing the
 * key (eviction) restarts it above every mark instead of at 0.
 *
 * **Invalidation that eviction cannot undo (lazy marks).** Every tagged entry stores its tags and its
 * ticket (the clock when its origin read began; envelope `g`/`e`). A read fetches the tags' marks
 * with the entry (one round trip: see ReadThroughCache) and treats the entry as gone when a mark is
 * above its ticket, or missing: a fill makes sure every tag it carries has a mark living longer than
 * the entry, so a missing mark can only mean it was evicted, and an entry that cannot prove it is
 * current is not served. A full Redis evicting the tag sets therefore cannot keep a value alive after
 * its tag was invalidated. The tag sets serve what can only be done eagerly: unlinking the entries
 * (memory, locks of fills in flight) and finding the CDN paths to purge. A tag whose set is gone
 * (evicted, or nothing recorded within its life) is reported in `unknownTags`: its paths are unknown,
 * and the caller purges the wildcard of what carries it (the shop's writer: every list path).
 *
 * The race this closes at fill time (generalising lambda/shop/write-path/list-tags.ts): a reader
 * loads a value (old data), a writer commits and invalidates its tag, and only then does the reader
 * record its key and cache the value. Hence the reader's order: ticket BEFORE the origin read,
 * record the key in every tag set, and only then fill; and the writer's: commit, tick the clock,
 * mark each tag and read its members in one step, unlink each member WITH its coalescing lock in one
 * command (a fill holding that lock either landed before, and is unlinked, or is refused), and only
 * after the CDN paths are safe (forwarded, or carried by the retried message) remove the members it
 * invalidated: those scored below its tick. A member recorded again after the read with a newer
 * ticket stays, so a later write still finds that page; one recorded with an older ticket was
 * refused by the mark (and would be unreadable anyway).
 *
 * A record finding no mark (first use of the tag, or the mark evicted) creates it at its ticket,
 * which is only right if no invalidation happened since the ticket: it then reads the clock again,
 * and refuses the fill unless the clock has not moved.
 */
import { CacheKeys } from '../keys';
import type { CacheClient } from './cache-client';
import { luaScript, LuaScript } from './cache-client';
import type { Envelope } from './envelope';
import type { Loaded, Loader } from './read-through';

/** The operations the tag index needs; `CacheClient` fits, and the purge core adapts a raw ioredis client. */
export interface TagStore {
  /** In cluster mode every key of one call shares a slot. */
  eval(script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
  /**
   * UNLINK, grouped per slot in cluster mode, keeping the order of `keys` in batches of an even
   * size: a key and the lock after it (same slot) go in one command. Returns how many existed.
   */
  unlink(keys: readonly string[]): Promise<number>;
}

export interface TagIndexOptions {
  /** Stale window of the cached entries past their soft TTL; a tag set and its mark outlive their members' whole life. @default 300 */
  readonly staleTtlSeconds?: number;
  /** Shortest life of a mark set by an invalidation (records extend it to outlive their entries). @default DEFAULT_TAG_MARK_TTL_MS */
  readonly markTtlMs?: number;
}

/** A mark outlives any fill that could follow a load begun before it (the lock TTL, the hard timeout). */
export const DEFAULT_TAG_MARK_TTL_MS = 15 * 60_000;
/** The clock lives this long after the last invalidation (refreshed by every tick). */
export const TAG_CLOCK_TTL_MS = 30 * 86_400_000;
/** Tag sets and marks live this much longer than the longest life of a member entry. */
const TAG_SET_MARGIN_MS = 60_000;
/** The member that says a tag set is whole (never removed by an invalidation). */
export const TAG_SET_SENTINEL = '#';

/** Lua: the node's clock in ms. */
const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS: clock. ARGV: ttl ms → the clock (created at the node's time when missing). */
export const TAG_CLOCK_READ = luaScript(
  'tag_clock_read',
  1,
  `local value = redis.call('GET', KEYS[1])
if value then return value end
${NOW_MS}
redis.call('SET', KEYS[1], string.format('%.0f', now), 'PX', ARGV[1])
return string.format('%.0f', now)`,
);

/** KEYS: clock. ARGV: ttl ms → the new clock value: one above the last, and never below the node's time. */
export const TAG_CLOCK_TICK = luaScript(
  'tag_clock_tick',
  1,
  `${NOW_MS}
local value = tonumber(redis.call('GET', KEYS[1]))
if value == nil or value < now then value = now else value = value + 1 end
redis.call('SET', KEYS[1], string.format('%.0f', value), 'PX', ARGV[1])
return string.format('%.0f', value)`,
);

/** Record replies. */
const RECORDED = 1;
const REFUSED = 0;
const MARK_CREATED = 2;

/**
 * KEYS: tag set, mark. ARGV: ttl ms, ticket, member… → 1 when no invalidation marked the tag after
 * `ticket`, 0 when one did, 2 when the tag had no mark (created at `ticket`; see the module comment).
 * Members keep the highest ticket they were recorded with; set and mark live at least `ttl`.
 */
export const TAG_RECORD = luaScript(
  'tag_record',
  2,
  `local ttl = tonumber(ARGV[1])
local args = {'ZADD', KEYS[1], 'GT'}
for i = 3, #ARGV do
  args[#args + 1] = ARGV[2]
  args[#args + 1] = ARGV[i]
end
redis.call(unpack(args))
redis.call('ZADD', KEYS[1], 'NX', '+inf', '${TAG_SET_SENTINEL}')
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
local mark = tonumber(redis.call('GET', KEYS[2]))
if mark == nil then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ttl)
  return ${MARK_CREATED}
end
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
if mark > tonumber(ARGV[2]) then return ${REFUSED} end
return ${RECORDED}`,
);

/**
 * KEYS: tag set, mark. ARGV: clock value, mark ttl ms → the set's members (empty when the set is
 * gone). The mark only moves forward and its life is never shortened.
 */
export const TAG_MARK_AND_READ = luaScript(
  'tag_mark_and_read',
  2,
  `local current = tonumber(redis.call('GET', KEYS[2]))
local mark = tonumber(ARGV[1])
if current ~= nil and current > mark then mark = current end
local ttl = math.max(tonumber(ARGV[2]), redis.call('PTTL', KEYS[2]))
redis.call('SET', KEYS[2], string.format('%.0f', mark), 'PX', ttl)
return redis.call('ZRANGE', KEYS[1], 0, -1)`,
);

/** KEYS: tag set. ARGV: clock value → removes the members recorded with a ticket below it (the ones its invalidation made unreadable). */
export const TAG_CLEANUP = luaScript('tag_cleanup', 1, `return redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])`);

export interface TagInvalidation {
  /** Member keys that existed and were unlinked (their locks included). */
  readonly unlinked: number;
  /** Every member key named by the tags, sorted (drop them from L1 too: `ReadThroughCache.forgetTagged`). */
  readonly keys: string[];
  /** CDN paths of the values that carried the tags, sorted, without duplicates. */
  readonly cdnPaths: string[];
  /**
   * Tags whose set was gone (evicted, or nothing recorded under them within its life): their values
   * are unreadable all the same, but their CDN paths are unknown, so purge the wildcard of what carries them.
   */
  readonly unknownTags: string[];
  /** The clock value of this invalidation (what `cleanup` removes members below). */
  readonly clock: number;
}

export interface InvalidateOptions {
  /**
   * Leave the members in the tag sets; the caller calls {@link TagIndex.cleanup} once the CDN paths
   * are safe (forwarded to the CDN purge, or carried by a message that will be retried), so that a
   * retry after a failure in between finds them again. @default false
   */
  readonly deferCleanup?: boolean;
}

/** True when `mark` (the raw value of a tag's mark) shows the entry stored at `ticket` is still current: present and not above it. */
export function markAllows(mark: string | null | undefined, ticket: number): boolean {
  if (mark === null || mark === undefined) return false;
  const value = Number(mark);
  return Number.isFinite(value) && value <= ticket;
}

/** Whether `entry`, if tagged, is still current by the marks read for its tags (in the order of `entry.g`, from `marks[offset]`). */
export function entryCurrent(entry: Envelope, marks: readonly (string | null)[], offset = 0): boolean {
  if (entry.g === undefined) return true;
  for (let i = 0; i < entry.g.length; i++) if (!markAllows(marks[offset + i], entry.e!)) return false;
  return true;
}

/** Reads the marks of `tags` (in their order) through `client`: one MGET, one per slot in cluster mode. */
export function readMarks(client: Pick<CacheClient, 'mget'>, keys: CacheKeys, tags: readonly string[]): Promise<(string | null)[]> {
  return client.mget(tags.map((tag) => keys.tagMark(tag)));
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
    return Number(await this.store.eval(TAG_CLOCK_READ, [this.keys.tagClock()], [TAG_CLOCK_TTL_MS]));
  }

  /**
   * Records `key` (and its CDN `paths`) in the set of each tag, for an entry whose soft TTL is
   * `ttlSeconds`, and makes sure each tag has a mark that outlives the entry. Call it after the
   * origin read and BEFORE the fill. Resolves false when one of the tags was (or may have been)
   * invalidated after `ticket`: the value may predate that write and must not be cached.
   */
  async record(ticket: number, key: string, paths: readonly string[], tags: readonly string[], ttlSeconds: number): Promise<boolean> {
    if (tags.length === 0) return true;
    const ttlMs = Math.ceil(ttlSeconds * 1.1 * 1000 + this.staleTtlSeconds * 1000 + TAG_SET_MARGIN_MS);
    const replies = await Promise.all(
      [...new Set(tags)].map((tag) => this.store.eval(TAG_RECORD, [this.keys.tagSet(tag), this.keys.tagMark(tag)], [ttlMs, ticket, key, ...paths])),
    );
    const codes = replies.map(Number);
    if (codes.some((code) => code === REFUSED)) return false;
    // A mark was missing: created at `ticket`, which hides nothing only if no invalidation ticked since.
    if (codes.some((code) => code === MARK_CREATED)) return (await this.ticket()) === ticket;
    return true;
  }

  /**
   * Makes every value carrying one of `tags` unreadable (marks above every ticket taken so far),
   * unlinks the members the sets name, each with its coalescing lock in one command (so a fill in
   * flight is refused), and, unless `deferCleanup`, removes them from the sets. Returns the CDN paths
   * of what the sets named. Redis errors propagate (the caller retries, or publishes the tags for the
   * purge pipeline).
   */
  async invalidate(tags: readonly string[], options: InvalidateOptions = {}): Promise<TagInvalidation> {
    const unique = [...new Set(tags)];
    if (unique.length === 0) return { unlinked: 0, keys: [], cdnPaths: [], unknownTags: [], clock: 0 };
    for (const tag of unique) this.keys.tagSet(tag);
    const clock = Number(await this.store.eval(TAG_CLOCK_TICK, [this.keys.tagClock()], [TAG_CLOCK_TTL_MS]));
    const read = await Promise.all(
      unique.map(async (tag) => ({ tag, members: (await this.store.eval(TAG_MARK_AND_READ, [this.keys.tagSet(tag), this.keys.tagMark(tag)], [clock, this.markTtlMs])) as string[] })),
    );
    const keys = new Set<string>();
    const paths = new Set<string>();
    for (const { members } of read) {
      for (const member of members) {
        if (member.startsWith('/')) paths.add(member);
        else if (this.keys.owns(member)) keys.add(member);
      }
    }
    const unlinked = keys.size === 0 ? 0 : await this.store.unlink([...keys].flatMap((key) => [this.keys.lock(key), key]));
    if (!options.deferCleanup) await this.cleanup(unique, clock);
    const unknownTags = read.filter(({ members }) => !members.includes(TAG_SET_SENTINEL)).map(({ tag }) => tag);
    return { unlinked, keys: [...keys].sort(), cdnPaths: [...paths].sort(), unknownTags, clock };
  }

  /**
   * Removes from the sets of `tags` the members the invalidation at `clock` made unreadable (recorded
   * with an older ticket). Idempotent; a member recorded again since with a newer ticket stays.
   */
  async cleanup(tags: readonly string[], clock: number): Promise<void> {
    await Promise.all([...new Set(tags)].map((tag) => this.store.eval(TAG_CLEANUP, [this.keys.tagSet(tag)], [clock])));
  }

  /**
   * The loader of a tagged value: ticket, origin read, record in every tag set, and only then the fill
   * (by the cache, when this loader returns), the entry carrying its tags and ticket. When a tag was
   * invalidated during the read, reads again (at most {@link MAX_TAGGED_READS} times); when that
   * keeps happening, or Redis fails while tagging, the value is answered but not cached (`cache: false`).
   */
  loader<T>(options: TaggedLoaderOptions<T>): Loader<T> {
    const fail = (error: unknown): undefined => {
      options.onError?.(error);
      return undefined;
    };
    return async () => {
      for (let read = 1; ; read++) {
        const ticket = await this.ticket().catch(fail);
        const loaded = await options.load();
        if (loaded === null) return null;
        const tags = [...new Set(options.tagsOf(loaded.value))];
        if (tags.length === 0) return loaded;
        const recorded = ticket === undefined ? undefined : await this.record(ticket, options.key, options.paths, tags, loaded.ttlSeconds ?? options.ttlSeconds).catch(fail);
        if (recorded === true) return { ...loaded, tagged: { tags, ticket: ticket! } };
        if (recorded === undefined || read >= MAX_TAGGED_READS) return { ...loaded, cache: false };
      }
    };
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

/** `index.loader(options)`: see {@link TagIndex.loader}. */
export function taggedLoader<T>(index: TagIndex, options: TaggedLoaderOptions<T>): Loader<T> {
  return index.loader(options);
}
