/**
 * What the purge cores report, as narrow interfaces: the adapters pass Powertools Metrics (EMF) and
 * Logger, tests pass {@link InMemoryInvalidationMetrics}.
 */
import { CacheLogger, noopCacheLogger } from '../cache/metrics';

/** Metric names (all counts), published in the functions' CloudWatch namespace. */
export enum InvalidationMetric {
  /** CloudFront paths named by the records of a batch, valid or not. */
  PATHS_REQUESTED = 'InvalidationPathsRequested',
  /** Paths refused by the CloudFront rules (sent to the DLQ with the reason). */
  PATHS_REJECTED = 'InvalidationPathsRejected',
  /** Paths sent in `CreateInvalidation` calls (what CloudFront bills). */
  PATHS_SUBMITTED = 'InvalidationPathsSubmitted',
  /** Distinct paths replaced by a wider wildcard because a batch was over budget. */
  PATHS_COLLAPSED = 'InvalidationPathsCollapsed',
  INVALIDATIONS_CREATED = 'InvalidationsCreated',
  /** `CreateInvalidation` calls repeated after throttling, `TooManyInvalidationsInProgress` or a 5xx. */
  INVALIDATION_RETRIES = 'InvalidationRetries',
  /** Batches returned to the queue because CloudFront could not take them yet. */
  INVALIDATION_FAILURES = 'InvalidationFailures',
  /** Keys removed from Redis (UNLINK replies). */
  KEYS_UNLINKED = 'CacheKeysUnlinked',
  TAGS_CLEARED = 'CacheTagsCleared',
  SCAN_STEPS = 'CacheScanSteps',
  /** Pattern purges that ran out of time and were continued in a new message. */
  SCANS_CONTINUED = 'CacheScansContinued',
  /** Records sent to a DLQ with a reason. */
  DEAD_LETTERED = 'InvalidationDeadLettered',
  /** CDN purges the Redis purger sent to the CloudFront queue after a finished Redis purge. */
  CDN_PURGES_FORWARDED = 'CdnPurgesForwarded',
  /** Events acknowledging a purge of the whole namespace or distribution (`detail.purgeAll`), counted on their first hop. */
  PURGE_ALL_REQUESTED = 'PurgeAllRequested',
}

export interface InvalidationMetrics {
  /** Adds `value` (default 1) to a counter. */
  count(metric: InvalidationMetric, value?: number): void;
}

/** The logging the cores need (the cache core's interface); Powertools `Logger` satisfies it. */
export type InvalidationLogger = CacheLogger;

export const noopInvalidationMetrics: InvalidationMetrics = { count: () => undefined };

export const noopInvalidationLogger: InvalidationLogger = noopCacheLogger;

/** Keeps every count in memory (tests, benchmarks, the local publisher). */
export class InMemoryInvalidationMetrics implements InvalidationMetrics {
  private readonly counts = new Map<InvalidationMetric, number>();

  count(metric: InvalidationMetric, value = 1): void {
    this.counts.set(metric, (this.counts.get(metric) ?? 0) + value);
  }

  /** The total of `metric` so far (0 when never counted). */
  get(metric: InvalidationMetric): number {
    return this.counts.get(metric) ?? 0;
  }
}
