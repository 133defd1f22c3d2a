/**
 * Powertools Logger and Metrics (CloudWatch EMF) for every function, created once per cold start by
 * the adapter and handed to the core. The cache core sees them only through the narrow
 * `CacheLogger`/`CacheMetrics` interfaces.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { CacheMetric, CacheMetrics } from './cache/metrics';

/** The CloudWatch namespace of every metric the functions publish (alarms and the dashboard read it). */
export const METRICS_NAMESPACE = 'CachePyramid';

export interface ObservabilityOptions {
  /** The `service` field of logs and the `service` dimension of metrics, e.g. `api`. */
  readonly serviceName: string;
  /** @default - Powertools' default (`POWERTOOLS_LOG_LEVEL`, else INFO) */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  /** Dimensions added to every metric. @default - only `service` */
  readonly defaultDimensions?: Readonly<Record<string, string>>;
}

export interface Observability {
  readonly logger: Logger;
  /** Publish with `metrics.publishStoredMetrics()` at the end of each invocation. */
  readonly metrics: Metrics;
  /** `metrics` seen as the cache core's `CacheMetrics`. */
  readonly cacheMetrics: CacheMetrics;
}

export function createObservability(options: ObservabilityOptions): Observability {
  const logger = new Logger({ serviceName: options.serviceName, ...(options.logLevel ? { logLevel: options.logLevel } : {}) });
  const metrics = new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: options.serviceName,
    ...(options.defaultDimensions ? { defaultDimensions: { ...options.defaultDimensions } } : {}),
  });
  return { logger, metrics, cacheMetrics: powertoolsCacheMetrics(metrics) };
}

/** Cache counters as `Count` and durations as `Milliseconds` EMF metrics. */
export function powertoolsCacheMetrics(metrics: Metrics): CacheMetrics {
  return {
    count: (metric: CacheMetric, value = 1) => metrics.addMetric(metric, MetricUnit.Count, value),
    timing: (metric: CacheMetric, milliseconds: number) => metrics.addMetric(metric, MetricUnit.Milliseconds, milliseconds),
  };
}
