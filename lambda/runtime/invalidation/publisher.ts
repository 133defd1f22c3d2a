/**
 * The app-side half of invalidation: what the API (and user code) calls after a write.
 *
 * - {@link EventBridgeInvalidationPublisher} (AWS): `PutEvents` to the pipeline's bus in chunks of at
 *   most 10 entries and 256 KB, an invalidation too large for one event split over several (by bytes
 *   and by the purgers' per-event counts, split.ts); entries
 *   EventBridge refuses are retried alone with backoff and jitter, and what still fails is thrown as
 *   an {@link InvalidationPublishError} naming each entry and its error code.
 * - {@link LocalInvalidationPublisher} (`npm run dev`): runs the same message checks and Redis purge
 *   core directly against the dev Redis; the CloudFront part is logged as skipped.
 *
 * ```ts
 * const publisher = new EventBridgeInvalidationPublisher({ client, eventBusName: process.env.INVALIDATION_BUS_NAME! });
 * await publisher.publishInvalidation({ keys: [product.key(keys, { id: 42 })], paths: product.cdnPaths({ id: 42 }), reason: 'product 42 updated' });
 * await publisher.publishDomainEvent(ProductUpdated({ id: 42 }));
 * ```
 */
import type { EventBridgeClient, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { loadEventBridge } from '../aws/lazy-client';
import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import { InvalidationPublishError, ValidationError } from '../errors';
import { CACHE_TAG_PATTERN, CacheKeys } from '../keys';
import { keyRefusal, pathRefusal, patternRefusal } from './blast-radius';
import { checkInvalidationPath } from './cloudfront-paths';
import {
  CACHE_INVALIDATION_DETAIL_TYPE,
  CacheInvalidationDetail,
  DEFAULT_INVALIDATION_SOURCE,
  InvalidationMessage,
  MAPPED_INVALIDATION_KIND,
  PatternScanState,
  decodeInvalidationMessage,
  redisWorkOf,
} from './messages';
import { InvalidationLogger, noopInvalidationLogger } from './observability';
import { cleanupTags, purgeRedis } from './redis-purge';
import { splitInvalidation } from './split';
import { InvalidationMapping, checkInvalidationMapping } from './templates';

export { DEFAULT_INVALIDATION_SOURCE, splitInvalidation };

/** What to invalidate (the `detail` of a `CacheInvalidation` event). */
export type InvalidationRequest = CacheInvalidationDetail;

/** An app domain event, e.g. `{ source: 'shop.catalog', detailType: 'ProductUpdated', detail: { id: 42 } }`. */
export interface DomainEvent<TDetail extends object = object> {
  readonly source: string;
  readonly detailType: string;
  readonly detail: TDetail;
}

/** A typed constructor of one kind of domain event, which also names it for `invalidateOn`. */
export interface DomainEventType<TDetail extends object> {
  (detail: TDetail): DomainEvent<TDetail>;
  readonly source: string;
  readonly detailType: string;
}

/** `const ProductUpdated = defineDomainEvent<{ id: number }>('shop.catalog', 'ProductUpdated')`. */
export function defineDomainEvent<TDetail extends object>(source: string, detailType: string): DomainEventType<TDetail> {
  const make = (detail: TDetail): DomainEvent<TDetail> => ({ source, detailType, detail });
  return Object.assign(make, { source, detailType });
}

/** Publishes invalidations; the API and user code depend on this interface only. */
export interface InvalidationPublisher {
  /** Publishes a `CacheInvalidation` event (split into several when it is too large for one). */
  publishInvalidation(request: InvalidationRequest): Promise<void>;
  /** Publishes an app domain event that an `invalidateOn` mapping turns into an invalidation. */
  publishDomainEvent<TDetail extends object>(event: DomainEvent<TDetail>): Promise<void>;
}

/** EventBridge's limit for one `PutEvents` call and for one entry. */
export const PUT_EVENTS_MAX_ENTRIES = 10;
export const PUT_EVENTS_MAX_BYTES = 256 * 1024;

/** `PutEvents` entry size as EventBridge computes it ("Calculating PutEvents event entry size"). */
export function putEventsEntrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time ? 14 : 0;
  size += Buffer.byteLength(entry.Source ?? '', 'utf8') + Buffer.byteLength(entry.DetailType ?? '', 'utf8');
  size += Buffer.byteLength(entry.Detail ?? '', 'utf8');
  for (const resource of entry.Resources ?? []) size += Buffer.byteLength(resource, 'utf8');
  return size;
}

/** Entry error codes no retry can fix. */
const PERMANENT_ENTRY_ERRORS = new Set([
  'MalformedDetail',
  'InvalidArgument',
  'ValidationException',
  'AccessDeniedException',
  'NotAuthorizedForSourceException',
  'NotAuthorizedForDetailTypeException',
  'ResourceNotFoundException',
]);

/** Checks a request before it leaves the process, so the caller gets the error rather than the DLQ. */
export function checkInvalidationRequest(request: InvalidationRequest, cacheKeys?: CacheKeys): void {
  const keys = request.keys ?? [];
  const patterns = request.keyPatterns ?? [];
  const paths = request.paths ?? [];
  const tags = request.tags ?? [];
  if (keys.length + patterns.length + paths.length + tags.length === 0) throw new ValidationError('keys', 'an invalidation must name at least one key, key pattern, path or tag');
  tags.forEach((tag, i) => {
    if (!CACHE_TAG_PATTERN.test(tag)) throw new ValidationError(`tags[${i}]`, `${JSON.stringify(tag)} must match ${CACHE_TAG_PATTERN}`);
  });
  if (request.upToVersion !== undefined && !(Number.isFinite(request.upToVersion) && keys.length > 0)) {
    throw new ValidationError('upToVersion', 'must be a finite number, beside at least one key');
  }
  const purgeAll = request.purgeAll !== undefined;
  if (purgeAll && !(typeof request.purgeAll?.reason === 'string' && request.purgeAll.reason.trim() !== '')) {
    throw new ValidationError('purgeAll', 'must be { reason } with a non-empty reason');
  }
  paths.forEach((path, i) => {
    const check = checkInvalidationPath(path);
    if (!check.valid) throw new ValidationError(`paths[${i}]`, `${JSON.stringify(path)}: ${check.reason}`);
    const refusal = pathRefusal(path, purgeAll);
    if (refusal) throw new ValidationError(`paths[${i}]`, `${JSON.stringify(path)} ${refusal}`);
  });
  if (!cacheKeys) return;
  keys.forEach((key, i) => {
    if (!cacheKeys.owns(key)) throw new ValidationError(`keys[${i}]`, `${JSON.stringify(key)} is outside the app namespace ${JSON.stringify(cacheKeys.prefix)}`);
    const refusal = keyRefusal(key, cacheKeys);
    if (refusal) throw new ValidationError(`keys[${i}]`, `${JSON.stringify(key)} ${refusal}`);
  });
  patterns.forEach((pattern, i) => {
    if (!cacheKeys.owns(pattern)) throw new ValidationError(`keyPatterns[${i}]`, `${JSON.stringify(pattern)} is outside the app namespace ${JSON.stringify(cacheKeys.prefix)}`);
    const refusal = patternRefusal(pattern, cacheKeys, purgeAll);
    if (refusal) throw new ValidationError(`keyPatterns[${i}]`, `${JSON.stringify(pattern)} ${refusal}`);
  });
}

export interface EventBridgePublisherOptions {
  /** Create it once, at module scope. @default - a new EventBridgeClient with the function's region and credentials */
  readonly client?: Pick<EventBridgeClient, 'send'>;
  /** The pipeline's bus (`InvalidationPipeline.bus.eventBusName`, given to functions by `grantPublish`). */
  readonly eventBusName: string;
  /** `source` of `CacheInvalidation` events; must match the pipeline's `invalidationSource`. @default 'cache-pyramid' */
  readonly source?: string;
  /** When given, keys and patterns are checked against its namespace before sending. @default - not checked here (the purger checks) */
  readonly cacheKeys?: CacheKeys;
  /** `PutEvents` attempts per entry, the first included. @default 4 */
  readonly maxAttempts?: number;
  /** @default 100 */
  readonly baseDelayMs?: number;
  /** @default 2000 */
  readonly maxDelayMs?: number;
  /** @default real timers */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Math.random */
  readonly random?: () => number;
}

/** Publishes to EventBridge with `PutEvents`; see the module comment for batching and retries. */
export class EventBridgeInvalidationPublisher implements InvalidationPublisher {
  private readonly source: string;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private client: Pick<EventBridgeClient, 'send'> | undefined;

  constructor(private readonly options: EventBridgePublisherOptions) {
    this.client = options.client;
    this.source = options.source ?? DEFAULT_INVALIDATION_SOURCE;
    this.maxAttempts = options.maxAttempts ?? 4;
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 2_000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  async publishInvalidation(request: InvalidationRequest): Promise<void> {
    checkInvalidationRequest(request, this.options.cacheKeys);
    const room = PUT_EVENTS_MAX_BYTES - Buffer.byteLength(this.source + CACHE_INVALIDATION_DETAIL_TYPE, 'utf8') - 1024;
    const entries = splitInvalidation(request, room).map((detail) => this.entry(this.source, CACHE_INVALIDATION_DETAIL_TYPE, detail));
    await this.put(entries);
  }

  async publishDomainEvent<TDetail extends object>(event: DomainEvent<TDetail>): Promise<void> {
    await this.publishDomainEvents([event]);
  }

  /** Publishes several domain events in as few `PutEvents` calls as the limits allow. */
  async publishDomainEvents(events: readonly DomainEvent<object>[]): Promise<void> {
    const entries = events.map((e) => this.entry(e.source, e.detailType, e.detail));
    entries.forEach((entry, i) => {
      const size = putEventsEntrySize(entry);
      if (size > PUT_EVENTS_MAX_BYTES) throw new ValidationError(`events[${i}]`, `is ${size} bytes; an EventBridge entry is at most ${PUT_EVENTS_MAX_BYTES}`);
    });
    await this.put(entries);
  }

  private entry(source: string, detailType: string, detail: object): PutEventsRequestEntry {
    return { EventBusName: this.options.eventBusName, Source: source, DetailType: detailType, Detail: JSON.stringify(detail) };
  }

  /** Chunks of at most 10 entries and 256 KB, in order. */
  private chunks(entries: readonly PutEventsRequestEntry[]): PutEventsRequestEntry[][] {
    const chunks: PutEventsRequestEntry[][] = [];
    let current: PutEventsRequestEntry[] = [];
    let bytes = 0;
    for (const entry of entries) {
      const size = putEventsEntrySize(entry);
      if (current.length === PUT_EVENTS_MAX_ENTRIES || (current.length > 0 && bytes + size > PUT_EVENTS_MAX_BYTES)) {
        chunks.push(current);
        current = [];
        bytes = 0;
      }
      current.push(entry);
      bytes += size;
    }
    if (current.length > 0) chunks.push(current);
    return chunks;
  }

  private async put(entries: readonly PutEventsRequestEntry[]): Promise<void> {
    const gaveUp: EntryFailure[] = [];
    let pending = [...entries];
    for (let attempt = 1; pending.length > 0; attempt++) {
      const failures = await this.sendOnce(pending);
      gaveUp.push(...failures.filter((f) => f.permanent));
      const retryable = failures.filter((f) => !f.permanent);
      if (retryable.length > 0 && attempt >= this.maxAttempts) gaveUp.push(...retryable);
      if (retryable.length === 0 || attempt >= this.maxAttempts) break;
      pending = retryable.map((f) => f.entry);
      await this.sleep(Math.floor(this.random() * Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1))));
    }
    if (gaveUp.length > 0) {
      const described = gaveUp.map((f) => ({ source: f.entry.Source ?? '', detailType: f.entry.DetailType ?? '', errorCode: f.errorCode, errorMessage: f.errorMessage }));
      throw new InvalidationPublishError(
        `EventBridge refused ${gaveUp.length} of ${entries.length} event(s): ${[...new Set(described.map((d) => `${d.detailType} (${d.errorCode})`))].join(', ')}`,
        described,
      );
    }
  }

  /** One pass over `entries`; returns the entries that failed, with EventBridge's error code. */
  private async sendOnce(entries: readonly PutEventsRequestEntry[]): Promise<EntryFailure[]> {
    const failures: EntryFailure[] = [];
    for (const chunk of this.chunks(entries)) {
      try {
        // Loaded at the first publish, not with the module: a read-only sandbox never pays for it.
        const { EventBridgeClient, PutEventsCommand } = loadEventBridge();
        this.client ??= new EventBridgeClient({});
        const response = await this.client.send(new PutEventsCommand({ Entries: chunk }));
        if (!response.FailedEntryCount) continue;
        chunk.forEach((entry, i) => {
          const result = response.Entries?.[i];
          if (result?.ErrorCode) {
            failures.push({ entry, errorCode: result.ErrorCode, errorMessage: result.ErrorMessage ?? '', permanent: PERMANENT_ENTRY_ERRORS.has(result.ErrorCode) });
          }
        });
      } catch (error) {
        // The SDK already retried the call itself; what is left is one failure for every entry of the chunk.
        const name = (error as Error).name ?? 'Error';
        for (const entry of chunk) failures.push({ entry, errorCode: name, errorMessage: (error as Error).message, permanent: PERMANENT_ENTRY_ERRORS.has(name) });
      }
    }
    return failures;
  }
}

interface EntryFailure {
  readonly entry: PutEventsRequestEntry;
  readonly errorCode: string;
  readonly errorMessage: string;
  readonly permanent: boolean;
}

export interface LocalPublisherOptions {
  /** The dev Redis (standalone or cluster). */
  readonly redis: Redis | Cluster;
  readonly cacheKeys: CacheKeys;
  /** The same mappings the stack passes to `invalidateOn`, so domain events purge the same keys. @default - none */
  readonly mappings?: readonly InvalidationMapping[];
  readonly logger?: InvalidationLogger;
  /** See RedisPurgeOptions.replicaAcks. @default - no WAIT */
  readonly replicaAcks?: { readonly replicas: number; readonly timeoutMs: number };
}

/** For `npm run dev`: purges the dev Redis directly with the same cores; CloudFront is logged as skipped. */
export class LocalInvalidationPublisher implements InvalidationPublisher {
  private readonly logger: InvalidationLogger;

  constructor(private readonly options: LocalPublisherOptions) {
    this.logger = options.logger ?? noopInvalidationLogger;
    for (const mapping of options.mappings ?? []) checkInvalidationMapping(mapping, options.cacheKeys.prefix);
  }

  async publishInvalidation(request: InvalidationRequest): Promise<void> {
    checkInvalidationRequest(request, this.options.cacheKeys);
    const body = JSON.stringify({ 'detail-type': CACHE_INVALIDATION_DETAIL_TYPE, source: DEFAULT_INVALIDATION_SOURCE, detail: request });
    await this.run(decodeInvalidationMessage(body, this.options.cacheKeys.prefix));
  }

  async publishDomainEvent<TDetail extends object>(event: DomainEvent<TDetail>): Promise<void> {
    const matching = (this.options.mappings ?? []).filter((m) => m.source === event.source && m.detailType === event.detailType);
    if (matching.length === 0) {
      this.logger.debug('no invalidateOn mapping matches this event; nothing to purge', { source: event.source, detailType: event.detailType });
      return;
    }
    const envelopeEvent = { source: event.source, 'detail-type': event.detailType, detail: event.detail };
    for (const mapping of matching) {
      const spec = checkInvalidationMapping(mapping, this.options.cacheKeys.prefix);
      const body = JSON.stringify({ kind: MAPPED_INVALIDATION_KIND, version: 1, mapping: spec, event: envelopeEvent });
      await this.run(decodeInvalidationMessage(body, this.options.cacheKeys.prefix));
    }
  }

  private async run(message: InvalidationMessage): Promise<void> {
    const work = redisWorkOf(message, this.options.cacheKeys);
    let scans: readonly PatternScanState[] = work.scans;
    let keys = work.keys;
    const upToVersion = work.upToVersion;
    let tags = work.tags;
    let unlinked = 0;
    const paths = [...work.paths];
    do {
      const result = await purgeRedis({ keys, upToVersion, scans, tags }, { redis: this.options.redis, cacheKeys: this.options.cacheKeys, now: Date.now, deadline: Infinity, replicaAcks: this.options.replicaAcks });
      unlinked += result.unlinked;
      paths.push(...result.cdnPaths);
      // No CDN here: nothing to make safe before the tag members go.
      if (result.tagCleanup) await cleanupTags(this.options.redis, this.options.cacheKeys, result.tagCleanup);
      scans = result.remaining;
      keys = [];
      tags = [];
    } while (scans.length > 0);
    this.logger.info('local invalidation: Redis purged; CloudFront skipped (no distribution in dev)', { unlinked, skippedPaths: paths, reason: work.reason });
  }
}
