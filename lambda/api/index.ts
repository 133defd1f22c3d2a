/**
 * The API function: API Gateway HTTP API (payload v2) in, response out. A thin adapter over
 * `createApi` (lambda/runtime/api): clients are built once per sandbox, on the first invocation, and
 * reused by every later one; Powertools logs and EMF metrics are flushed after each invocation.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { ApiEvent } from '../shop/api/api';
import { ApiResponse, CacheLogger, createObservability, errorResponse, secretFromSecretsManager } from 'cache-pyramid/runtime';
import { ApiRuntime, createApiRuntime } from './runtime';

const { logger, metrics, cacheMetrics } = createObservability({ serviceName: 'api' });
// Powertools takes attributes as a rest parameter; the core's narrow logger passes one object.
const coreLogger: CacheLogger = {
  debug: (message, attributes) => logger.debug(message, attributes ?? {}),
  info: (message, attributes) => logger.info(message, attributes ?? {}),
  warn: (message, attributes) => logger.warn(message, attributes ?? {}),
  error: (message, attributes) => logger.error(message, attributes ?? {}),
};
// Its client is loaded when the first secret is read (the first invocation's start), not by require():
// see docs/benchmarks.md (cold-start) for what that moves and what it saves.
const readSecret = secretFromSecretsManager();
let runtime: Promise<ApiRuntime> | undefined;

function ensureRuntime(): Promise<ApiRuntime> {
  runtime ??= createApiRuntime({ env: process.env, readSecret, logger: coreLogger, cacheMetrics }).catch((error: unknown) => {
    // A failed start (Secrets Manager throttled, a bad variable) is retried by the next invocation.
    runtime = undefined;
    throw error;
  });
  return runtime;
}

export async function handler(event: ApiEvent, context?: Context): Promise<ApiResponse> {
  if (context) logger.addContext(context);
  metrics.captureColdStartMetric();
  try {
    const api = await ensureRuntime().catch((error: unknown) => {
      logger.error('API failed to start', { error: error instanceof Error ? error.message : String(error) });
      return undefined;
    });
    if (!api) return errorResponse(503, 'unavailable', 'the service is starting or misconfigured, retry later', { headers: { 'retry-after': '5' } });
    await api.beforeInvocation();
    const response = await api.handle(event);
    if (response.statusCode === 503) metrics.addMetric('ApiOriginUnavailable', MetricUnit.Count, 1);
    else if (response.statusCode >= 500) metrics.addMetric('ApiServerError', MetricUnit.Count, 1);
    return response;
  } finally {
    metrics.publishStoredMetrics();
  }
}
