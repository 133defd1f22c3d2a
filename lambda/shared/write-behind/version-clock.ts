/**
 * Versions of profile changes: a hybrid logical clock per user, kept in Redis.
 *
 *   next = max(last + 1, Redis server time in microseconds)
 *
 * computed and stored by one Lua script on the master that owns the user's counter key, so:
 * - it is monotonic across every Lambda instance: all of them increment the same key, and a script
 *   runs atomically on that key's master (in cluster mode the key shares the user's hash tag);
 * - it survives the loss of the key (TTL expiry, eviction, a failover that lost the last writes,
 *   a flushed cache): the next value restarts from the wall clock, which is already above every
 *   version issued earlier unless that was within the clock skew between two Redis nodes — NTP
 *   keeps that to milliseconds, while losing a key takes seconds;
 * - the same rule can be evaluated by PostgreSQL (`greatest(profile_version + 1, now in µs)`) when
 *   Redis is down, and its versions interleave correctly with the ones Redis issued before.
 *
 * Microseconds since the epoch are about 1.8 × 10^15 today, below 2^53 (JavaScript numbers, Lua
 * doubles) until the year 2255, and far below the bigint range of `users.profile_version`.
 */
import type { CacheKeys } from '../keys';

/** Issues the version of a user's next profile change. */
export interface ProfileVersionClock {
  next(userId: number): Promise<number>;
}

/** The few ioredis methods the clock needs (a `Redis` or a `Cluster` fits). */
export interface ScriptRunner {
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

const NEXT_VERSION_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local nextVersion = math.max(last + 1, now)
redis.call('SET', KEYS[1], string.format('%d', nextVersion), 'EX', tonumber(ARGV[1]))
return string.format('%d', nextVersion)
`;

export interface RedisProfileVersionClockOptions {
  /**
   * Lifetime of a user's counter key. Losing it is harmless (the clock restarts from the wall
   * clock), so it only bounds memory for users who stopped editing. @default 86400
   */
  readonly counterTtlSeconds?: number;
}

export class RedisProfileVersionClock implements ProfileVersionClock {
  private readonly counterTtlSeconds: number;

  constructor(
    private readonly redis: ScriptRunner,
    private readonly keys: CacheKeys,
    options: RedisProfileVersionClockOptions = {},
  ) {
    this.counterTtlSeconds = options.counterTtlSeconds ?? 86_400;
    if (!Number.isInteger(this.counterTtlSeconds) || this.counterTtlSeconds < 1) {
      throw new RangeError(`counterTtlSeconds must be a positive integer, got ${options.counterTtlSeconds}`);
    }
  }

  /** Throws whatever the Redis client throws (timeout, connection refused): callers fall back. */
  async next(userId: number): Promise<number> {
    const reply = await this.redis.eval(NEXT_VERSION_SCRIPT, 1, this.keys.profileVersion(userId), this.counterTtlSeconds);
    const version = Number(reply);
    if (!Number.isSafeInteger(version) || version < 1) throw new Error(`version clock returned ${JSON.stringify(reply)}`);
    return version;
  }
}
