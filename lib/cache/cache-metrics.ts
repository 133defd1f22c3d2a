import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

/** Namespace of every ElastiCache metric. */
export const ELASTICACHE_NAMESPACE = 'AWS/ElastiCache';

/**
 * A CloudWatch alarm on a metric-math expression may reference at most 10 metrics (a hard limit,
 * "Limits that apply to alarms based on metric math expressions" in the CloudWatch user guide).
 * Every helper here returns something an alarm accepts.
 */
export const MAX_METRICS_PER_ALARM_EXPRESSION = 10;

/** Period of the metric helpers unless the caller gives one. */
export const DEFAULT_METRIC_PERIOD = Duration.minutes(5);

/** How per-node values are combined into one series. */
export enum NodeAggregation {
  /** The worst node (memory, CPU, lag): an alarm fires as soon as any node crosses the threshold. */
  MAX = 'MAX',
  /** The whole cache (connections, counts). */
  SUM = 'SUM',
}

/**
 * Per-node statistics that add up across nodes; any other statistic (Average, Maximum, pNN) is a
 * level that is combined with MAX.
 */
export function aggregationFor(statistic: string): NodeAggregation {
  return statistic === 'Sum' || statistic === 'SampleCount' ? NodeAggregation.SUM : NodeAggregation.MAX;
}

/**
 * The `CacheClusterId` + `CacheNodeId` dimensions of one member of a replication group. Every
 * member of a Valkey/Redis OSS replication group is a one-node cache cluster whose node id is
 * `0001`; host-level (CPUUtilization) and engine metrics (CacheHits, EngineCPUUtilization, ...)
 * are both published per node with these two dimensions.
 */
export function nodeMetric(memberClusterId: string, metricName: string, statistic: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: ELASTICACHE_NAMESPACE,
    metricName,
    dimensionsMap: { CacheClusterId: memberClusterId, CacheNodeId: '0001' },
    ...props,
    statistic,
    period: props.period ?? DEFAULT_METRIC_PERIOD,
  });
}

/**
 * One series for `metricName` over `members`: the member's own metric for one node, a math
 * expression `MAX([m0, m1, ...])` / `SUM([...])` up to {@link MAX_METRICS_PER_ALARM_EXPRESSION}
 * nodes, and beyond that a Metrics Insights query (the CloudWatch-recommended way to alarm over
 * more metrics than an expression may reference) that filters on the members' `CacheClusterId`s.
 * Metrics Insights aggregates raw one-minute observations, so its MAX is the worst node-minute and
 * its SUM the cache total.
 */
export function aggregateNodes(
  members: readonly string[],
  metricName: string,
  statistic: string,
  aggregation: NodeAggregation,
  props: cloudwatch.MetricOptions = {},
): cloudwatch.IMetric {
  const period = props.period ?? DEFAULT_METRIC_PERIOD;
  const label = props.label ?? `${metricName} (${aggregation} over ${members.length} nodes)`;
  if (members.length === 1) return nodeMetric(members[0], metricName, statistic, { ...props, period });
  if (members.length <= MAX_METRICS_PER_ALARM_EXPRESSION) {
    const usingMetrics: Record<string, cloudwatch.IMetric> = {};
    members.forEach((member, i) => {
      usingMetrics[`m${i}`] = nodeMetric(member, metricName, statistic, { ...props, period });
    });
    return new cloudwatch.MathExpression({
      expression: `${aggregation}([${Object.keys(usingMetrics).join(', ')}])`,
      usingMetrics,
      period,
      label,
      color: props.color,
    });
  }
  return new cloudwatch.MathExpression({
    expression: metricsInsightsQuery(members, metricName, aggregation),
    usingMetrics: {},
    period,
    label,
    color: props.color,
  });
}

function metricsInsightsQuery(members: readonly string[], metricName: string, aggregation: NodeAggregation): string {
  const filter = members.map((member) => `CacheClusterId = '${member}'`).join(' OR ');
  return `SELECT ${aggregation}(${metricName}) FROM SCHEMA("${ELASTICACHE_NAMESPACE}", CacheClusterId, CacheNodeId) WHERE ${filter}`;
}

/**
 * Server-side hit rate in percent over `members`. Exact, 100 * ΣCacheHits / (ΣCacheHits +
 * ΣCacheMisses), while the 2 metrics per node fit in one alarm expression (up to 5 nodes). For
 * bigger caches it is the best node's own `CacheHitRate` (MAX over nodes): an alarm on "hit rate
 * below X" then fires only when every node is below X, which with keys spread evenly over hash
 * slots is when the cache as a whole is; a single cold shard goes unnoticed.
 */
export function hitRateOverNodes(members: readonly string[], props: cloudwatch.MetricOptions = {}): cloudwatch.IMetric {
  const period = props.period ?? DEFAULT_METRIC_PERIOD;
  if (members.length * 2 > MAX_METRICS_PER_ALARM_EXPRESSION) {
    return aggregateNodes(members, 'CacheHitRate', 'Average', NodeAggregation.MAX, {
      ...props,
      label: props.label ?? `Cache hit rate % (best of ${members.length} nodes)`,
    });
  }
  const usingMetrics: Record<string, cloudwatch.IMetric> = {};
  members.forEach((member, i) => {
    usingMetrics[`h${i}`] = nodeMetric(member, 'CacheHits', 'Sum', { ...props, period });
    usingMetrics[`m${i}`] = nodeMetric(member, 'CacheMisses', 'Sum', { ...props, period });
  });
  const hits = members.map((_, i) => `h${i}`).join(', ');
  const misses = members.map((_, i) => `m${i}`).join(', ');
  return new cloudwatch.MathExpression({
    expression: `100 * SUM([${hits}]) / (SUM([${hits}]) + SUM([${misses}]))`,
    usingMetrics,
    period,
    label: props.label ?? 'Cache hit rate %',
    color: props.color,
  });
}
