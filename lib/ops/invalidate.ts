import { createHash } from 'node:crypto';
import { CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { ValidationError } from '../../lambda/runtime/errors';
import { checkInvalidationPath, planInvalidation } from '../../lambda/runtime/invalidation/cloudfront-paths';
import { InvalidationPublisher, InvalidationRequest, checkInvalidationRequest } from '../../lambda/runtime/invalidation/publisher';
import { ExitCode, OpsError, UsageError, explainAwsError } from './errors';

/** How `invalidate` reached the caches. */
export enum InvalidationMode {
  /** A `CacheInvalidation` event: the pipeline purges Redis and CloudFront, with retries and a DLQ. */
  EVENT = 'event',
  /** One CloudFront `CreateInvalidation`, bypassing the pipeline (and Redis). */
  DIRECT = 'direct',
}

/** What `invalidate` did. */
export type InvalidationResult =
  | {
      readonly mode: InvalidationMode.EVENT;
      readonly eventBusName: string;
      readonly paths: readonly string[];
      readonly keys: readonly string[];
      readonly keyPatterns: readonly string[];
      readonly reason: string;
    }
  | {
      readonly mode: InvalidationMode.DIRECT;
      readonly distributionId: string;
      readonly invalidationId: string;
      readonly status: string;
      /** The paths sent, after deduplication (and wildcards, had the request been over CloudFront's limits). */
      readonly paths: readonly string[];
      readonly addedWildcards: readonly string[];
    };

/** What to invalidate through the pipeline's bus. */
export interface EventInvalidation {
  readonly eventBusName: string;
  readonly paths: readonly string[];
  readonly keys: readonly string[];
  readonly keyPatterns: readonly string[];
  readonly reason: string;
}

/**
 * Publishes one `CacheInvalidation` event (docs/invalidation.md schema; split into several when too large)
 * through `publisher`, which retries refused entries. Bad paths are refused before anything is sent.
 */
export async function invalidateThroughPipeline(publisher: InvalidationPublisher, request: EventInvalidation): Promise<InvalidationResult> {
  const detail: InvalidationRequest = {
    ...(request.keys.length > 0 ? { keys: [...request.keys] } : {}),
    ...(request.keyPatterns.length > 0 ? { keyPatterns: [...request.keyPatterns] } : {}),
    ...(request.paths.length > 0 ? { paths: [...request.paths] } : {}),
    reason: request.reason,
  };
  try {
    checkInvalidationRequest(detail);
  } catch (error) {
    if (error instanceof ValidationError) throw new UsageError(`${error.field}: ${error.message}`);
    throw error;
  }
  try {
    await publisher.publishInvalidation(detail);
  } catch (error) {
    throw explainAwsError(error, `events:PutEvents on bus ${request.eventBusName}`);
  }
  return { mode: InvalidationMode.EVENT, ...request };
}

/** Everything `CreateInvalidation` needs besides the paths. */
export interface DirectInvalidation {
  readonly distributionId: string;
  readonly paths: readonly string[];
  /** The clock the caller reference is stamped with. */
  readonly now: () => Date;
}

/**
 * Sends the paths straight to CloudFront: each is checked and encoded as CloudFront expects (all
 * bad ones are reported together, nothing is sent), duplicates and paths covered by a wildcard of
 * the same request are dropped, and the rest goes out in one `CreateInvalidation`.
 */
export async function invalidateDirectly(cloudFront: Pick<CloudFrontClient, 'send'>, request: DirectInvalidation): Promise<InvalidationResult> {
  if (request.paths.length === 0) throw new UsageError('invalidate needs at least one path, e.g. /api/products/42 or /assets/*');
  const checked = request.paths.map((path) => ({ path, check: checkInvalidationPath(path) }));
  const invalid = checked.filter(({ check }) => !check.valid);
  if (invalid.length > 0) {
    throw new UsageError(
      `${invalid.length} invalid path(s), nothing sent:\n${invalid.map(({ path, check }) => `  ${JSON.stringify(path)}: ${check.valid ? '' : check.reason}`).join('\n')}`,
    );
  }
  const plan = planInvalidation(checked.map(({ check }) => (check.valid ? check.path : '')));
  const digest = createHash('sha256').update(plan.paths.join('\n')).digest('hex').slice(0, 16);
  let response;
  try {
    response = await cloudFront.send(
      new CreateInvalidationCommand({
        DistributionId: request.distributionId,
        InvalidationBatch: {
          // Unique per run: the same paths invalidated twice on purpose must not be deduplicated by CloudFront.
          CallerReference: `cache-pyramid-cli-${request.now().toISOString()}-${digest}`,
          Paths: { Quantity: plan.paths.length, Items: [...plan.paths] },
        },
      }),
    );
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'NoSuchDistribution') {
      throw new OpsError(`CloudFront distribution '${request.distributionId}' does not exist (deleted outside CloudFormation?).`, ExitCode.ENVIRONMENT);
    }
    if (name === 'TooManyInvalidationsInProgress') {
      throw new OpsError(
        'CloudFront already has the maximum invalidations in progress for this distribution (3000 files, 15 wildcards). Retry in a few minutes, or drop --direct: the pipeline retries on its own.',
        ExitCode.FAILED,
      );
    }
    throw explainAwsError(error, 'cloudfront:CreateInvalidation');
  }
  return {
    mode: InvalidationMode.DIRECT,
    distributionId: request.distributionId,
    invalidationId: response.Invalidation?.Id ?? '?',
    status: response.Invalidation?.Status ?? '?',
    paths: plan.paths,
    addedWildcards: plan.addedWildcards,
  };
}

/** The human-readable form of {@link InvalidationResult}. */
export function renderInvalidation(stackName: string, result: InvalidationResult): string {
  if (result.mode === InvalidationMode.EVENT) {
    const parts = [
      result.paths.length > 0 ? `${result.paths.length} path(s)` : '',
      result.keys.length > 0 ? `${result.keys.length} key(s)` : '',
      result.keyPatterns.length > 0 ? `${result.keyPatterns.length} key pattern(s)` : '',
    ].filter(Boolean);
    return [
      `Stack ${stackName}: published a CacheInvalidation event for ${parts.join(', ')} on bus ${result.eventBusName}.`,
      '  The pipeline purges Redis and CloudFront; failures are retried and end in its DLQs (see `cache-pyramid alarms`).',
    ].join('\n');
  }
  const lines = [
    `Stack ${stackName}: CloudFront invalidation ${result.invalidationId} (${result.status}) on distribution ${result.distributionId} for ${result.paths.length} path(s):`,
    ...result.paths.map((path) => `  ${path}`),
  ];
  if (result.addedWildcards.length > 0) lines.push(`  (over CloudFront's per-call limits: widened to ${result.addedWildcards.join(', ')})`);
  return lines.join('\n');
}
