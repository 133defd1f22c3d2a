/**
 * The messages the purge queues carry, and their checks. A queue receives four shapes:
 * - a `CacheInvalidation` EventBridge event (docs/invalidation.md): `detail: { keys?, keyPatterns?, paths?, reason? }`;
 * - a mapped app event, `{ kind: MAPPED_INVALIDATION_KIND, mapping, event }`, built by the rule that
 *   `InvalidationPipeline.invalidateOn` creates;
 * - (Redis queue only) a continuation of an unfinished pattern scan, sent by the Redis purger itself;
 * - (CloudFront queue) a CDN purge the Redis purger forwards once Redis is clean, `{ kind:
 *   CDN_PURGE_KIND, paths }`, sent with a delay that outlasts every L1 copy (the bottom-up order).
 * Anything else, or anything malformed or oversized, is an {@link UnprocessableEventError} whose
 * reason the purger puts on the DLQ record.
 */
import { UnprocessableEventError } from '../errors';
import { CACHE_TAG_PATTERN, CacheKeys } from '../keys';
import { keyRefusal, pathRefusal, patternRefusal } from './blast-radius';
import { MAX_KEYS_PER_EVENT, MAX_PATHS_PER_EVENT, MAX_PATTERNS_PER_EVENT, MAX_TAGS_PER_EVENT } from './limits';
import { InvalidationMappingSpec, checkInvalidationMapping, expandKeys, expandPaths } from './templates';

/** Per-event caps (limits.ts, shared with the publisher's split); above them an event is refused. */
export { EVENT_LIMITS, MAX_KEYS_PER_EVENT, MAX_PATHS_PER_EVENT, MAX_PATTERNS_PER_EVENT, MAX_TAGS_PER_EVENT } from './limits';

/** Default `source` of `CacheInvalidation` events; the pipeline's rule matches it. */
export const DEFAULT_INVALIDATION_SOURCE = 'cache-pyramid';
/** Continuations one pattern purge may chain before it is dead-lettered as unable to finish. */
export const DEFAULT_MAX_CONTINUATIONS = 100;
/** `detail-type` of the invalidation event (docs/invalidation.md). */
export const CACHE_INVALIDATION_DETAIL_TYPE = 'CacheInvalidation';
/** `kind` of the envelope an `invalidateOn` rule sends: the mapping plus the whole app event. */
export const MAPPED_INVALIDATION_KIND = 'cache-pyramid.mapped-invalidation';
/** `kind` of the message with which the Redis purger resumes an unfinished pattern scan. */
export const REDIS_PURGE_CONTINUATION_KIND = 'cache-pyramid.redis-purge-continuation';
/** `kind` of the message the Redis purger sends the CloudFront purger once the layers below the CDN are clean. */
export const CDN_PURGE_KIND = 'cache-pyramid.cdn-purge';

/** Largest message body a purger accepts: EventBridge events are at most 256 KB, plus the mapping. */
export const MAX_MESSAGE_BYTES = 300 * 1024;
const MAX_KEY_LENGTH = 1024;
const MAX_REASON_LENGTH = 1024;

/** The `detail` of a `CacheInvalidation` event. */
export interface CacheInvalidationDetail {
  /** Exact keys to remove (within the app namespace). */
  readonly keys?: readonly string[];
  /** `SCAN MATCH` patterns; every matching key on every master is removed. */
  readonly keyPatterns?: readonly string[];
  /** CloudFront paths (leading `/`, `*` only at the end). */
  readonly paths?: readonly string[];
  /**
   * Tags (`category:garden`): every key recorded under one is removed (cache/tag-index.ts), and the
   * Redis purge reports the CDN paths recorded with them (`RedisPurgeResult.cdnPaths`).
   */
  readonly tags?: readonly string[];
  /**
   * With `keys`: remove an entry only if it carries no version or one at most this (the version of the
   * change the event is for). A newer entry, written after that change, stays. For an event that may
   * reach Redis after a later write (a retried purge of a write whose cache update failed); without
   * it a late purge removes the later write's entry too, and reads fall back to an origin that may not
   * have it yet (write-behind).
   * @default - every named key is removed
   */
  readonly upToVersion?: number;
  /** Why, for logs and DLQ records. */
  readonly reason?: string;
  /**
   * The acknowledgement a purge of everything needs: without it a key pattern that can match the
   * runtime's internal keys (`app:v1:*`) or the path `/*` is refused (invalidation/blast-radius.ts).
   * Logged and counted (`PurgeAllRequested`). Internal keys are left in place even then.
   * @default - no whole-namespace pattern, no `/*`
   */
  readonly purgeAll?: PurgeAll;
}

/** `detail.purgeAll`: why the whole namespace or distribution is purged. */
export interface PurgeAll {
  readonly reason: string;
}

/** Where a request came from, for logs and DLQ records. */
export interface EventOrigin {
  readonly eventId?: string;
  readonly source?: string;
  readonly detailType?: string;
}

/** Progress of one pattern's scan: the cursor per master (`host:port`), and the masters done. */
export interface PatternScanState {
  readonly pattern: string;
  readonly cursors: Readonly<Record<string, string>>;
  readonly finished: readonly string[];
  /** Cluster: the slot layout when this pass began (see RedisPurgeOptions.verifyTopology). */
  readonly topology?: string;
  /** When the first pass began (epoch ms, the purger's clock); the second pass waits for it plus the fill window. */
  readonly startedAt?: number;
  /** 2 once the first pass is done (RedisPurgeOptions.fillWindowMs). @default - the first pass */
  readonly pass?: 2;
}

/** The message that resumes an unfinished Redis purge. */
export interface RedisPurgeContinuation {
  readonly kind: typeof REDIS_PURGE_CONTINUATION_KIND;
  readonly version: 1;
  /** How many continuations came before this one (bounded by the purger). */
  readonly hop: number;
  readonly reason?: string;
  readonly origin: EventOrigin;
  readonly scans: readonly PatternScanState[];
  /** CDN paths to forward once the scans finish (the CDN is purged only after Redis). @default - none */
  readonly paths?: readonly string[];
  /** The event's acknowledgement of a purge of everything, carried to the CDN purge. @default - none */
  readonly purgeAll?: PurgeAll;
}

/** The CDN purge the Redis purger forwards after a successful Redis purge. */
export interface CdnPurgeForward {
  readonly kind: typeof CDN_PURGE_KIND;
  readonly version: 1;
  /** CloudFront paths (checked by the CloudFront purger). */
  readonly paths: readonly string[];
  readonly reason?: string;
  readonly origin: EventOrigin;
  /** When the Redis purge finished (epoch ms, the Redis purger's clock): the CDN purge follows it. */
  readonly redisPurgedAt: number;
  /** The event's acknowledgement of a purge of everything, without which `/*` is refused. @default - none */
  readonly purgeAll?: PurgeAll;
}

/** A decoded queue message. */
export type InvalidationMessage =
  | { readonly kind: 'event'; readonly origin: EventOrigin; readonly detail: CacheInvalidationDetail }
  | { readonly kind: 'mapped'; readonly origin: EventOrigin; readonly mapping: InvalidationMappingSpec; readonly event: unknown }
  | { readonly kind: 'continuation'; readonly continuation: RedisPurgeContinuation }
  | { readonly kind: 'cdn'; readonly forward: CdnPurgeForward };

function fail(reason: string): never {
  throw new UnprocessableEventError(reason);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function stringArray(field: string, value: unknown, max: number, maxLength: number): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(`${field} must be an array of strings, got ${typeof value}`);
  if (value.length > max) fail(`${field} has ${value.length} entries; at most ${max} per event`);
  value.forEach((item, i) => {
    if (typeof item !== 'string' || item === '') fail(`${field}[${i}] must be a non-empty string`);
    if (item.length > maxLength) fail(`${field}[${i}] is ${item.length} characters; at most ${maxLength}`);
  });
  return value as string[];
}

function originOf(event: Record<string, unknown>): EventOrigin {
  return {
    eventId: typeof event.id === 'string' ? event.id : undefined,
    source: typeof event.source === 'string' ? event.source : undefined,
    detailType: typeof event['detail-type'] === 'string' ? event['detail-type'] : undefined,
  };
}

function checkDetail(detail: unknown): CacheInvalidationDetail {
  if (!isObject(detail)) fail('detail must be an object');
  const unknown = Object.keys(detail).filter((k) => !DETAIL_FIELDS.includes(k));
  // An unknown field is most often a typo (`path` for `paths`) that would otherwise purge nothing.
  if (unknown.length > 0) fail(`detail has unknown field(s) ${unknown.join(', ')}; expected ${DETAIL_FIELDS.join(', ')}`);
  const keys = stringArray('detail.keys', detail.keys, MAX_KEYS_PER_EVENT, MAX_KEY_LENGTH);
  const keyPatterns = stringArray('detail.keyPatterns', detail.keyPatterns, MAX_PATTERNS_PER_EVENT, MAX_KEY_LENGTH);
  const paths = stringArray('detail.paths', detail.paths, MAX_PATHS_PER_EVENT, 8 * 1024);
  const tags = stringArray('detail.tags', detail.tags, MAX_TAGS_PER_EVENT, 128);
  tags.forEach((tag, i) => {
    if (!CACHE_TAG_PATTERN.test(tag)) fail(`detail.tags[${i}] ${JSON.stringify(tag)} must match ${CACHE_TAG_PATTERN}`);
  });
  if (detail.reason !== undefined && (typeof detail.reason !== 'string' || detail.reason.length > MAX_REASON_LENGTH)) {
    fail(`detail.reason must be a string of at most ${MAX_REASON_LENGTH} characters`);
  }
  const purgeAll = checkPurgeAll(detail.purgeAll);
  if (keys.length + keyPatterns.length + paths.length + tags.length === 0) fail('detail names nothing to invalidate (keys, keyPatterns, paths and tags are all empty)');
  checkPaths('detail.paths', paths, purgeAll !== undefined);
  const upToVersion = checkUpToVersion(detail.upToVersion, keys.length);
  return {
    keys,
    keyPatterns,
    paths,
    ...(tags.length > 0 ? { tags } : {}),
    ...(upToVersion !== undefined ? { upToVersion } : {}),
    reason: detail.reason as string | undefined,
    ...(purgeAll ? { purgeAll } : {}),
  };
}

const DETAIL_FIELDS = ['keys', 'keyPatterns', 'paths', 'tags', 'upToVersion', 'reason', 'purgeAll'];

/** `upToVersion`: a finite number, and only beside keys (it concerns nothing else). */
export function checkUpToVersion(value: unknown, keyCount: number): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isFinite(value)) fail(`detail.upToVersion must be a finite number, got ${JSON.stringify(value)}`);
  if (keyCount === 0) fail('detail.upToVersion applies to keys, and the detail names none');
  return value as number;
}

function checkPurgeAll(value: unknown): PurgeAll | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value) || typeof value.reason !== 'string' || value.reason.trim() === '' || value.reason.length > MAX_REASON_LENGTH) {
    fail(`purgeAll must be { reason } with a non-empty reason of at most ${MAX_REASON_LENGTH} characters`);
  }
  return { reason: value.reason };
}

function checkPaths(field: string, paths: readonly string[], purgeAll: boolean): void {
  paths.forEach((path, i) => {
    const refusal = pathRefusal(path, purgeAll);
    if (refusal) fail(`${field}[${i}] ${JSON.stringify(path)} ${refusal}`);
  });
}

function checkContinuation(message: Record<string, unknown>): RedisPurgeContinuation {
  if (message.version !== 1) fail(`continuation version must be 1, got ${JSON.stringify(message.version)}`);
  if (!Number.isInteger(message.hop) || (message.hop as number) < 1) fail('continuation hop must be a positive integer');
  if (!Array.isArray(message.scans) || message.scans.length === 0 || message.scans.length > MAX_PATTERNS_PER_EVENT) {
    fail(`continuation scans must be an array of 1-${MAX_PATTERNS_PER_EVENT} entries`);
  }
  for (const [i, scan] of (message.scans as unknown[]).entries()) {
    if (!isObject(scan) || typeof scan.pattern !== 'string' || !isObject(scan.cursors) || !Array.isArray(scan.finished)) {
      fail(`continuation scans[${i}] must be { pattern, cursors, finished }`);
    }
    if (!Object.values(scan.cursors).every((c) => typeof c === 'string' && /^\d+$/.test(c))) fail(`continuation scans[${i}].cursors must be decimal strings`);
    if (!scan.finished.every((n) => typeof n === 'string')) fail(`continuation scans[${i}].finished must be node names`);
    if (scan.topology !== undefined && (typeof scan.topology !== 'string' || scan.topology.length > 64)) fail(`continuation scans[${i}].topology must be a layout hash`);
    if (scan.startedAt !== undefined && !(Number.isFinite(scan.startedAt) && (scan.startedAt as number) >= 0)) fail(`continuation scans[${i}].startedAt must be epoch ms`);
    if (scan.pass !== undefined && scan.pass !== 2) fail(`continuation scans[${i}].pass must be 2 or absent`);
  }
  const purgeAll = checkPurgeAll(message.purgeAll);
  checkPaths('continuation paths', stringArray('continuation paths', message.paths, MAX_PATHS_PER_EVENT, 8 * 1024), purgeAll !== undefined);
  return message as unknown as RedisPurgeContinuation;
}

function checkCdnForward(message: Record<string, unknown>): CdnPurgeForward {
  if (message.version !== 1) fail(`CDN purge version must be 1, got ${JSON.stringify(message.version)}`);
  const paths = stringArray('paths', message.paths, MAX_PATHS_PER_EVENT, 8 * 1024);
  if (paths.length === 0) fail('a CDN purge must name at least one path');
  const purgeAll = checkPurgeAll(message.purgeAll);
  checkPaths('paths', paths, purgeAll !== undefined);
  // Equivalent mutant left to survive: Number.isFinite is false for a non-number too; the typeof check narrows the type.
  if (typeof message.redisPurgedAt !== 'number' || !Number.isFinite(message.redisPurgedAt)) fail('CDN purge redisPurgedAt must be a number of epoch ms');
  if (message.reason !== undefined && (typeof message.reason !== 'string' || message.reason.length > MAX_REASON_LENGTH)) {
    fail(`CDN purge reason must be a string of at most ${MAX_REASON_LENGTH} characters`);
  }
  return {
    kind: CDN_PURGE_KIND,
    version: 1,
    paths,
    reason: message.reason as string | undefined,
    origin: isObject(message.origin) ? (message.origin as EventOrigin) : {},
    redisPurgedAt: message.redisPurgedAt,
    ...(purgeAll ? { purgeAll } : {}),
  };
}

/**
 * Decodes and checks a queue message body. `keyPrefix` (`app:v1:`) is the namespace a mapped event's
 * key templates must stay in.
 */
export function decodeInvalidationMessage(body: string, keyPrefix: string): InvalidationMessage {
  const bytes = Buffer.byteLength(body);
  if (bytes > MAX_MESSAGE_BYTES) fail(`message is ${bytes} bytes; at most ${MAX_MESSAGE_BYTES}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    fail(`message body is not JSON: ${(error as Error).message}`);
  }
  if (!isObject(parsed)) fail('message body must be a JSON object');
  if (parsed.kind === REDIS_PURGE_CONTINUATION_KIND) return { kind: 'continuation', continuation: checkContinuation(parsed) };
  if (parsed.kind === CDN_PURGE_KIND) return { kind: 'cdn', forward: checkCdnForward(parsed) };
  if (parsed.kind === MAPPED_INVALIDATION_KIND) {
    if (parsed.version !== 1) fail(`mapped invalidation version must be 1, got ${JSON.stringify(parsed.version)}`);
    if (!isObject(parsed.event) || !isObject(parsed.mapping)) fail('mapped invalidation must carry an object mapping and event');
    let mapping: InvalidationMappingSpec;
    try {
      mapping = checkInvalidationMapping(parsed.mapping as never, keyPrefix);
    } catch (error) {
      fail(`mapped invalidation has an invalid mapping: ${(error as Error).message}`);
    }
    return { kind: 'mapped', origin: originOf(parsed.event), mapping, event: parsed.event };
  }
  if (parsed.kind !== undefined) fail(`unknown message kind ${JSON.stringify(parsed.kind)}`);
  const detailType = parsed['detail-type'];
  if (typeof detailType !== 'string') fail('message is neither an EventBridge event (no "detail-type") nor a known envelope');
  if (detailType !== CACHE_INVALIDATION_DETAIL_TYPE) {
    fail(`unknown event: detail-type ${JSON.stringify(detailType)} is not ${CACHE_INVALIDATION_DETAIL_TYPE} and no invalidateOn mapping wraps it`);
  }
  return { kind: 'event', origin: originOf(parsed), detail: checkDetail(parsed.detail) };
}

/** The raw CloudFront paths a message names (each still to be checked). */
export function pathsOf(message: InvalidationMessage): string[] {
  switch (message.kind) {
    case 'event':
      return [...(message.detail.paths ?? [])];
    case 'mapped': {
      // A mapping has no purgeAll: its templates may not expand to the whole distribution.
      const paths = expandPaths(message.mapping, message.event);
      checkPaths('the mapping\'s paths', paths, false);
      return paths;
    }
    case 'continuation':
      return [...(message.continuation.paths ?? [])];
    case 'cdn':
      return [...message.forward.paths];
  }
}

/** The acknowledgement of a purge of everything a message carries, if any. */
export function purgeAllOf(message: InvalidationMessage): PurgeAll | undefined {
  switch (message.kind) {
    case 'event':
      return message.detail.purgeAll;
    case 'continuation':
      return message.continuation.purgeAll;
    case 'cdn':
      return message.forward.purgeAll;
    default:
      // A mapping carries no purgeAll: its templates may not purge everything. (Equivalent mutant left to
      // survive: a default that never matches falls out of the switch, which returns undefined as well.)
      return undefined;
  }
}

/** Why a message was sent, for logs. */
export function reasonOf(message: InvalidationMessage): string | undefined {
  switch (message.kind) {
    case 'event':
      return message.detail.reason;
    case 'mapped':
      return message.mapping.reason;
    case 'continuation':
      return message.continuation.reason;
    case 'cdn':
      return message.forward.reason;
  }
}

/** The Redis work of a message: exact keys and pattern scans (fresh, or resumed). All are checked against the namespace. */
export interface RedisPurgeWork {
  readonly keys: readonly string[];
  /** See CacheInvalidationDetail.upToVersion. @default - every key is removed */
  readonly upToVersion?: number;
  /** Tags whose recorded keys are removed (a continuation carries none: tags are purged on its first hop). */
  readonly tags: readonly string[];
  readonly scans: readonly PatternScanState[];
  readonly hop: number;
  readonly origin: EventOrigin;
  readonly reason?: string;
  /** CDN paths the Redis purger forwards to the CloudFront purger once the Redis work is done. */
  readonly paths: readonly string[];
  /** The acknowledgement of a purge of everything, when the message carries one. */
  readonly purgeAll?: PurgeAll;
}

/** The keys and patterns a message purges, each within `cacheKeys`' namespace, or an {@link UnprocessableEventError}. */
export function redisWorkOf(message: InvalidationMessage, cacheKeys: CacheKeys): RedisPurgeWork {
  if (message.kind === 'cdn') fail('a CDN purge message reached the Redis purge queue; it belongs to the CloudFront purge queue');
  let keys: readonly string[] = [];
  let tags: readonly string[] = [];
  let patterns: readonly string[];
  if (message.kind === 'continuation') {
    patterns = message.continuation.scans.map((s) => s.pattern);
  } else if (message.kind === 'event') {
    keys = message.detail.keys ?? [];
    tags = message.detail.tags ?? [];
    patterns = message.detail.keyPatterns ?? [];
  } else {
    ({ keys, patterns, tags } = expandKeys(message.mapping, message.event, cacheKeys));
    if (tags.length > MAX_TAGS_PER_EVENT) fail(`the mapping's tags expand to ${tags.length} tags for this event; at most ${MAX_TAGS_PER_EVENT}`);
  }
  const purgeAll = purgeAllOf(message);
  keys.forEach((key, i) => {
    if (!cacheKeys.owns(key)) fail(`keys[${i}] ${JSON.stringify(key)} is outside the app namespace ${JSON.stringify(cacheKeys.prefix)}`);
    const refusal = keyRefusal(key, cacheKeys);
    if (refusal) fail(`keys[${i}] ${JSON.stringify(key)} ${refusal}`);
  });
  patterns.forEach((pattern, i) => {
    if (!cacheKeys.owns(pattern)) fail(`keyPatterns[${i}] ${JSON.stringify(pattern)} is outside the app namespace ${JSON.stringify(cacheKeys.prefix)}`);
    const refusal = patternRefusal(pattern, cacheKeys, purgeAll !== undefined);
    if (refusal) fail(`keyPatterns[${i}] ${JSON.stringify(pattern)} ${refusal}`);
  });
  // A continuation resumes its scans where they stopped; any other message starts one per distinct pattern.
  const scans: PatternScanState[] =
    message.kind === 'continuation' ? [...message.continuation.scans] : [...new Set(patterns)].map((pattern) => ({ pattern, cursors: {}, finished: [] }));
  return {
    keys: [...new Set(keys)],
    ...(message.kind === 'event' && message.detail.upToVersion !== undefined ? { upToVersion: message.detail.upToVersion } : {}),
    tags: [...new Set(tags)],
    scans,
    hop: message.kind === 'continuation' ? message.continuation.hop : 0,
    origin: message.kind === 'continuation' ? message.continuation.origin : message.origin,
    reason: reasonOf(message),
    paths: pathsOf(message),
    ...(purgeAll ? { purgeAll } : {}),
  };
}
