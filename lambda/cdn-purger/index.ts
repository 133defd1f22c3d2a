/**
 * CloudFront purger: SQS batches of invalidation events (see `lambda/runtime/invalidation/cdn-batch.ts`)
 * to one `CreateInvalidation` per batch. Runs outside the VPC: it calls only CloudFront and SQS.
 *
 * Environment (set by `InvalidationPipeline`): DISTRIBUTION_ID, DEAD_LETTER_QUEUE_URL,
 * MAX_RECEIVE_COUNT, MAX_FILES_PER_INVALIDATION, MAX_WILDCARDS_PER_INVALIDATION,
 * CACHE_KEY_NAMESPACE, CACHE_KEY_SCHEMA_VERSION.
 */
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { SQSClient } from '@aws-sdk/client-sqs';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { CacheKeys } from '../runtime/keys';
import { handleCdnPurgeBatch } from '../runtime/invalidation/cdn-batch';
import { SqsDeadLetterSender } from '../runtime/invalidation/dead-letter';
import { InvalidationMetrics } from '../runtime/invalidation/observability';
import { readIntegerEnv, readStringEnv } from '../runtime/invalidation/env';
import { createObservability } from '../runtime/observability';

/** Time kept back from the invocation's deadline to answer SQS after the last CloudFront call. */
const SAFETY_MARGIN_MS = 3_000;

const env = process.env;
const distributionId = readStringEnv(env, 'DISTRIBUTION_ID');
const maxReceiveCount = readIntegerEnv(env, 'MAX_RECEIVE_COUNT', 5);
const budget = {
  maxFiles: readIntegerEnv(env, 'MAX_FILES_PER_INVALIDATION', 3000),
  maxWildcards: readIntegerEnv(env, 'MAX_WILDCARDS_PER_INVALIDATION', 15),
};
const keyPrefix = new CacheKeys({ namespace: env.CACHE_KEY_NAMESPACE, schemaVersion: readIntegerEnv(env, 'CACHE_KEY_SCHEMA_VERSION', 1) }).prefix;

const { logger, metrics } = createObservability({ serviceName: 'cdn-purger' });
const invalidationMetrics: InvalidationMetrics = { count: (metric, value = 1) => metrics.addMetric(metric, MetricUnit.Count, value) };
// The core owns retries (with TooManyInvalidationsInProgress, which the SDK does not retry) under one policy.
const cloudFront = new CloudFrontClient({ region: 'us-east-1', maxAttempts: 1 });
const deadLetter = new SqsDeadLetterSender(new SQSClient({}), readStringEnv(env, 'DEAD_LETTER_QUEUE_URL'), 'cdn-purger');

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  try {
    return await handleCdnPurgeBatch(event.Records, {
      cloudFront,
      distributionId,
      budget,
      deadLetter,
      maxReceiveCount,
      keyPrefix,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      random: Math.random,
      now: Date.now,
      deadline: Date.now() + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS,
      metrics: invalidationMetrics,
      logger,
    });
  } finally {
    metrics.publishStoredMetrics();
  }
}
