/**
 * The HTTP caching policy of the API (docs/api.md, "Cache-Control"): what each kind of response
 * tells browsers and CloudFront about storing it.
 *
 * | response                                   | Cache-Control                                                    |
 * | ------------------------------------------ | ---------------------------------------------------------------- |
 * | public entity (product, list, config)      | public, max-age=<ttl>, stale-while-revalidate=<n>, stale-if-error=<n> + Vary: Accept-Encoding |
 * | answer to a request with credentials       | private, max-age=0, no-cache (no-store for secrets)              |
 * | error                                      | no-store                                                         |
 */

/** How a successful response may be stored. */
export enum Cacheability {
  /** The same for everyone: CDN and browsers may share it. */
  PUBLIC = 'public',
  /** Answers a request that carried credentials: only the user's browser, revalidated every time. */
  PRIVATE = 'private',
  /** Holds a secret: nobody stores it. */
  SECRET = 'secret',
}

export const PRIVATE_CACHE_CONTROL = 'private, max-age=0, no-cache';
export const NO_STORE = 'no-store';

/** The stale windows granted to shared caches on public responses. */
export interface StaleWindows {
  /** Seconds a cache may serve the response stale while it refetches in the background. @default 60 */
  readonly staleWhileRevalidateSeconds: number;
  /** Seconds a cache may serve the response stale when the API answers 5xx or not at all. @default 86400 */
  readonly staleIfErrorSeconds: number;
}

export const DEFAULT_STALE_WINDOWS: StaleWindows = { staleWhileRevalidateSeconds: 60, staleIfErrorSeconds: 86_400 };

function checkSeconds(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 31_536_000) {
    throw new RangeError(`${name} must be an integer number of seconds between 0 and 31536000, got ${value}`);
  }
  return value;
}

/** `public, max-age=<maxAge>, stale-while-revalidate=<n>, stale-if-error=<n>` */
export function publicCacheControl(maxAgeSeconds: number, windows: StaleWindows = DEFAULT_STALE_WINDOWS): string {
  checkSeconds('maxAgeSeconds', maxAgeSeconds);
  checkSeconds('staleWhileRevalidateSeconds', windows.staleWhileRevalidateSeconds);
  checkSeconds('staleIfErrorSeconds', windows.staleIfErrorSeconds);
  return `public, max-age=${maxAgeSeconds}, stale-while-revalidate=${windows.staleWhileRevalidateSeconds}, stale-if-error=${windows.staleIfErrorSeconds}`;
}

/**
 * Seconds a shared cache may still treat a value as fresh: its TTL minus the time it has already
 * spent in the application cache. A CDN thus never holds a value longer than the TTL counted from
 * the origin read, instead of up to twice the TTL (application cache, then CDN).
 */
export function remainingFreshnessSeconds(ttlSeconds: number, storedAtMs: number, nowMs: number): number {
  const ageSeconds = Math.max(0, Math.floor((nowMs - storedAtMs) / 1000));
  return Math.max(0, ttlSeconds - ageSeconds);
}

type Headers = Readonly<Record<string, string | undefined>>;

/**
 * True when the request carries credentials: an `Authorization` header or any cookie (payload v2
 * moves cookies out of `headers` into `cookies`, and lower-cases header names). A response to it
 * must not be stored by a shared cache (RFC 9111 §3.5), whatever route answers. Every cookie
 * counts, because this code cannot know which cookie names an application uses for sessions.
 */
export function carriesCredentials(headers: Headers | undefined, cookies: readonly string[] | undefined): boolean {
  return (cookies !== undefined && cookies.length > 0) || Boolean(headers?.authorization) || Boolean(headers?.cookie);
}

/** The Cache-Control of a successful response. */
export function cacheControlFor(cacheability: Cacheability, maxAgeSeconds: number, windows: StaleWindows = DEFAULT_STALE_WINDOWS): string {
  switch (cacheability) {
    case Cacheability.PUBLIC:
      return publicCacheControl(maxAgeSeconds, windows);
    case Cacheability.PRIVATE:
      return PRIVATE_CACHE_CONTROL;
    case Cacheability.SECRET:
      return NO_STORE;
  }
}

/** CloudFront compresses per Accept-Encoding: a shared cache must not serve one encoding for another. */
export const PUBLIC_VARY = 'Accept-Encoding';
