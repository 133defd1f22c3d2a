/**
 * One user's profile changes, one at a time: a short per-user turn (a Redis lock) during which a
 * PATCH takes the version of its change, merges it into the cached profile and enqueues it. So, for
 * one user, version order = cache merge order = queue order, and two concurrent PATCHes cannot each
 * merge into a profile that lacks the other's fields.
 *
 * Versions are a hybrid logical clock per user, issued in the same script that grants the turn:
 *
 *   next = max(last + 1, Redis server time in microseconds)
 *
 * - monotonic across every Lambda instance: all of them use the same counter key, and a script runs
 *   atomically on the master owning it (the turn, the counter and the cached profile share the
 *   user's hash tag, so this holds in cluster mode too);
 * - it survives the loss of the counter (TTL expiry, eviction, a failover that lost the last writes,
 *   a flushed cache): the next value restarts from the wall clock, already above every version
 *   issued earlier unless that was within the clock skew between two Redis nodes — NTP keeps that to
 *   milliseconds, while losing a key takes seconds;
 * - PostgreSQL evaluates the same rule (`greatest(profile_version + 1, now in µs)`) for the direct
 *   write used while Redis is down, so its versions interleave with the ones Redis issued before.
 *
 * Microseconds since the epoch are about 1.8 × 10^15 today, below 2^53 (JavaScript numbers, Lua
 * doubles) until the year 2255, and far below the bigint range of `users.profile_version`.
 */
import { randomUUID } from 'node:crypto';
import { ConflictError, luaScript, type CacheClient, type CacheKeys } from 'cache-pyramid/runtime';

/** The turn of one change: its version, and the call that ends the turn. */
export interface ProfileTurn {
  readonly version: number;
  /** Ends the turn (compare-and-delete: a turn that outlived its lock never ends another's). */
  end(): Promise<void>;
}

export interface ProfileSequencerOptions {
  /** Life of a turn: a holder that dies frees it after this. @default 5000 */
  readonly turnTtlMs?: number;
  /** How long a change waits for the user's previous change to finish before a 409. @default 2000 */
  readonly waitMs?: number;
  /** First poll interval while waiting; doubles up to 8×, with jitter. @default 10 */
  readonly pollMs?: number;
  /** Life of the counter key; losing it is harmless, so this only frees memory of idle users. @default 86400 */
  readonly counterTtlSeconds?: number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Math.random */
  readonly random?: () => number;
}

/** KEYS: turn, counter. ARGV: token, turn ttl ms, counter ttl s. Replies 0 when another change holds the turn, else the version. */
const BEGIN_TURN = luaScript(
  'profile_begin_turn',
  2,
  `if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
local nextVersion = math.max(last + 1, now)
redis.call('SET', KEYS[2], string.format('%d', nextVersion), 'EX', tonumber(ARGV[3]))
return string.format('%d', nextVersion)`,
);

/** KEYS: turn. ARGV: token. */
const END_TURN = luaScript(
  'profile_end_turn',
  1,
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
);

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class ProfileSequencer {
  private readonly turnTtlMs: number;
  private readonly waitMs: number;
  private readonly pollMs: number;
  private readonly counterTtlSeconds: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(
    private readonly client: Pick<CacheClient, 'eval'>,
    private readonly keys: CacheKeys,
    options: ProfileSequencerOptions = {},
  ) {
    this.turnTtlMs = options.turnTtlMs ?? 5000;
    this.waitMs = options.waitMs ?? 2000;
    this.pollMs = options.pollMs ?? 10;
    this.counterTtlSeconds = options.counterTtlSeconds ?? 86_400;
    for (const [name, value] of Object.entries({ turnTtlMs: this.turnTtlMs, waitMs: this.waitMs, pollMs: this.pollMs, counterTtlSeconds: this.counterTtlSeconds })) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`ProfileSequencer ${name} must be a positive integer, got ${value}`);
    }
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
  }

  /**
   * Waits for the user's turn and returns it with the change's version. Throws ConflictError when
   * another change of the user holds the turn for longer than `waitMs`, and CacheUnavailableError
   * when Redis cannot answer (the caller then writes to PostgreSQL directly).
   */
  async begin(userId: number): Promise<ProfileTurn> {
    const turnKey = this.keys.lock(this.keys.userProfile(userId));
    const counterKey = this.keys.profileVersion(userId);
    const token = randomUUID();
    let waited = 0;
    for (let attempt = 0; ; attempt++) {
      const reply = await this.client.eval(BEGIN_TURN, [turnKey, counterKey], [token, this.turnTtlMs, this.counterTtlSeconds]);
      const version = Number(reply);
      if (version !== 0) {
        if (!Number.isSafeInteger(version) || version < 1) throw new Error(`profile sequencer returned ${JSON.stringify(reply)}`);
        return { version, end: async () => void (await this.client.eval(END_TURN, [turnKey], [token])) };
      }
      if (waited >= this.waitMs) {
        throw new ConflictError(`another profile change of user ${userId} is still being accepted; retry`);
      }
      const delay = Math.max(1, Math.min(this.waitMs - waited, Math.round(this.pollMs * Math.min(2 ** attempt, 8) * (0.5 + this.random()))));
      await this.sleep(delay);
      waited += delay;
    }
  }
}
