/**
 * One SQS batch of the CloudFront purger, from records to `batchItemFailures`: decode each record (a
 * hopeless one goes to the DLQ with its reason), purge the valid paths of all records in one
 * invalidation ({@link purgeCdnPaths}), dead-letter what CloudFront or the path rules refuse, and
 * return the records CloudFront could not take yet, except on their last receive, when they too go to
 * the DLQ with the reason rather than silently by SQS's redrive.
 */
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { UnprocessableEventError } from '../errors';
import { CdnPurgeOptions, CdnPurgeRecord, purgeCdnPaths } from './cdn-purge';
import { DeadLetterSender, receiveCountOf } from './dead-letter';
import { decodeInvalidationMessage, pathsOf, purgeAllOf } from './messages';
import { InvalidationLogger, InvalidationMetric, InvalidationMetrics, noopInvalidationLogger, noopInvalidationMetrics } from './observability';

export interface CdnBatchOptions extends Omit<CdnPurgeOptions, 'metrics' | 'logger'> {
  readonly deadLetter: DeadLetterSender;
  /** The source queue's `maxReceiveCount`: on that receive a failing record is dead-lettered with its reason. */
  readonly maxReceiveCount: number;
  /** The app's key prefix (`app:v1:`), which mapped events are checked against. */
  readonly keyPrefix: string;
  readonly metrics?: InvalidationMetrics;
  readonly logger?: InvalidationLogger;
}

/** Handles one batch; every record ends invalidated, dead-lettered with a reason, or returned to the queue. */
export async function handleCdnPurgeBatch(records: readonly SQSRecord[], options: CdnBatchOptions): Promise<SQSBatchResponse> {
  const metrics = options.metrics ?? noopInvalidationMetrics;
  const logger = options.logger ?? noopInvalidationLogger;
  const byId = new Map(records.map((r) => [r.messageId, r]));
  const failures = new Set<string>();

  async function deadLetter(record: SQSRecord, reason: string, details?: unknown): Promise<void> {
    try {
      await options.deadLetter.send(record, reason, { details });
      metrics.count(InvalidationMetric.DEAD_LETTERED);
      logger.warn('record sent to the DLQ', { messageId: record.messageId, reason });
    } catch (error) {
      logger.error('could not send the record to the DLQ; it returns to the queue', { messageId: record.messageId, reason, error: (error as Error).message });
      failures.add(record.messageId);
    }
  }

  const purgeable: CdnPurgeRecord[] = [];
  for (const record of records) {
    try {
      const message = decodeInvalidationMessage(record.body, options.keyPrefix);
      const purgeAll = purgeAllOf(message);
      if (purgeAll) logger.warn('purge of everything requested', { messageId: record.messageId, purgeAll: purgeAll.reason });
      purgeable.push({ id: record.messageId, paths: pathsOf(message) });
    } catch (error) {
      if (!(error instanceof UnprocessableEventError)) throw error;
      await deadLetter(record, error.reason);
    }
  }

  const outcome = await purgeCdnPaths(purgeable, { ...options, metrics, logger });

  for (const id of outcome.succeeded) {
    const rejected = outcome.rejectedPaths.get(id);
    if (rejected) {
      await deadLetter(byId.get(id)!, `${rejected.length} path(s) refused by the CloudFront rules; the record's other paths were invalidated`, { rejected });
    }
  }
  for (const { id, reason } of outcome.refused) await deadLetter(byId.get(id)!, reason, { rejected: outcome.rejectedPaths.get(id) });
  for (const { id, error } of outcome.retry) {
    const record = byId.get(id)!;
    const receives = receiveCountOf(record);
    if (receives >= options.maxReceiveCount) {
      await deadLetter(record, `CloudFront did not accept the invalidation by receive ${receives} of ${options.maxReceiveCount}: ${error}`);
    } else {
      failures.add(id);
    }
  }
  return { batchItemFailures: [...failures].map((itemIdentifier) => ({ itemIdentifier })) };
}
