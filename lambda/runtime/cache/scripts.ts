/**
 * The Lua scripts of the read path. Each touches an entry and its lock, which share a hash slot
 * (`CacheKeys.lock`), so they run atomically on one shard in cluster mode too.
 */
import { luaScript } from './cache-client';
import { ENVELOPE_FORMAT } from './envelope';

/**
 * The coalescing lock's default TTL (`ReadThroughCache` `lock.ttlMs`): a fill lands within it or is
 * refused, so it is also how long a fill can stay in flight (the pattern purge's second pass waits it out).
 */
export const DEFAULT_LOCK_TTL_MS = 3_000;

/** How a fill may treat an entry that is already there. */
export enum FillMode {
  /** The loader held the coalescing lock: write only if the lock is still ours (then release it) and no newer version is stored. */
  LOCKED = 'locked',
  /**
   * The loader gave up waiting for a lock holder (lost, or slow): write only into an empty slot, and
   * only while the lock is still held by the holder it gave up on (the token is that holder's). A
   * write (tombstone, write-through) or a purge since then dropped that lock, so a value loaded
   * before them is refused even when the purge also removed the write's tombstone.
   */
  UNLOCKED = 'unlocked',
  /**
   * The write path (write-through): authoritative, refused only by a strictly newer stored version.
   * It also drops the coalescing lock, so that a fill whose load began before the write (and so may
   * carry "not found" or an older unversioned value) is refused as `FILL_LOCK_LOST` instead of
   * landing on top of the write.
   */
  WRITE = 'write',
}

/** Script replies: the entry was written, refused (a newer or conflicting entry is there), or the lock was lost. */
export const FILL_WRITTEN = 1;
export const FILL_REFUSED = 0;
export const FILL_LOCK_LOST = -1;

/**
 * KEYS: entry, lock. ARGV: envelope, ttl ms, version ('' = none), mode, lock token (LOCKED: the
 * loader's own; UNLOCKED: the holder it gave up on).
 * A fill never replaces an entry (value or tombstone) carrying a higher `ver`; an unversioned fill
 * never replaces a tombstone, because it cannot prove it read the origin after the write.
 */
export const FILL = luaScript(
  'cache_fill',
  2,
  `local mode = ARGV[4]
if mode == '${FillMode.LOCKED}' then
  if redis.call('GET', KEYS[2]) ~= ARGV[5] then return ${FILL_LOCK_LOST} end
  redis.call('DEL', KEYS[2])
elseif mode == '${FillMode.UNLOCKED}' then
  if redis.call('GET', KEYS[2]) ~= ARGV[5] then return ${FILL_LOCK_LOST} end
elseif mode == '${FillMode.WRITE}' then
  redis.call('DEL', KEYS[2])
end
local current = redis.call('GET', KEYS[1])
if current then
  if mode == '${FillMode.UNLOCKED}' then return ${FILL_REFUSED} end
  local ok, entry = pcall(cjson.decode, current)
  if ok and type(entry) == 'table' and entry.f == ${ENVELOPE_FORMAT} then
    local existing = tonumber(entry.ver)
    local incoming = tonumber(ARGV[3])
    if existing ~= nil then
      if incoming == nil then
        if mode ~= '${FillMode.WRITE}' then return ${FILL_REFUSED} end
      elseif incoming < existing then
        return ${FILL_REFUSED}
      end
    elseif entry.t == 1 and incoming == nil and mode ~= '${FillMode.WRITE}' then
      return ${FILL_REFUSED}
    end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ${FILL_WRITTEN}`,
);

/**
 * KEYS: entry, lock. ARGV: version. Removes the entry and its lock (one `UNLINK`, as a plain purge
 * does) unless the entry carries a version above ARGV[1]: that one was written after the change the
 * purge is for, and stays, with its lock. Replies how many keys existed.
 */
export const UNLINK_UP_TO_VERSION = luaScript(
  'cache_unlink_up_to_version',
  2,
  `local current = redis.call('GET', KEYS[1])
if current then
  local ok, entry = pcall(cjson.decode, current)
  if ok and type(entry) == 'table' and entry.f == ${ENVELOPE_FORMAT} then
    local existing = tonumber(entry.ver)
    if existing ~= nil and existing > tonumber(ARGV[1]) then return 0 end
  end
end
return redis.call('UNLINK', KEYS[1], KEYS[2])`,
);

/**
 * KEYS: entry, lock. ARGV: tombstone envelope, ttl ms, version.
 * Drops the lock (so an in-flight locked fill is refused) and writes the tombstone unless an entry
 * with the same or a higher version is already stored.
 */
export const TOMBSTONE = luaScript(
  'cache_tombstone',
  2,
  `redis.call('DEL', KEYS[2])
local current = redis.call('GET', KEYS[1])
if current then
  local ok, entry = pcall(cjson.decode, current)
  if ok and type(entry) == 'table' and entry.f == ${ENVELOPE_FORMAT} then
    local existing = tonumber(entry.ver)
    if existing ~= nil and existing >= tonumber(ARGV[3]) then return ${FILL_REFUSED} end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ${FILL_WRITTEN}`,
);

/**
 * KEYS: entry, lock. ARGV: token, ttl ms, now ms. Replies `{1, false}` when the lock was taken,
 * `{0, entry}` when a fresh entry is already stored (a holder filled it between our GET and now),
 * `{0, false, holder}` when another holder has the lock (its token: a reader that gives up waiting
 * fills only while that holder still has it, see FillMode.UNLOCKED). Checking and locking in one step closes the race in
 * which a reader misses, the holder fills and unlocks, and the reader then locks and loads again.
 * Freshness is read from the envelope's fixed head (`{"f":1,"s":…,"x":…`) without decoding the value.
 */
export const ACQUIRE = luaScript(
  'cache_acquire',
  2,
  `local current = redis.call('GET', KEYS[1])
if current then
  local expiry = tonumber(string.match(current, '^{"f":${ENVELOPE_FORMAT},"s":%-?%d+,"x":(%-?%d+)[,}]'))
  if expiry ~= nil and expiry > tonumber(ARGV[3]) then return {0, current} end
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1, false} end
return {0, false, redis.call('GET', KEYS[2])}`,
);

/** KEYS: lock. ARGV: token. Deletes the lock only if it is still ours. */
export const RELEASE_LOCK = luaScript(
  'cache_release_lock',
  1,
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
);
