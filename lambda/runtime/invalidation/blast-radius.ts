/**
 * What an invalidation may reach. The runtime keeps its own keys next to the cached values (tag sets,
 * tag marks, the tag clock, coalescing locks, write-behind version clocks: `CacheKeys.internalKeyShapes`);
 * removing one breaks a guarantee rather than purging a value (`app:v1:tag-clock` gone makes every
 * tagged read a miss; a tag set gone loses the pages a later write must purge). So:
 * - an exact key that is one of them is refused;
 * - a `SCAN MATCH` pattern that can match one (other than the coalescing lock of a value it matches,
 *   which a purge removes with the value) is refused, unless the invalidation carries `purgeAll`;
 *   even then the scan leaves internal keys in place ({@link isPurgeableScanMatch});
 * - a pattern that names locks (ends in `:lock`) is refused: a lock goes only with its value;
 * - the CloudFront path `/*` (the whole distribution) is refused unless the invalidation carries `purgeAll`.
 *
 * Patterns are Redis globs (`*`, `?`, `[…]` with `^` and ranges, `\` escapes). Whether a pattern can
 * match an internal key is decided exactly, as the intersection of two globs.
 */
import { CacheKeys, InternalKeyKind, LOCK_SUFFIX } from '../keys';

/** A set of UTF-16 code units, as sorted, disjoint, inclusive ranges. */
type CharRanges = readonly (readonly [number, number])[];
/** One glob element: `*`, or one character from a set. */
type GlobToken = { readonly star: true } | { readonly star: false; readonly chars: CharRanges };

const MAX_CHAR = 0xffff;
const ANY_CHAR: CharRanges = [[0, MAX_CHAR]];
const STAR: GlobToken = { star: true };

/** Thrown for a pattern Redis would read differently from what its writer meant (an open `[`, a trailing `\`). */
export class GlobSyntaxError extends Error {}

function normalise(ranges: (readonly [number, number])[]): CharRanges {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [from, to] of sorted) {
    const last = merged[merged.length - 1];
    if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  return merged;
}

function complement(ranges: CharRanges): CharRanges {
  const result: [number, number][] = [];
  let next = 0;
  for (const [from, to] of ranges) {
    if (from > next) result.push([next, from - 1]);
    next = to + 1;
  }
  if (next <= MAX_CHAR) result.push([next, MAX_CHAR]);
  return result;
}

function single(code: number): GlobToken {
  return { star: false, chars: [[code, code]] };
}

/** Parses a Redis glob (the rules of Redis' `stringmatchlen`). */
export function parseGlob(pattern: string): GlobToken[] {
  const tokens: GlobToken[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      if (!tokens[tokens.length - 1]?.star) tokens.push(STAR);
    } else if (c === '?') {
      tokens.push({ star: false, chars: ANY_CHAR });
    } else if (c === '\\') {
      if (i + 1 === pattern.length) throw new GlobSyntaxError(`ends in an unescaped "\\"`);
      tokens.push(single(pattern.charCodeAt(++i)));
    } else if (c === '[') {
      const negated = pattern[i + 1] === '^';
      let j = negated ? i + 2 : i + 1;
      const ranges: [number, number][] = [];
      for (;;) {
        if (j >= pattern.length) throw new GlobSyntaxError(`has a "[" at ${i} that is never closed`);
        if (pattern[j] === ']') break;
        if (pattern[j] === '\\' && j + 1 < pattern.length) {
          j++;
          ranges.push([pattern.charCodeAt(j), pattern.charCodeAt(j)]);
        } else if (pattern[j + 1] === '-' && j + 2 < pattern.length && pattern[j + 2] !== ']') {
          const [a, b] = [pattern.charCodeAt(j), pattern.charCodeAt(j + 2)];
          ranges.push(a <= b ? [a, b] : [b, a]);
          j += 2;
        } else {
          ranges.push([pattern.charCodeAt(j), pattern.charCodeAt(j)]);
        }
        j++;
      }
      const set = normalise(ranges);
      tokens.push({ star: false, chars: negated ? complement(set) : set });
      i = j;
    } else {
      tokens.push(single(pattern.charCodeAt(i)));
    }
  }
  return tokens;
}

function overlap(a: CharRanges, b: CharRanges): boolean {
  return a.some(([from, to]) => b.some(([otherFrom, otherTo]) => from <= otherTo && otherFrom <= to));
}

/** True when some string matches both globs (exact: a walk over both token lists, memoised). */
export function globsIntersect(a: readonly GlobToken[], b: readonly GlobToken[]): boolean {
  const width = b.length + 1;
  const seen = new Uint8Array((a.length + 1) * width);
  const walk = (i: number, j: number): boolean => {
    if (i === a.length && j === b.length) return true;
    const cell = i * width + j;
    if (seen[cell]) return false;
    seen[cell] = 1;
    const x = a[i];
    const y = b[j];
    // A star matches nothing (step past it) or one more character of the other side (stay on it).
    if (x?.star) return walk(i + 1, j) || (y !== undefined && (y.star || y.chars.length > 0) && walk(i, j + 1));
    if (y?.star) return walk(i, j + 1) || (x !== undefined && x.chars.length > 0 && walk(i + 1, j));
    return x !== undefined && y !== undefined && overlap(x.chars, y.chars) && walk(i + 1, j + 1);
  };
  return walk(0, 0);
}

function contains(chars: CharRanges, code: number): boolean {
  return chars.some(([from, to]) => from <= code && code <= to);
}

/** True when `key` matches the parsed glob (the usual backtrack to the last star, linear in practice). */
function matchesTokens(tokens: readonly GlobToken[], key: string): boolean {
  let t = 0;
  let k = 0;
  let lastStar = -1;
  let resumeAt = 0;
  while (k < key.length) {
    const token = tokens[t];
    if (token !== undefined && !token.star && contains(token.chars, key.charCodeAt(k))) {
      t++;
      k++;
    } else if (token?.star) {
      lastStar = t++;
      resumeAt = k;
    } else if (lastStar >= 0) {
      t = lastStar + 1;
      k = ++resumeAt;
    } else {
      return false;
    }
  }
  while (tokens[t]?.star) t++;
  return t === tokens.length;
}

/** True when `key` matches the glob `pattern`, as `SCAN MATCH` decides it. */
export function globMatches(pattern: string, key: string): boolean {
  return matchesTokens(parseGlob(pattern), key);
}

interface ParsedShape {
  readonly kind: InternalKeyKind;
  readonly pattern: string;
  readonly tokens: readonly GlobToken[];
}

const parsedShapes = new WeakMap<CacheKeys, readonly ParsedShape[]>();

/** The internal key shapes of `cacheKeys`, parsed once: a scan classifies thousands of keys. */
function shapesOf(cacheKeys: CacheKeys): readonly ParsedShape[] {
  let shapes = parsedShapes.get(cacheKeys);
  if (shapes === undefined) {
    shapes = cacheKeys.internalKeyShapes.map((shape) => ({ ...shape, tokens: parseGlob(shape.pattern) }));
    parsedShapes.set(cacheKeys, shapes);
  }
  return shapes;
}

/** The kind of internal key `key` is, or `undefined` for a cache value. */
export function internalKindOf(key: string, cacheKeys: CacheKeys): InternalKeyKind | undefined {
  return shapesOf(cacheKeys).find((shape) => matchesTokens(shape.tokens, key))?.kind;
}

function endsWithLiteral(tokens: readonly GlobToken[], text: string): boolean {
  const tail = tokens.slice(-text.length);
  return tail.length === text.length && tail.every((token, i) => !token.star && token.chars.length === 1 && token.chars[0][0] === token.chars[0][1] && token.chars[0][0] === text.charCodeAt(i));
}

/** Why an event may not name `key` exactly, or `undefined` when it may. */
export function keyRefusal(key: string, cacheKeys: CacheKeys): string | undefined {
  const kind = internalKindOf(key, cacheKeys);
  return kind === undefined ? undefined : `is the runtime's ${kind}, not a cached value; an invalidation may not remove it`;
}

/** Why an event may not scan for `pattern` (with or without `purgeAll`), or `undefined` when it may. */
export function patternRefusal(pattern: string, cacheKeys: CacheKeys, purgeAll: boolean): string | undefined {
  let tokens: GlobToken[];
  try {
    tokens = parseGlob(pattern);
  } catch (error) {
    return `is not a valid pattern: it ${(error as Error).message}`;
  }
  if (endsWithLiteral(tokens, LOCK_SUFFIX)) return `names coalescing locks; a lock is removed only with its value`;
  if (purgeAll) return undefined;
  const covered = shapesOf(cacheKeys).find((shape) => shape.kind !== InternalKeyKind.LOCK && globsIntersect(tokens, shape.tokens));
  return covered === undefined
    ? undefined
    : `can match the runtime's ${covered.kind} keys (${covered.pattern}); narrow it to the values you mean (CacheKeys.resourcePattern), or acknowledge a purge of the whole namespace with detail.purgeAll: { reason }`;
}

/** The path that purges the whole distribution. */
export const WHOLE_DISTRIBUTION_PATH = '/*';

/** Why an event may not name the CloudFront `path`, or `undefined` when it may. */
export function pathRefusal(path: string, purgeAll: boolean): string | undefined {
  return path === WHOLE_DISTRIBUTION_PATH && !purgeAll ? `purges the whole distribution; acknowledge it with detail.purgeAll: { reason }` : undefined;
}

/**
 * Whether a key a pattern scan found is removed: a cache value or a coalescing lock is; any other
 * internal key is left in place, even under `purgeAll`.
 */
export function isPurgeableScanMatch(key: string, cacheKeys: CacheKeys): boolean {
  const kind = internalKindOf(key, cacheKeys);
  return kind === undefined || kind === InternalKeyKind.LOCK;
}
