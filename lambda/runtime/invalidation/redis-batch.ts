/**
 * One record of the Redis purger: decode it, purge its keys and patterns within the invocation's time
 * budget, and continue an unfinished pattern scan in a new message to the same queue (see
 * `redis-purge.ts` for why a continuation message and not stored cursors or a failed record).
 *
 * Bottom-up order: the CDN is purged only once Redis is clean. When the Redis work of a record is
 * done, its CDN paths (those of the event, and those recorded in the tag sets it cleared) are
 * forwarded to the CloudFront purge queue with a delay that outlasts every L1 copy (the adapter
 * sends them with SQS `DelaySeconds`). A record whose Redis purge failed forwards nothing; its retry,
 * once it succeeds, forwards — so a CDN purge always follows the last Redis purge, never precedes it.
 * The tag members a purge found stay in their sets until their CDN paths are forwarded (or carried by
 * the continuation): a failure in between (the send, the Lambda timeout) leaves them for the retry,
 * which finds and forwards them again.
 *
 * Outcomes: done; continued; dead-lettered with the reason (hopeless record, too many continuations,
 * or a Redis failure on the record's last receive); or an error is thrown so that SQS returns the
 * record to the queue (a Redis failure before its last receive, or a DLQ/continuation send failure).
 */
import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import { UnprocessableEventError } from '../errors';
import { CacheKeys } from '../keys';
import { DeadLetterRecord, DeadLetterSender, receiveCountOf } from './dead-letter';
import { CDN_PURGE_KIND, CdnPurgeForward, DEFAULT_MAX_CONTINUATIONS, REDIS_PURGE_CONTINUATION_KIND, RedisPurgeContinuation, decodeInvalidationMessage, redisWorkOf } from './messages';
import { InvalidationLogger, InvalidationMetric, InvalidationMetrics, noopInvalidationLogger, noopInvalidationMetrics } from './observability';
import { cleanupTags, purgeRedis, RedisPurgeResult } from './redis-purge';

export { DEFAULT_MAX_CONTINUATIONS };

export interface RedisRecordOptions {
  /** Returns the ready client (created once per container); a failure counts like a failed purge. */
  readonly redis: () => Promise<Redis | Cluster>;
  readonly cacheKeys: CacheKeys;
  readonly deadLetter: DeadLetterSender;
  /** Sends a continuation to the purge queue. */
  readonly continue: (message: RedisPurgeContinuation) => Promise<void>;
  /**
   * Sends the CDN purge that follows a finished Redis purge to the CloudFront purge queue (delayed by
   * the L1 TTL plus a margin). A failure returns the record to the queue. @default - paths are not
   * forwarded (a deployment whose rule still targets the CloudFront queue directly)
   */
  readonly forwardCdnPurge?: (message: CdnPurgeForward) => Promise<void>;
  readonly now: () => number;
  /** Clock time after which no new `SCAN` step starts. */
  readonly deadline: number;
  /** The source queue's `maxReceiveCount`. */
  readonly maxReceiveCount: number;
  /** @default DEFAULT_MAX_CONTINUATIONS */
  readonly maxContinuations?: number;
  readonly scanCount?: number;
  /** See RedisPurgeOptions.fillWindowMs. @default DEFAULT_LOCK_TTL_MS */
  readonly fillWindowMs?: number;
  readonly metrics?: InvalidationMetrics;
  readonly logger?: InvalidationLogger;
}

export type RedisRecordOutcome = 'purged' | 'continued' | 'dead-lettered';

function unique(paths: readonly string[]): string[] {
  return [...new Set(paths)];
}

/** Handles one record; throws only when the record must return to the queue. */
export async function handleRedisPurgeRecord(record: DeadLetterRecord, options: RedisRecordOptions): Promise<RedisRecordOutcome> {
  const metrics = options.metrics ?? noopInvalidationMetrics;
  const logger = options.logger ?? noopInvalidationLogger;
  const maxContinuations = options.maxContinuations ?? DEFAULT_MAX_CONTINUATIONS;

  async function deadLetter(reason: string, body?: string): Promise<RedisRecordOutcome> {
    await options.deadLetter.send(record, reason, { body });
    metrics.count(InvalidationMetric.DEAD_LETTERED);
    logger.warn('record sent to the DLQ', { messageId: record.messageId, reason });
    return 'dead-lettered';
  }

  let work;
  try {
    work = redisWorkOf(decodeInvalidationMessage(record.body, options.cacheKeys.prefix), options.cacheKeys);
  } catch (error) {
    if (error instanceof UnprocessableEventError) return deadLetter(error.reason);
    throw error;
  }

  if (work.purgeAll && work.hop === 0) {
    metrics.count(InvalidationMetric.PURGE_ALL_REQUESTED);
    logger.warn('purge of everything requested', { messageId: record.messageId, purgeAll: work.purgeAll.reason, keyPatterns: work.scans.map((s) => s.pattern), paths: work.paths, ...work.origin });
  }

  let result;
  try {
    result = await purgeRedis(work, {
      redis: await options.redis(),
      cacheKeys: options.cacheKeys,
      now: options.now,
      deadline: options.deadline,
      scanCount: options.scanCount,
      fillWindowMs: options.fillWindowMs,
      metrics,
      logger,
    });
  } catch (error) {
    const receives = receiveCountOf(record);
    if (receives >= options.maxReceiveCount) {
      return deadLetter(`Redis purge failed on receive ${receives} of ${options.maxReceiveCount}: ${(error as Error).message}`);
    }
    throw error;
  }
  logger.info('redis purge step done', { messageId: record.messageId, unlinked: result.unlinked, scanSteps: result.scanSteps, unfinished: result.remaining.length, ...work.origin });
  const paths = unique([...work.paths, ...result.cdnPaths]);
  const redis = await options.redis();
  if (result.remaining.length === 0) {
    if (paths.length > 0 && options.forwardCdnPurge) {
      await options.forwardCdnPurge({ kind: CDN_PURGE_KIND, version: 1, paths, reason: work.reason, origin: work.origin, redisPurgedAt: options.now(), ...(work.purgeAll ? { purgeAll: work.purgeAll } : {}) });
      metrics.count(InvalidationMetric.CDN_PURGES_FORWARDED);
    }
    await cleanUp(result);
    return 'purged';
  }

  /** Once the paths are safe: a failure only leaves members a later purge unlinks again (nothing is lost). */
  async function cleanUp(done: RedisPurgeResult): Promise<void> {
    if (!done.tagCleanup) return;
    try {
      await cleanupTags(redis, options.cacheKeys, done.tagCleanup);
    } catch (error) {
      logger.warn('tag members purged but not removed from their sets; the next purge of the tag unlinks them again', { messageId: record.messageId, error: String(error) });
    }
  }

  const continuation: RedisPurgeContinuation = {
    kind: REDIS_PURGE_CONTINUATION_KIND,
    version: 1,
    hop: work.hop + 1,
    reason: work.reason,
    origin: work.origin,
    scans: result.remaining,
    ...(paths.length > 0 ? { paths } : {}),
    ...(work.purgeAll ? { purgeAll: work.purgeAll } : {}),
  };
  if (continuation.hop > maxContinuations) {
    // The DLQ body is the continuation, so a redrive resumes the scan where it stopped.
    return deadLetter(`pattern purge did not finish after ${maxContinuations} continuations`, JSON.stringify(continuation));
  }
  await options.continue(continuation);
  metrics.count(InvalidationMetric.SCANS_CONTINUED);
  await cleanUp(result);
  return 'continued';
}

/** Resolves once `redis` is ready to take commands, or rejects after `timeoutMs`. */
export function waitUntilReady(redis: Redis | Cluster, timeoutMs: number): Promise<Redis | Cluster> {
  if (redis.status === 'ready') return Promise.resolve(redis);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`Redis was not ready within ${timeoutMs} ms (status ${redis.status})`));
    }, timeoutMs);
    const onReady = (): void => {
      clearTimeout(timer);
      resolve(redis);
    };
    redis.once('ready', onReady);
  });
}
