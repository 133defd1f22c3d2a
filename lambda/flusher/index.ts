/**
 * The write-behind flusher: an SQS FIFO event source (batches of up to 10, the FIFO limit) with
 * `ReportBatchItemFailures`. Maps the event to the core's records, runs the core, publishes its
 * counts as metrics and answers the partial batch response.
 *
 * Environment: `DATABASE_URL` (local) or `DB_HOST`/`DB_NAME`/`DB_SECRET_ARN` (AWS);
 * `WRITE_BEHIND_DLQ_URL` (the FIFO dead-letter queue, for records dead-lettered with a reason);
 * `WRITE_BEHIND_MAX_RECEIVE_COUNT` (the queue's `maxReceiveCount`, default 5); optionally the cache
 * (`REDIS_URL`, or `CACHE_ENDPOINT`/`CACHE_TLS`/`CACHE_CLUSTER_MODE`/`CACHE_AUTH_SECRET_ARN`): with it,
 * the cached profiles are refreshed from the rows just written, so the cache converges on PostgreSQL
 * at every flush; without it they converge at their TTL.
 */
import { FullBatchFailureError } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SQSClient } from '@aws-sdk/client-sqs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Pool } from 'pg';
import { CacheClient, CacheKeys, createObservability, createPool, parseTtlTable, ReadThroughCache, resolveCacheConfig, resolveDbPoolConfig, secretFromSecretsManager, SqsDeadLetterSink } from 'cache-pyramid/runtime';
import type { UserSummary } from '../shop/repositories';
import { refreshCachedProfiles } from '../shop/write-behind/cache-refresh';
import { flushProfileChanges, toFlushRecord } from '../shop/write-behind/flusher';

const { logger, metrics } = createObservability({ serviceName: 'write-behind-flusher' });
const sqs = new SQSClient({});
const secrets = new SecretsManagerClient({});

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function maxReceiveCount(): number {
  const raw = process.env.WRITE_BEHIND_MAX_RECEIVE_COUNT;
  if (raw === undefined || raw === '') return 5;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 1000) {
    throw new Error(`WRITE_BEHIND_MAX_RECEIVE_COUNT must be an integer between 1 and 1000, got ${JSON.stringify(raw)}`);
  }
  return value;
}

const deadLetters = new SqsDeadLetterSink(sqs, requiredEnv('WRITE_BEHIND_DLQ_URL'));
const receivesBeforeDeadLetter = maxReceiveCount();

let pool: Promise<Pool> | undefined;

/** The pool, created once per sandbox; a failed creation (Secrets Manager unreachable) is retried by the next invocation. */
function getPool(): Promise<Pool> {
  pool ??= resolveDbPoolConfig({
    env: process.env,
    applicationName: 'cache-pyramid-flusher',
    readSecret: async (secretId) => {
      const response = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
      if (!response.SecretString) throw new Error(`secret ${secretId} has no SecretString`);
      return response.SecretString;
    },
  })
    .then((config) => createPool(config, (error) => logger.warn('idle PostgreSQL connection failed', { error: error.message })))
    .catch((error: unknown) => {
      pool = undefined;
      throw error;
    });
  return pool;
}

type ProfileRefresher = (profiles: readonly UserSummary[]) => Promise<void>;
let refresher: Promise<ProfileRefresher | undefined> | undefined;

/** The cached-profile refresher when a cache is configured; built once per sandbox, retried after a failed start. */
function getRefresher(): Promise<ProfileRefresher | undefined> {
  if (!process.env.REDIS_URL && !process.env.CACHE_ENDPOINT) return Promise.resolve(undefined);
  // A background worker: it can wait for the cache longer than a request would (the read path's 50 ms).
  refresher ??= resolveCacheConfig(process.env, secretFromSecretsManager(secrets), { connectTimeoutMs: 1000, commandTimeoutMs: 500 })
    .then((config) => {
      const client = CacheClient.connect(config, { logger });
      const keys = new CacheKeys({ clusterMode: client.isCluster });
      const cache = new ReadThroughCache({ client, keys, ttls: parseTtlTable(process.env.CACHE_TTLS), logger, l1: false });
      return refreshCachedProfiles(cache, keys);
    })
    .catch((error: unknown) => {
      refresher = undefined;
      logger.warn('cache not configured correctly; profiles are written without refreshing their cache entries', { error: String(error) });
      return undefined;
    });
  return refresher;
}

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const records = event.Records.map(toFlushRecord);
  try {
    const [db, onUpdated] = await Promise.all([getPool(), getRefresher()]);
    const report = await flushProfileChanges(records, {
      db,
      deadLetters,
      maxReceiveCount: receivesBeforeDeadLetter,
      log: logger,
      onUpdated,
    });
    metrics.addMetric('ProfileChangesApplied', MetricUnit.Count, report.applied);
    metrics.addMetric('ProfileChangesSuperseded', MetricUnit.Count, report.superseded + report.duplicates);
    metrics.addMetric('ProfileChangesUnknownUser', MetricUnit.Count, report.unknownUsers);
    metrics.addMetric('ProfileChangesDeadLettered', MetricUnit.Count, report.deadLettered.poison + report.deadLettered.exhausted);
    metrics.addMetric('ProfileChangesReturned', MetricUnit.Count, report.batchItemFailures.length);
    if (records.length > 0 && report.batchItemFailures.length === records.length) {
      // As Powertools does: a batch that failed whole is an invocation error, visible in the
      // function's Errors metric and alarms; SQS returns every record to the queue either way.
      throw new FullBatchFailureError([new Error(`none of ${records.length} profile changes could be written`)]);
    }
    return { batchItemFailures: report.batchItemFailures };
  } finally {
    metrics.publishStoredMetrics();
  }
}
