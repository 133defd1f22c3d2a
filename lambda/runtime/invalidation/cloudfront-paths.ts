/**
 * CloudFront invalidation paths: checking them against CloudFront's documented rules and planning one
 * `CreateInvalidation` call per batch within CloudFront's limits.
 *
 * Rules, from the CloudFront Developer Guide, "What you need to know when invalidating files"
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/invalidation-specifying-objects.html):
 * - with the API, a path must begin with `/`;
 * - `*` (zero or more characters) is a wildcard only as the last character; elsewhere it is matched
 *   literally, which is never what a purge means, so such a path is refused;
 * - the maximum length of a path is 4,000 characters (4096 is sometimes quoted; the guide says 4,000, and a
 *   path between the two would be refused by CloudFront, so the guide wins);
 * - non-ASCII characters and the characters RFC 1738 calls unsafe must be URL-encoded, and nothing
 *   else may be encoded "or CloudFront won't invalidate the old version";
 * - `~` is not supported in invalidation paths, encoded or not;
 * - paths are case sensitive; when the distribution caches on query strings, the query string is part
 *   of the path (`/images/image.jpg?parameter1=a`) and `/images/image.jpg*` invalidates every variant.
 *
 * Limits, from "Concurrent invalidation request maximum"
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/InvalidationLimits.html):
 * up to 3,000 individual files and, independently, up to 15 wildcard paths in progress per
 * distribution. Billing ("Pay for file invalidation"): the first 1,000 paths a month are free, then
 * each path is charged, and a wildcard path counts as one path however many files it matches.
 */

/** Longest path CloudFront accepts, in characters (after encoding). */
export const CLOUDFRONT_MAX_PATH_LENGTH = 4000;
/** Individual files that may be in progress per distribution at one time. */
export const CLOUDFRONT_MAX_FILES_IN_PROGRESS = 3000;
/** Wildcard paths that may be in progress per distribution at one time. */
export const CLOUDFRONT_MAX_WILDCARDS_IN_PROGRESS = 15;

/** The result of checking one path: the path as CloudFront expects it, or why it cannot be sent. */
export type PathCheck = { readonly valid: true; readonly path: string } | { readonly valid: false; readonly reason: string };

/**
 * RFC 1738 §2.2 "unsafe" characters other than `%` (the escape itself), `#` (a fragment never reaches
 * CloudFront) and `~` (refused by CloudFront), which this module handles on their own.
 */
const UNSAFE = new Set([' ', '"', '<', '>', '{', '}', '|', '\\', '^', '[', ']', '`']);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

function hasControlCharacter(text: string): boolean {
  for (const char of text) {
    const code = char.charCodeAt(0);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** `char` as `%XX` escapes of its UTF-8 bytes (upper-case hex, as CloudFront and RFC 3986 spell them). */
export function percentEncode(char: string): string {
  return Array.from(Buffer.from(char), (byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}

/**
 * Checks `raw` against CloudFront's rules and returns it in the form CloudFront expects: non-ASCII
 * and unsafe characters percent-encoded (UTF-8), existing `%XX` escapes and every other character
 * left as they are. Refuses what cannot be fixed without guessing the sender's intent.
 */
export function checkInvalidationPath(raw: unknown): PathCheck {
  if (typeof raw !== 'string') return { valid: false, reason: `a path must be a string, got ${raw === null ? 'null' : typeof raw}` };
  if (!raw.startsWith('/')) return { valid: false, reason: 'a path must begin with "/"' };
  if (hasControlCharacter(raw)) return { valid: false, reason: 'a path must not contain control characters' };
  if (LONE_SURROGATE.test(raw)) return { valid: false, reason: 'a path must be valid Unicode (it holds a lone surrogate)' };
  if (raw.includes('#')) return { valid: false, reason: 'a path must not contain "#": a fragment never reaches CloudFront' };
  if (raw.includes('~')) return { valid: false, reason: 'CloudFront does not support "~" in invalidation paths, encoded or not' };
  const star = raw.indexOf('*');
  if (star !== -1 && star !== raw.length - 1) {
    return { valid: false, reason: 'a "*" wildcard is allowed only as the last character (elsewhere CloudFront matches it literally)' };
  }
  if (BAD_ESCAPE.test(raw)) return { valid: false, reason: 'a "%" must start a %XX escape (two hex digits)' };
  let path = '';
  for (const char of raw) {
    // Equivalent mutant left to survive: ">= 0x7e" (0x7e is "~", refused above). A disable comment would also hide the killable "<= 0x7e".
    path += char.charCodeAt(0) > 0x7e || UNSAFE.has(char) ? percentEncode(char) : char;
  }
  if (path.length > CLOUDFRONT_MAX_PATH_LENGTH) {
    return { valid: false, reason: `a path must be at most ${CLOUDFRONT_MAX_PATH_LENGTH} characters once encoded, got ${path.length}` };
  }
  return { valid: true, path };
}

/** True for a wildcard path (`/images/*`, `/api/products*`). */
export function isWildcardPath(path: string): boolean {
  return path.endsWith('*');
}

/** True when `covering` (exact or wildcard) invalidates everything `path` does. */
export function pathCovers(covering: string, path: string): boolean {
  if (!isWildcardPath(covering)) return covering === path;
  // A wildcard path is covered when its own prefix is, and that prefix starts with ours exactly when the path does.
  return path.startsWith(covering.slice(0, -1));
}

/** How many paths one `CreateInvalidation` call may carry. */
export interface InvalidationBudget {
  /** Individual (non-wildcard) paths per call. @default 3000 */
  readonly maxFiles: number;
  /** Wildcard paths per call. @default 15 */
  readonly maxWildcards: number;
}

export const DEFAULT_INVALIDATION_BUDGET: InvalidationBudget = {
  maxFiles: CLOUDFRONT_MAX_FILES_IN_PROGRESS,
  maxWildcards: CLOUDFRONT_MAX_WILDCARDS_IN_PROGRESS,
};

/** Throws a RangeError naming the field when `budget` is outside CloudFront's limits. */
export function checkInvalidationBudget(budget: InvalidationBudget): InvalidationBudget {
  if (!Number.isInteger(budget.maxFiles) || budget.maxFiles < 1 || budget.maxFiles > CLOUDFRONT_MAX_FILES_IN_PROGRESS) {
    throw new RangeError(`maxFiles must be an integer between 1 and ${CLOUDFRONT_MAX_FILES_IN_PROGRESS}, got ${budget.maxFiles}`);
  }
  if (!Number.isInteger(budget.maxWildcards) || budget.maxWildcards < 1 || budget.maxWildcards > CLOUDFRONT_MAX_WILDCARDS_IN_PROGRESS) {
    throw new RangeError(`maxWildcards must be an integer between 1 and ${CLOUDFRONT_MAX_WILDCARDS_IN_PROGRESS}, got ${budget.maxWildcards}`);
  }
  return budget;
}

/** What one batch sends to CloudFront, and how it got there. */
export interface InvalidationPlan {
  /** The paths of the `CreateInvalidation` call, sorted (so equal batches give equal calls). */
  readonly paths: readonly string[];
  /** Valid paths received, duplicates included. */
  readonly requested: number;
  /** Distinct valid paths received. */
  readonly distinct: number;
  /** Distinct paths dropped because a wildcard of the same batch already covers them. */
  readonly coveredByWildcard: number;
  /** Distinct paths (exact or wildcard) replaced by a wider wildcard because the batch was over budget. */
  readonly collapsed: number;
  /** Wildcards this plan introduced (empty unless the batch was over budget). */
  readonly addedWildcards: readonly string[];
}

/**
 * Plans one invalidation for already-checked paths: removes duplicates, drops paths that a wildcard of
 * the same batch covers, and, only when the rest is over `budget`, replaces groups of paths by prefix
 * wildcards:
 * 1. while there are more wildcards than `maxWildcards`, the two with the longest common prefix are
 *    merged into that prefix's wildcard;
 * 2. while there are more files than `maxFiles`, paths are grouped by their prefixes ending in `/` or
 *    `?`; the deepest level at which the free wildcard slots can absorb the excess is chosen, largest
 *    groups first, so that the wildcards stay as narrow as the budget allows.
 * Every input path stays covered by the result (the property tests check it), and a batch within
 * budget gains no wildcard.
 */
export function planInvalidation(paths: readonly string[], budget: InvalidationBudget = DEFAULT_INVALIDATION_BUDGET): InvalidationPlan {
  checkInvalidationBudget(budget);
  const distinct = [...new Set(paths)];
  let prefixes = minimalPrefixes(distinct.filter(isWildcardPath).map((p) => p.slice(0, -1)));
  // Stryker disable next-line MethodExpression: uncovered() would drop the wildcards anyway (each is covered by its own prefix or a shorter one); filtering states the intent
  let files = uncovered(distinct.filter((p) => !isWildcardPath(p)), prefixes);
  const coveredByWildcard = distinct.length - prefixes.length - files.length;
  const initial = new Set<string>([...prefixes.map((p) => `${p}*`), ...files]);

  while (prefixes.length > budget.maxWildcards || (files.length > budget.maxFiles && prefixes.length >= budget.maxWildcards)) {
    prefixes = minimalPrefixes([...prefixes, mergeClosestPair(prefixes)]);
    files = uncovered(files, prefixes);
  }
  // Equivalent mutant left to survive: ">=" (at exactly maxFiles the excess is 0 and chooseGroups returns no group); disabling would hide "<=".
  if (files.length > budget.maxFiles) {
    const groups = chooseGroups(files, files.length - budget.maxFiles, budget.maxWildcards - prefixes.length);
    prefixes = minimalPrefixes([...prefixes, ...groups]);
    files = uncovered(files, prefixes);
  }

  const result = [...prefixes.map((p) => `${p}*`), ...files].sort();
  const addedWildcards = result.filter((p) => !initial.has(p));
  const kept = result.filter((p) => initial.has(p)).length;
  return {
    paths: result,
    requested: paths.length,
    distinct: distinct.length,
    coveredByWildcard,
    collapsed: initial.size - kept,
    addedWildcards,
  };
}

/** Sorted prefixes without any that another one of them already starts. */
function minimalPrefixes(prefixes: readonly string[]): string[] {
  const kept: string[] = [];
  for (const prefix of [...new Set(prefixes)].sort()) {
    // Sorted order puts every string that starts with `p` right after `p`, so only the last kept one can cover it.
    // Equivalent mutants left to survive: "kept.length > 0" as true or ">= 0" (with nothing kept, startsWith(undefined) looks for the
    // text "undefined", which no path begins with); disabling would hide the killable "false" and "<= 0".
    if (kept.length > 0 && prefix.startsWith(kept[kept.length - 1])) continue;
    kept.push(prefix);
  }
  return kept;
}

/** The files, in their order, that no prefix of the sorted, minimal `prefixes` covers. */
function uncovered(files: readonly string[], prefixes: readonly string[]): string[] {
  return files.filter((file) => {
    // With minimal prefixes, the only candidate is the greatest prefix that sorts at or before the file.
    let low = 0;
    // Stryker disable next-line ArithmeticOperator: an index past the end reads undefined, which compares false and only narrows the search
    let high = prefixes.length - 1;
    // Stryker disable next-line UnaryOperator: a candidate of 1 instead of -1 when no prefix sorts before the file names a prefix sorting after it (or none), which the file cannot start with
    let candidate = -1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if (prefixes[mid] <= file) {
        candidate = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    // Equivalent mutant left to survive: "candidate === -1" as false (prefixes[-1] is undefined, and no path starts with the text
    // "undefined"); disabling would hide the killable mutants of the whole condition.
    return candidate === -1 || !file.startsWith(prefixes[candidate]);
  });
}

/** The longest common prefix of the two sorted neighbours that share the most (at least `/`). */
function mergeClosestPair(prefixes: readonly string[]): string {
  let best = '/';
  for (let i = 1; i < prefixes.length; i++) {
    const common = commonPrefix(prefixes[i - 1], prefixes[i]);
    if (common.length > best.length) best = common;
  }
  return best;
}

function commonPrefix(a: string, b: string): string {
  let i = 0;
  // b[i] past the end of b is undefined, which no character equals, so only a's end needs a bound.
  while (
    // Equivalent mutants left to survive: this bound as true, or "<=": neighbouring minimal prefixes differ before either ends, so
    // the bound never stops the loop (it keeps the function total); disabling would hide the killable "false" and ">=".
    i < a.length &&
    a[i] === b[i]
  ) {
    i++;
  }
  return a.slice(0, i);
}

/** Larger groups first; between groups of one size, path order, so the plan does not depend on the input's order. */
function largestFirst(a: readonly [string, number], b: readonly [string, number]): number {
  if (a[1] !== b[1]) return b[1] - a[1];
  // Equivalent mutant left to survive: "<=" (the prefixes of one depth are distinct Map keys, so it meets no tie); disabling would hide ">=".
  return a[0] < b[0] ? -1 : 1;
}

/**
 * Prefixes (ending in `/` or `?`) whose wildcards absorb at least `excess` of `files` using at most
 * `slots` wildcards, at the deepest level where that is possible. `/` alone always works.
 */
function chooseGroups(files: readonly string[], excess: number, slots: number): string[] {
  const byDepth = new Map<number, Map<string, number>>();
  for (const file of files) {
    let depth = 0;
    for (const { index: i } of file.matchAll(/[/?]/g)) {
      depth++;
      // A wildcard one character longer than the path must still fit CloudFront's limit.
      if (i + 2 > CLOUDFRONT_MAX_PATH_LENGTH) break;
      const prefix = file.slice(0, i + 1);
      const level = byDepth.get(depth) ?? new Map<string, number>();
      level.set(prefix, (level.get(prefix) ?? 0) + 1);
      byDepth.set(depth, level);
    }
  }
  for (const depth of [...byDepth.keys()].sort((a, b) => b - a)) {
    const groups = [...byDepth.get(depth)!].sort(largestFirst);
    const chosen: string[] = [];
    let absorbed = 0;
    for (const [prefix, count] of groups) {
      if (absorbed >= excess || chosen.length >= slots) break;
      chosen.push(prefix);
      // A wildcard replaces `count` files but takes no file slot, so it absorbs all of them.
      absorbed += count;
    }
    if (absorbed >= excess) return chosen;
  }
  // Stryker disable next-line ArrayDeclaration,StringLiteral: unreachable, kept so the function is total: depth 1 ("/") holds every file in one group, and a slot is always free here
  return ['/'];
}
