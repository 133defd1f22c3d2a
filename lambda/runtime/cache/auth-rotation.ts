/**
 * Follows a rotation of the cache's AUTH token (ElastiCache `AuthTokenUpdateStrategy` ROTATE, then
 * SET). While both tokens are valid any of them authenticates; once only the new one is, a client
 * still holding the old one is told WRONGPASS when it (re)connects. On that answer the client tries
 * the next password it knows and, when it has tried them all, re-reads the secret (at most once per
 * `minRefreshIntervalMs`), so a warm sandbox reconnects with the token ElastiCache now expects
 * instead of failing until it is recycled. ioredis reads `options.password` on every connect, so
 * changing it there is what the next reconnect uses.
 */
import Redis, { Cluster } from 'ioredis';

/** The passwords a client may authenticate with: the current one first, then the ones still valid during a rotation. */
export interface CachePasswords {
  readonly password: string;
  /** Other values that may be valid (the previous token during a rotation, or the pending one). @default - none */
  readonly alternatePasswords?: readonly string[];
}

export interface AuthRotationOptions {
  /** What the client knows at start. */
  readonly passwords: CachePasswords;
  /** Reads the secret again; without it the client only cycles through `passwords`. @default - none */
  readonly refresh?: () => Promise<CachePasswords>;
  /** Minimum time between two re-reads of the secret. @default 5000 */
  readonly minRefreshIntervalMs?: number;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
}

/** True for the server's answer to a wrong AUTH password (Redis/Valkey 6+ and older servers). */
export function isWrongPassword(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /WRONGPASS|invalid password|invalid username-password pair/i.test(message);
}

function candidatesOf(passwords: CachePasswords): string[] {
  return [...new Set([passwords.password, ...(passwords.alternatePasswords ?? [])].filter((p) => p !== ''))];
}

/** Makes `redis` move to the next known password, then to a re-read secret, whenever AUTH is refused. */
export function followAuthRotation(redis: Redis | Cluster, options: AuthRotationOptions): void {
  const minRefreshIntervalMs = options.minRefreshIntervalMs ?? 5_000;
  const now = options.now ?? Date.now;
  let candidates = candidatesOf(options.passwords);
  let index = 0;
  let refreshedAt = Number.NEGATIVE_INFINITY;
  let refreshing = false;

  const use = (password: string): void => {
    if (redis instanceof Cluster) {
      (redis.options.redisOptions ??= {}).password = password;
      for (const node of redis.nodes()) node.options.password = password;
    } else {
      redis.options.password = password;
    }
  };

  const onError = (error: unknown): void => {
    if (!isWrongPassword(error)) return;
    if (index + 1 < candidates.length) {
      index += 1;
      use(candidates[index]);
      return;
    }
    if (!options.refresh || refreshing || now() - refreshedAt < minRefreshIntervalMs) {
      index = 0;
      use(candidates[0]);
      return;
    }
    refreshing = true;
    refreshedAt = now();
    options
      .refresh()
      .then((fresh) => {
        candidates = candidatesOf(fresh);
        index = 0;
        use(candidates[0]);
      })
      .catch(() => {
        // Secrets Manager unreachable: keep cycling through what is known.
        index = 0;
        use(candidates[0]);
      })
      .finally(() => {
        refreshing = false;
      });
  };

  if (redis instanceof Cluster) redis.on('node error', onError);
  else redis.on('error', onError);
}
