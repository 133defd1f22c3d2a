/**
 * The TTL table (seed defaults, overridable per stack through the `CACHE_TTLS` JSON environment
 * variable) and the jitter that keeps keys written together from expiring together.
 */
export enum TtlClass {
  USER_PROFILE = 'user_profile',
  PRODUCT_LIST = 'product_list',
  PRODUCT = 'product',
  CONFIG = 'config',
  ANALYTICS = 'analytics',
  ORDER = 'order',
  NOT_FOUND = 'not_found',
}

export type TtlTable = Readonly<Record<TtlClass, number>>;

/** Seconds. `product` is the soft TTL: past it the value is served stale while it is refreshed. */
export const DEFAULT_TTL_SECONDS: TtlTable = {
  [TtlClass.USER_PROFILE]: 3600,
  [TtlClass.PRODUCT_LIST]: 300,
  [TtlClass.PRODUCT]: 3600,
  [TtlClass.CONFIG]: 86400,
  [TtlClass.ANALYTICS]: 60,
  [TtlClass.ORDER]: 3600,
  [TtlClass.NOT_FOUND]: 30,
};

/** A TTL as a class of the table (overridable per stack) or a fixed number of seconds (1 to 30 days). */
export type CacheTtl = TtlClass | number;

/** Longest fixed TTL: 30 days. */
export const MAX_TTL_SECONDS = 30 * 86400;

/** The seconds of `ttl`: its class's entry in `ttls`, or the number itself (checked: an integer from 1 to {@link MAX_TTL_SECONDS}). */
export function ttlSecondsOf(ttls: TtlTable, ttl: CacheTtl): number {
  if (typeof ttl !== 'number') return ttls[ttl];
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS) throw new RangeError(`ttl must be a TtlClass or an integer between 1 and ${MAX_TTL_SECONDS} seconds, got ${ttl}`);
  return ttl;
}

/** The in-process (L1) layer never holds a value longer than this. */
export const MAX_L1_TTL_SECONDS = 60;

/** Parses a `CACHE_TTLS` override such as `{"product": 600}` over the defaults; rejects unknown classes. */
export function parseTtlTable(json: string | undefined, base: TtlTable = DEFAULT_TTL_SECONDS): TtlTable {
  if (!json) return base;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new Error(`CACHE_TTLS must be a JSON object, got ${JSON.stringify(json)}: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`CACHE_TTLS must be a JSON object, got ${JSON.stringify(json)}`);
  }
  const known = new Set<string>(Object.values(TtlClass));
  const table: Record<string, number> = { ...base };
  for (const [name, seconds] of Object.entries(parsed)) {
    if (!known.has(name)) throw new Error(`CACHE_TTLS has unknown class ${JSON.stringify(name)}; known: ${[...known].join(', ')}`);
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 30 * 86400) {
      throw new Error(`CACHE_TTLS.${name} must be an integer between 1 and 2592000 seconds, got ${JSON.stringify(seconds)}`);
    }
    table[name] = seconds;
  }
  return table as TtlTable;
}

/**
 * `seconds` spread by up to ±`fraction` (default 10 %) so that keys written in one burst expire over
 * a window instead of in one instant. `random` is injectable for tests.
 */
export function withJitter(seconds: number, fraction = 0.1, random: () => number = Math.random): number {
  const spread = seconds * fraction;
  return Math.max(1, Math.round(seconds - spread + random() * 2 * spread));
}
