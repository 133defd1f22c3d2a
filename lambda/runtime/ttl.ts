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

/**
 * Seconds per TTL class: the built-in classes always, and the classes an app declared
 * ({@link ttlClass}, {@link defineTtlClasses}) once the table was parsed with them.
 */
export type TtlTable = Readonly<Record<TtlClass, number>> & Readonly<Record<string, number>>;

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

/** Longest TTL, of a class or fixed: 30 days. */
export const MAX_TTL_SECONDS = 30 * 86400;

/**
 * A TTL class of the app's own (`recipe`, `search_page`): a name and its default seconds, overridable
 * per stage like the built-in classes (`cacheTtlSeconds`, the stage table's `ttlSeconds`, `CACHE_TTLS`).
 * Made by {@link ttlClass} or {@link defineTtlClasses}, which check it.
 */
export interface DeclaredTtlClass {
  /** The name in `CACHE_TTLS` and in the overrides: 1 to 32 of `a-z 0-9 _`, starting with a letter, not a built-in class. */
  readonly name: string;
  /** Seconds when no override names the class. */
  readonly defaultSeconds: number;
}

/** A TTL: a built-in class, a declared class, or a fixed number of seconds (1 to 30 days). */
export type CacheTtl = TtlClass | DeclaredTtlClass | number;

const TTL_CLASS_NAME = /^[a-z][a-z0-9_]{0,31}$/;
const BUILT_IN_CLASSES: ReadonlySet<string> = new Set(Object.values(TtlClass));

/** True for an integer number of seconds a TTL may hold: 1 to {@link MAX_TTL_SECONDS}. */
export function isTtlSeconds(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_TTL_SECONDS;
}

/** True for a {@link DeclaredTtlClass} as {@link ttlClass} makes it (also when it comes from plain JS). */
export function isDeclaredTtlClass(value: unknown): value is DeclaredTtlClass {
  if (typeof value !== 'object' || value === null) return false;
  const { name, defaultSeconds } = value as Partial<DeclaredTtlClass>;
  return typeof name === 'string' && TTL_CLASS_NAME.test(name) && !BUILT_IN_CLASSES.has(name) && isTtlSeconds(defaultSeconds);
}

/**
 * Declares one TTL class of the app's own, e.g. `ttlClass('recipe', 600)`: use it as a resource's
 * `ttl`; its seconds come from `CACHE_TTLS` when an override names it, else `defaultSeconds`.
 */
export function ttlClass(name: string, defaultSeconds: number): DeclaredTtlClass {
  if (typeof name !== 'string' || !TTL_CLASS_NAME.test(name)) {
    throw new RangeError(`ttlClass: \`name\` must be 1 to 32 of a-z 0-9 _ starting with a letter, got ${JSON.stringify(name)}`);
  }
  if (BUILT_IN_CLASSES.has(name)) {
    throw new RangeError(`ttlClass: \`name\` ${JSON.stringify(name)} is a built-in class; use TtlClass.${builtInKey(name)} (overridable the same way) or another name`);
  }
  if (!isTtlSeconds(defaultSeconds)) {
    throw new RangeError(`ttlClass ${name}: \`defaultSeconds\` must be an integer between 1 and ${MAX_TTL_SECONDS}, got ${JSON.stringify(defaultSeconds)}`);
  }
  return Object.freeze({ name, defaultSeconds });
}

/**
 * Declares several TTL classes at once: `defineTtlClasses({ recipe: 600, recipe_list: 120 })` gives
 * `{ recipe: DeclaredTtlClass, recipe_list: DeclaredTtlClass }`, each checked as {@link ttlClass} does.
 */
export function defineTtlClasses<T extends Record<string, number>>(classes: T): { readonly [K in keyof T]: DeclaredTtlClass } {
  if (typeof classes !== 'object' || classes === null || Array.isArray(classes)) {
    throw new RangeError(`defineTtlClasses: the argument must be an object of class name to default seconds, got ${JSON.stringify(classes)}`);
  }
  return Object.freeze(Object.fromEntries(Object.entries(classes).map(([name, seconds]) => [name, ttlClass(name, seconds)]))) as { readonly [K in keyof T]: DeclaredTtlClass };
}

function builtInKey(name: string): string {
  return Object.entries(TtlClass).find(([, value]) => value === name)![0];
}

/** Describes what a `ttl` may be, for error messages. */
export const TTL_RULE = `a TtlClass (${Object.values(TtlClass).join(', ')}), a class from ttlClass()/defineTtlClasses(), or an integer number of seconds between 1 and ${MAX_TTL_SECONDS}`;

/**
 * The seconds of `ttl`: a built-in class's entry in `ttls`, a declared class's entry (its
 * `defaultSeconds` when the table has none), or the number itself (checked: an integer from 1 to
 * {@link MAX_TTL_SECONDS}). Anything else throws a RangeError naming the value.
 */
export function ttlSecondsOf(ttls: TtlTable, ttl: CacheTtl): number {
  if (typeof ttl === 'number') {
    if (!isTtlSeconds(ttl)) throw new RangeError(`ttl must be ${TTL_RULE}, got ${ttl}`);
    return ttl;
  }
  if (typeof ttl === 'string' && BUILT_IN_CLASSES.has(ttl)) return ttls[ttl];
  if (isDeclaredTtlClass(ttl)) return ttls[ttl.name] ?? ttl.defaultSeconds;
  throw new RangeError(`ttl must be ${TTL_RULE}, got ${JSON.stringify(ttl)}`);
}

/** The in-process (L1) layer never holds a value longer than this. */
export const MAX_L1_TTL_SECONDS = 60;

/**
 * Parses a `CACHE_TTLS` override such as `{"product": 600, "recipe": 60}` over `base` (the defaults)
 * and the default seconds of the app's declared `classes`; rejects a class that is neither built in
 * nor declared.
 */
export function parseTtlTable(json: string | undefined, base: TtlTable = DEFAULT_TTL_SECONDS, classes: readonly DeclaredTtlClass[] = []): TtlTable {
  const declared: Record<string, number> = {};
  for (const declaredClass of classes) {
    if (!isDeclaredTtlClass(declaredClass)) throw new RangeError(`ttlClasses: each must come from ttlClass() or defineTtlClasses(), got ${JSON.stringify(declaredClass)}`);
    if (declared[declaredClass.name] !== undefined && declared[declaredClass.name] !== declaredClass.defaultSeconds) {
      throw new RangeError(`ttlClasses: ${declaredClass.name} is declared twice, with ${declared[declaredClass.name]} and ${declaredClass.defaultSeconds} seconds`);
    }
    declared[declaredClass.name] = declaredClass.defaultSeconds;
  }
  if (!json) return classes.length === 0 ? base : { ...base, ...declared };
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new Error(`CACHE_TTLS must be a JSON object, got ${JSON.stringify(json)}: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`CACHE_TTLS must be a JSON object, got ${JSON.stringify(json)}`);
  }
  const known = [...Object.values(TtlClass), ...Object.keys(declared)];
  const table: Record<string, number> = { ...base, ...declared };
  for (const [name, seconds] of Object.entries(parsed)) {
    if (!known.includes(name)) {
      throw new Error(`CACHE_TTLS has unknown class ${JSON.stringify(name)}; known: ${known.join(', ')}${Object.keys(declared).length === 0 ? ' (declare your own with ttlClass() or defineTtlClasses())' : ''}`);
    }
    if (!isTtlSeconds(seconds)) {
      throw new Error(`CACHE_TTLS.${name} must be an integer between 1 and ${MAX_TTL_SECONDS} seconds, got ${JSON.stringify(seconds)}`);
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
