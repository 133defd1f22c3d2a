/**
 * What a cache entry holds in Redis: a small versioned JSON envelope around the value.
 *
 * `{ "f": 1, "v": <value|null>, "s": storedAtMs, "x": softExpiryMs, "ver"?: n, "d"?: loadMs, "t"?: 1 }`
 * - `f` format version: an entry of another format (older code, another application) is a miss;
 * - `v` the value; `null` is a negative entry (the origin said "not found");
 * - `s`/`x` when it was stored and when it turns stale (the Redis TTL runs longer: the stale window);
 * - `ver` the origin's row version, which lets a write refuse an older fill (see the fill script);
 * - `d` how long the origin load took (XFetch early refresh weighs it);
 * - `t` tombstone: a short-lived marker left by a write; reads treat it as a miss;
 * - `l` the value's own soft TTL in seconds, when its loader set one (HTTP `max-age` is derived from it);
 * - `g` the value's tags and `e` the invalidation clock when its origin read began (cache/tag-index.ts):
 *   a read treats the entry as gone once one of its tags was invalidated after `e`, or its mark is lost.
 *
 * Decoding is defensive: anything malformed decodes to `undefined` (a miss), never throws.
 */
export const ENVELOPE_FORMAT = 1;

export interface Envelope<T = unknown> {
  readonly f: typeof ENVELOPE_FORMAT;
  readonly v: T | null;
  readonly s: number;
  readonly x: number;
  readonly ver?: number;
  readonly d?: number;
  readonly t?: 1;
  readonly l?: number;
  readonly g?: readonly string[];
  readonly e?: number;
}

export function encodeEnvelope<T>(entry: Omit<Envelope<T>, 'f'>): string {
  // Field order is fixed and `v` comes last, so the metadata stays readable in `redis-cli GET`.
  // JSON.stringify leaves out the fields that are undefined.
  const head: Record<string, unknown> = { f: ENVELOPE_FORMAT, s: entry.s, x: entry.x, ver: entry.ver, d: entry.d };
  if (entry.t) head.t = 1;
  head.l = entry.l;
  if (entry.g !== undefined) {
    head.g = entry.g;
    head.e = entry.e;
  }
  head.v = entry.v;
  return JSON.stringify(head);
}

/** The envelope in `raw`, or `undefined` when `raw` is absent, not JSON, or not this format. */
export function decodeEnvelope<T = unknown>(raw: string | null | undefined): Envelope<T> | undefined {
  // JSON that starts with "{" is an object or does not parse.
  if (typeof raw !== 'string' || raw[0] !== '{') return undefined;
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    // Equivalent mutant left to survive: an empty catch leaves `entry` undefined, and the format check below refuses that alike.
    return undefined;
  }
  if (entry.f !== ENVELOPE_FORMAT || !('v' in entry)) return undefined;
  if (!isFiniteNumber(entry.s) || !isFiniteNumber(entry.x)) return undefined;
  if (entry.ver !== undefined && !isFiniteNumber(entry.ver)) return undefined;
  if (entry.d !== undefined && !isFiniteNumber(entry.d)) return undefined;
  if (entry.t !== undefined && entry.t !== 1) return undefined;
  if (entry.l !== undefined && !isFiniteNumber(entry.l)) return undefined;
  // Tags come with their ticket, or not at all: tags whose marks cannot be compared would never expire.
  if (entry.g !== undefined && !(Array.isArray(entry.g) && entry.g.every((tag) => typeof tag === 'string') && isFiniteNumber(entry.e))) return undefined;
  if (entry.g === undefined && entry.e !== undefined) return undefined;
  return entry as unknown as Envelope<T>;
}

export function isTombstone(entry: Envelope): boolean {
  return entry.t === 1;
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
