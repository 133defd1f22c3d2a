import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';

/** The cache engine of an ElastiCache replication group or serverless cache. */
export enum CacheEngine {
  VALKEY = 'valkey',
  REDIS = 'redis',
}

/**
 * What the rest of the pyramid needs from a cache, node-based ({@link RedisCache}) or serverless
 * ({@link ServerlessRedisCache}): where it is, how to reach it, and the metrics the alarms use.
 *
 * Metric helpers that aggregate nodes return one `IMetric` (a math expression over the member
 * nodes' metrics where there is more than one node): "any node" metrics use MAX, counts use SUM.
 */
export interface ICacheCluster extends ec2.IConnectable {
  readonly engine: CacheEngine;
  /** Host of the primary (cluster mode disabled) or configuration (enabled / serverless) endpoint. */
  readonly endpointAddress: string;
  /** Port of that endpoint. */
  readonly endpointPort: number;
  /** True when clients must use the cluster protocol (cluster mode enabled, and every serverless cache). */
  readonly clusterModeEnabled: boolean;
  /** Secret holding the AUTH token / RBAC password, when there is one. */
  readonly authSecret?: secretsmanager.ISecret;
  /** The per-node `CacheClusterId` dimension values (empty for a serverless cache). */
  readonly memberClusterIds: string[];
  /** Environment variables the runtime reads (docs/runtime.md: `CACHE_ENDPOINT`, `CACHE_TLS`, ...) for a function that uses this cache. */
  readonly clientEnvironment: Record<string, string>;

  /** Lets `grantee` open connections on the cache port and read its AUTH secret. */
  grantConnect(grantee: ec2.IConnectable & iam.IGrantable): void;

  /** Any `AWS/ElastiCache` metric of this cache, aggregated over its nodes with `statistic`. */
  metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  /** Server-side hit rate, percent: 100 * SUM(CacheHits) / (SUM(CacheHits) + SUM(CacheMisses)) over all nodes. */
  metricCacheHitRate(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  /** DatabaseMemoryUsagePercentage, MAX over nodes (serverless: BytesUsedForCache as a percent of the limit). */
  metricDatabaseMemoryUsagePercentage(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  /** Evictions, per node summed over the period, MAX over nodes. */
  metricEvictions(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  /** EngineCPUUtilization, MAX over nodes (serverless: ElastiCacheProcessingUnits). */
  metricEngineCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  /** CurrConnections, SUM over nodes. */
  metricCurrConnections(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  /** ReplicationLag, MAX over replica nodes (undefined when there are no replicas / serverless). */
  metricReplicationLag(props?: cloudwatch.MetricOptions): cloudwatch.IMetric | undefined;
}
