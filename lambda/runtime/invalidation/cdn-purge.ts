/**
 * The CloudFront purge of one SQS batch: every record's paths are checked, the valid ones planned into
 * ONE `CreateInvalidation` call within CloudFront's limits, and the outcome reported per record so the
 * adapter can answer with partial batch failures.
 *
 * Idempotency: `CallerReference` is a SHA-256 of the distribution, the batch's message ids and the
 * planned paths. A retried batch sends the same reference with the same paths, so CloudFront returns
 * the invalidation it already created instead of making (and billing) a second one; a later event for
 * the same paths has another message id, hence a new reference and a new invalidation, as it must.
 * `InvalidationBatchAlreadyExists` (same reference, different paths) can only follow from a retry of
 * the same content, so it counts as success.
 *
 * Failures: `TooManyInvalidationsInProgress`, throttling, 5xx and network errors are retried with
 * exponential backoff and full jitter while the invocation has time, then the records go back to the
 * queue (never dropped). A bad request (`InvalidArgument`, `BatchTooLarge`…) is bisected by record so
 * that only the record CloudFront refuses goes to the DLQ, with CloudFront's message as the reason.
 */
import { createHash } from 'node:crypto';
import { CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { DEFAULT_INVALIDATION_BUDGET, InvalidationBudget, InvalidationPlan, checkInvalidationPath, planInvalidation } from './cloudfront-paths';
import { InvalidationLogger, InvalidationMetric, InvalidationMetrics, noopInvalidationLogger, noopInvalidationMetrics } from './observability';

/** The paths one queue record asks to invalidate (as received, unchecked). */
export interface CdnPurgeRecord {
  /** The SQS message id (the batch item identifier). */
  readonly id: string;
  readonly paths: readonly string[];
}

/** Backoff of `CreateInvalidation` retries within one invocation. */
export interface RetryPolicy {
  /** Calls in total, the first included. @default 4 */
  readonly maxAttempts: number;
  /** First backoff ceiling; doubles per retry. @default 500 */
  readonly baseDelayMs: number;
  /** Backoff ceiling. @default 8000 */
  readonly maxDelayMs: number;
}

export const DEFAULT_CDN_RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 8_000 };

export interface CdnPurgeOptions {
  readonly cloudFront: Pick<CloudFrontClient, 'send'>;
  readonly distributionId: string;
  /** @default 3000 files, 15 wildcards */
  readonly budget?: InvalidationBudget;
  /** @default DEFAULT_CDN_RETRY */
  readonly retry?: RetryPolicy;
  /** Waits `ms` (tests pass a fake that only advances their clock). */
  readonly sleep: (ms: number) => Promise<void>;
  /** Uniform in [0, 1), for jitter. */
  readonly random: () => number;
  readonly now: () => number;
  /** Clock time after which no backoff wait starts (the records go back to the queue instead). */
  readonly deadline: number;
  readonly metrics?: InvalidationMetrics;
  readonly logger?: InvalidationLogger;
}

/** A path that can never be invalidated, and why. */
export interface RejectedPath {
  readonly path: string;
  readonly reason: string;
}

export interface CdnPurgeOutcome {
  /** Records whose valid paths are in an invalidation CloudFront accepted (or that had none). */
  readonly succeeded: readonly string[];
  /** Records to return to the queue: CloudFront could not take them now. */
  readonly retry: readonly { readonly id: string; readonly error: string }[];
  /** Records CloudFront refused as a bad request even alone: DLQ, with CloudFront's message. */
  readonly refused: readonly { readonly id: string; readonly reason: string }[];
  /** Per record, the paths the rules refused (DLQ with reasons; the record's valid rest proceeds). */
  readonly rejectedPaths: ReadonlyMap<string, readonly RejectedPath[]>;
  /** The invalidations created (or found already created). */
  readonly invalidations: readonly { readonly id?: string; readonly callerReference: string; readonly paths: readonly string[] }[];
}

type CallResult =
  | { readonly kind: 'created'; readonly id?: string }
  | { readonly kind: 'retry'; readonly error: string }
  | { readonly kind: 'refused'; readonly error: string };

interface ErrorShape {
  readonly name?: string;
  readonly message?: string;
  readonly $fault?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

const THROTTLED = new Set(['TooManyInvalidationsInProgress', 'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded', 'SlowDown']);
/** Errors about the request's content: splitting the batch finds the record that causes them. */
const BAD_REQUEST = new Set(['InvalidArgument', 'BatchTooLarge', 'InconsistentQuantities', 'MissingBody']);

/** How a `CreateInvalidation` error is handled: retried now, retried later, or refused for good. */
export function classifyCloudFrontError(error: unknown): 'transient' | 'later' | 'bad-request' {
  const shape = (error ?? {}) as ErrorShape;
  if (shape.name && BAD_REQUEST.has(shape.name)) return 'bad-request';
  if (shape.name && THROTTLED.has(shape.name)) return 'transient';
  const status = shape.$metadata?.httpStatusCode;
  if (shape.$fault === 'server' || (status !== undefined && status >= 500)) return 'transient';
  // No HTTP status at all: the request never got an answer (timeout, reset), so it may work on retry.
  if (status === undefined && shape.$fault === undefined) return 'transient';
  // AccessDenied, NoSuchDistribution…: configuration, which no quick retry fixes; the queue retries it and then dead-letters it.
  return 'later';
}

/** `CallerReference` of a batch: a hash of what makes it this batch (see the module comment). */
export function callerReferenceFor(distributionId: string, recordIds: readonly string[], paths: readonly string[]): string {
  const hash = createHash('sha256');
  hash.update(`${distributionId}\n`);
  for (const id of [...recordIds].sort()) hash.update(`${id}\n`);
  hash.update('\n');
  for (const path of paths) hash.update(`${path}\n`);
  return hash.digest('hex');
}

function describe(error: unknown): string {
  const shape = (error ?? {}) as ErrorShape;
  return `${shape.name ?? 'Error'}: ${shape.message ?? String(error)}`;
}

/** Purges one batch; see the module comment. Never throws for CloudFront errors: they become per-record outcomes. */
export async function purgeCdnPaths(records: readonly CdnPurgeRecord[], options: CdnPurgeOptions): Promise<CdnPurgeOutcome> {
  const metrics = options.metrics ?? noopInvalidationMetrics;
  const logger = options.logger ?? noopInvalidationLogger;
  const budget = options.budget ?? DEFAULT_INVALIDATION_BUDGET;
  const retry = options.retry ?? DEFAULT_CDN_RETRY;

  const rejectedPaths = new Map<string, RejectedPath[]>();
  const validPaths = new Map<string, string[]>();
  const succeeded: string[] = [];
  for (const record of records) {
    metrics.count(InvalidationMetric.PATHS_REQUESTED, record.paths.length);
    const valid: string[] = [];
    for (const path of record.paths) {
      const check = checkInvalidationPath(path);
      if (check.valid) {
        valid.push(check.path);
      } else {
        const list = rejectedPaths.get(record.id) ?? [];
        list.push({ path, reason: check.reason });
        rejectedPaths.set(record.id, list);
      }
    }
    metrics.count(InvalidationMetric.PATHS_REJECTED, record.paths.length - valid.length);
    if (valid.length === 0) succeeded.push(record.id);
    else validPaths.set(record.id, valid);
  }

  const outcome = {
    succeeded,
    retry: [] as { id: string; error: string }[],
    refused: [] as { id: string; reason: string }[],
    rejectedPaths,
    invalidations: [] as { id?: string; callerReference: string; paths: readonly string[] }[],
  };

  async function create(plan: InvalidationPlan, callerReference: string): Promise<CallResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await options.cloudFront.send(
          new CreateInvalidationCommand({
            DistributionId: options.distributionId,
            InvalidationBatch: { CallerReference: callerReference, Paths: { Quantity: plan.paths.length, Items: [...plan.paths] } },
          }),
        );
        return { kind: 'created', id: response.Invalidation?.Id };
      } catch (error) {
        if ((error as ErrorShape)?.name === 'InvalidationBatchAlreadyExists') {
          logger.info('invalidation batch already exists: this batch was submitted before', { callerReference });
          return { kind: 'created' };
        }
        const kind = classifyCloudFrontError(error);
        if (kind === 'bad-request') return { kind: 'refused', error: describe(error) };
        if (kind === 'later' || attempt >= retry.maxAttempts) return { kind: 'retry', error: describe(error) };
        const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
        const delay = Math.floor(options.random() * ceiling);
        if (options.now() + delay > options.deadline) return { kind: 'retry', error: describe(error) };
        metrics.count(InvalidationMetric.INVALIDATION_RETRIES);
        logger.warn('CreateInvalidation failed; retrying after backoff', { error: describe(error), attempt, delayMs: delay });
        await options.sleep(delay);
      }
    }
  }

  async function submit(group: readonly string[]): Promise<void> {
    const plan = planInvalidation(
      group.flatMap((id) => validPaths.get(id)!),
      budget,
    );
    const callerReference = callerReferenceFor(options.distributionId, group, plan.paths);
    const result = await create(plan, callerReference);
    if (result.kind === 'created') {
      metrics.count(InvalidationMetric.INVALIDATIONS_CREATED);
      metrics.count(InvalidationMetric.PATHS_SUBMITTED, plan.paths.length);
      metrics.count(InvalidationMetric.PATHS_COLLAPSED, plan.collapsed);
      outcome.invalidations.push({ id: result.id, callerReference, paths: plan.paths });
      outcome.succeeded.push(...group);
      logger.info('invalidation created', { invalidationId: result.id, records: group.length, paths: plan.paths.length, collapsed: plan.collapsed });
      return;
    }
    if (result.kind === 'retry') {
      metrics.count(InvalidationMetric.INVALIDATION_FAILURES);
      logger.warn('CreateInvalidation did not succeed; records return to the queue', { error: result.error, records: group.length });
      outcome.retry.push(...group.map((id) => ({ id, error: result.error })));
      return;
    }
    if (group.length === 1) {
      outcome.refused.push({ id: group[0], reason: `CloudFront refused the paths of this record: ${result.error}` });
      return;
    }
    const half = Math.ceil(group.length / 2);
    await submit(group.slice(0, half));
    await submit(group.slice(half));
  }

  if (validPaths.size > 0) await submit([...validPaths.keys()]);
  return outcome;
}
