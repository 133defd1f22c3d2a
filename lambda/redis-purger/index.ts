/**
 * Redis purger: SQS records of invalidation events (see `lambda/runtime/invalidation/redis-batch.ts`)
 * to `UNLINK`s and pattern scans on the cache, one record at a time under Powertools batch processing.
 * Runs in the VPC next to the cache; reaches SQS through the VPC's interface endpoint.
 *
 * Once a record's Redis work is done, its CDN paths go to the CloudFront purge queue with
 * `DelaySeconds` = CDN_PURGE_DELAY_SECONDS (the L1 TTL plus a margin): the edge is purged only after
 * Redis is clean and every L1 copy has expired, so an edge miss cannot store the old value again.
 *
 * Environment (set by `InvalidationPipeline`): the cache's (CACHE_ENDPOINT, CACHE_TLS,
 * CACHE_CLUSTER_MODE, CACHE_AUTH_SECRET_ARN, or REDIS_URL), PURGE_QUEUE_URL, DEAD_LETTER_QUEUE_URL,
 * MAX_RECEIVE_COUNT, SCAN_TIME_BUDGET_MS, MAX_CONTINUATIONS, CACHE_KEY_NAMESPACE, CACHE_KEY_SCHEMA_VERSION,
 * CDN_PURGE_QUEUE_URL (unset: paths are not forwarded), CDN_PURGE_DELAY_SECONDS.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import { createRedis, resolveCacheConfig, secretFromSecretsManager } from '../runtime/cache/redis-client';
import { CacheKeys } from '../runtime/keys';
import { SqsDeadLetterSender } from '../runtime/invalidation/dead-letter';
import { readIntegerEnv, readStringEnv } from '../runtime/invalidation/env';
import { InvalidationMetrics } from '../runtime/invalidation/observability';
import { DEFAULT_MAX_CONTINUATIONS, handleRedisPurgeRecord, waitUntilReady } from '../runtime/invalidation/redis-batch';
import { createObservability } from '../runtime/observability';

/** Time kept back from the invocation's deadline to send continuations and answer SQS. */
const SAFETY_MARGIN_MS = 5_000;
/** A purge issues long SCAN steps and big UNLINKs: more patient than the API's 50 ms reads. */
const COMMAND_TIMEOUT_MS = 2_000;
const CONNECT_TIMEOUT_MS = 2_000;

const env = process.env;
const purgeQueueUrl = readStringEnv(env, 'PURGE_QUEUE_URL');
const maxReceiveCount = readIntegerEnv(env, 'MAX_RECEIVE_COUNT', 5);
const scanBudgetMs = readIntegerEnv(env, 'SCAN_TIME_BUDGET_MS', 20_000);
const maxContinuations = readIntegerEnv(env, 'MAX_CONTINUATIONS', DEFAULT_MAX_CONTINUATIONS);
const cdnPurgeQueueUrl = env.CDN_PURGE_QUEUE_URL;
const cdnPurgeDelaySeconds = readIntegerEnv(env, 'CDN_PURGE_DELAY_SECONDS', 15);
const cacheKeys = new CacheKeys({
  namespace: env.CACHE_KEY_NAMESPACE,
  schemaVersion: readIntegerEnv(env, 'CACHE_KEY_SCHEMA_VERSION', 1),
  clusterMode: env.CACHE_CLUSTER_MODE === 'true',
});

const { logger, metrics } = createObservability({ serviceName: 'redis-purger' });
const invalidationMetrics: InvalidationMetrics = { count: (metric, value = 1) => metrics.addMetric(metric, MetricUnit.Count, value) };
const sqs = new SQSClient({});
const deadLetter = new SqsDeadLetterSender(sqs, readStringEnv(env, 'DEAD_LETTER_QUEUE_URL'), 'redis-purger');
const secrets = new SecretsManagerClient({});
const processor = new BatchProcessor(EventType.SQS);

let client: Promise<Redis | Cluster> | undefined;

/** The container's one Redis client; a failed connection is forgotten so the next record tries again. */
function redis(): Promise<Redis | Cluster> {
  client ??= (async () => {
    const config = await resolveCacheConfig(env, secretFromSecretsManager(secrets), { commandTimeoutMs: COMMAND_TIMEOUT_MS, connectTimeoutMs: CONNECT_TIMEOUT_MS });
    const created = createRedis(config);
    created.on('error', (error: Error) => logger.warn('Redis client error', { error: error.message }));
    try {
      return await waitUntilReady(created, CONNECT_TIMEOUT_MS * 2);
    } catch (error) {
      // Stop its reconnect loop: the next record builds a fresh client.
      created.disconnect();
      throw error;
    }
  })().catch((error: unknown) => {
    client = undefined;
    throw error;
  });
  return client;
}

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  const deadline = Date.now() + Math.min(scanBudgetMs, context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS);
  try {
    return await processPartialResponse(
      event,
      (record: SQSRecord) =>
        handleRedisPurgeRecord(record, {
          redis,
          cacheKeys,
          deadLetter,
          continue: async (message) => {
            await sqs.send(new SendMessageCommand({ QueueUrl: purgeQueueUrl, MessageBody: JSON.stringify(message) }));
          },
          forwardCdnPurge: cdnPurgeQueueUrl
            ? async (message) => {
                await sqs.send(new SendMessageCommand({ QueueUrl: cdnPurgeQueueUrl, MessageBody: JSON.stringify(message), DelaySeconds: cdnPurgeDelaySeconds }));
              }
            : undefined,
          now: Date.now,
          deadline,
          maxReceiveCount,
          maxContinuations,
          metrics: invalidationMetrics,
          logger,
        }),
      processor,
      { context, processInParallel: false, throwOnFullBatchFailure: false },
    );
  } finally {
    metrics.publishStoredMetrics();
  }
}
