import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { ICacheCluster } from '../cache/cache-cluster';
import { MAX_METRICS_PER_ALARM_EXPRESSION, nodeMetric } from '../cache/cache-metrics';
import {
  AlarmGroupProps,
  PyramidAlarmSpec,
  balancedGroups,
  createPyramidAlarm,
  formatNumber,
  validateAlarmNamePrefix,
  validateRange,
  validateWindowMinutes,
} from './alarm-support';

const ONE_MINUTE = Duration.minutes(1);
/** ElastiCache's fixed `maxclients` per node (and per serverless cache). */
const ELASTICACHE_MAX_CLIENTS = 65_000;

/** Props for {@link CacheAlarms}. */
export interface CacheAlarmsProps extends AlarmGroupProps {
  /** The cache to watch, node-based ({@link ICacheCluster.memberClusterIds} not empty) or serverless. */
  readonly cache: ICacheCluster;
  /** Server-side hit rate below which the hit-rate alarm fires, percent (seed: `< 0.8`). @default 80 */
  readonly hitRateThresholdPercent?: number;
  /** How long the hit rate must stay low, 1-minute datapoints (seed: `for: 5m`). @default Duration.minutes(5) */
  readonly hitRateWindow?: Duration;
  /** Memory use above which the memory alarm fires, percent of the node's max memory (seed: `> 0.9`). @default 90 */
  readonly memoryThresholdPercent?: number;
  /** How long memory must stay high, 1-minute datapoints (seed: `for: 5m`). @default Duration.minutes(5) */
  readonly memoryWindow?: Duration;
  /** Evictions per second on one node above which the evictions alarm fires (seed: `rate(...) > 10`). @default 10 */
  readonly evictionsPerSecondThreshold?: number;
  /** The window the eviction rate is averaged over (seed: `[5m]`); also the alarm's period. @default Duration.minutes(5) */
  readonly evictionsWindow?: Duration;
  /** Engine CPU above which the CPU alarm fires, percent of the engine thread's core. @default 90 */
  readonly engineCpuThresholdPercent?: number;
  /** Client connections on one node (or the serverless cache) above which the connections alarm fires. @default 52000 (80 % of ElastiCache's 65 000 maxclients) */
  readonly connectionsThreshold?: number;
  /** Replica lag above which the replication-lag alarm fires (node-based caches with replicas only). @default Duration.seconds(5) */
  readonly replicationLagThreshold?: Duration;
  /** How long CPU, connections and replication lag must stay high, 1-minute datapoints. @default Duration.minutes(5) */
  readonly sustainedWindow?: Duration;
  /**
   * How every alarm of this group treats minutes without data. NOT_BREACHING keeps an idle cache
   * (no reads, so no hit rate; no replicas reporting lag) from alarming.
   * @default cloudwatch.TreatMissingData.NOT_BREACHING
   */
  readonly treatMissingData?: cloudwatch.TreatMissingData;
}

/**
 * The seed's three Redis alert rules, mirrored in CloudWatch, plus engine CPU, connections and
 * replication lag, for a node-based ({@link ICacheCluster.memberClusterIds}) or serverless cache.
 *
 * Node-based caches publish per node; the alarms combine the members with metric math: the hit
 * rate is SUM(hits) / (SUM(hits) + SUM(misses)), the others are the MAX over nodes ("on any
 * node"). A math alarm may reference at most 10 metrics, a hard CloudWatch limit, so when the
 * cache has more nodes than fit (5 for the hit rate, which needs two metrics per node; 10 for the
 * others) each alarm is split by shards (see {@link nodeGroups}): `cache-hit-rate-0001-0002`,
 * `cache-hit-rate-0003`, ... Serverless caches publish one series per cache (`clusterId`).
 */
export class CacheAlarms extends Construct {
  /** `<prefix>-cache-hit-rate` (or one per node group on large clusters): seed rule CacheHitRateLow. */
  readonly hitRateAlarms: cloudwatch.Alarm[];
  /** `<prefix>-cache-memory` (or per node group): seed rule RedisMemoryHigh. */
  readonly memoryAlarms: cloudwatch.Alarm[];
  /** `<prefix>-cache-evictions` (or per node group): seed rule RedisEvictionsHigh. */
  readonly evictionsAlarms: cloudwatch.Alarm[];
  /** `<prefix>-cache-engine-cpu` per node group (node-based), `<prefix>-cache-throttled-commands` (serverless). */
  readonly capacityAlarms: cloudwatch.Alarm[];
  /** `<prefix>-cache-connections` (or per node group). */
  readonly connectionsAlarms: cloudwatch.Alarm[];
  /** `<prefix>-cache-replication-lag` (or per node group); empty without replicas or for serverless. */
  readonly replicationLagAlarms: cloudwatch.Alarm[];
  /** Every alarm above. */
  readonly alarms: cloudwatch.Alarm[];

  private readonly group: AlarmGroupProps;
  private readonly treatMissingData: cloudwatch.TreatMissingData;

  constructor(scope: Construct, id: string, props: CacheAlarmsProps) {
    super(scope, id);
    validateAlarmNamePrefix('alarmNamePrefix', props.alarmNamePrefix);
    validateRange('hitRateThresholdPercent', props.hitRateThresholdPercent, 0, 100);
    validateRange('memoryThresholdPercent', props.memoryThresholdPercent, 0, 100);
    validateRange('engineCpuThresholdPercent', props.engineCpuThresholdPercent, 0, 100);
    validateRange('evictionsPerSecondThreshold', props.evictionsPerSecondThreshold, 0, 1_000_000);
    validateRange('connectionsThreshold', props.connectionsThreshold, 1, ELASTICACHE_MAX_CLIENTS);
    validateWindowMinutes('hitRateWindow', props.hitRateWindow);
    validateWindowMinutes('memoryWindow', props.memoryWindow);
    validateWindowMinutes('evictionsWindow', props.evictionsWindow);
    validateWindowMinutes('sustainedWindow', props.sustainedWindow);
    if (props.replicationLagThreshold && !props.replicationLagThreshold.isUnresolved() && props.replicationLagThreshold.toMilliseconds() <= 0) {
      throw new Error(`\`replicationLagThreshold\` must be positive, got ${props.replicationLagThreshold.toHumanString()}`);
    }

    this.group = { alarmNamePrefix: props.alarmNamePrefix, alarmActions: props.alarmActions };
    this.treatMissingData = props.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING;
    const cache = props.cache;
    const nodes = cache.memberClusterIds;
    const serverless = nodes.length === 0;

    const hitRateThreshold = props.hitRateThresholdPercent ?? 80;
    const hitRateMinutes = minutes(props.hitRateWindow ?? Duration.minutes(5));
    const memoryThreshold = props.memoryThresholdPercent ?? 90;
    const memoryMinutes = minutes(props.memoryWindow ?? Duration.minutes(5));
    const evictionsRate = props.evictionsPerSecondThreshold ?? 10;
    const evictionsWindow = props.evictionsWindow ?? Duration.minutes(5);
    const evictionsThreshold = evictionsRate * evictionsWindow.toSeconds();
    const cpuThreshold = props.engineCpuThresholdPercent ?? 90;
    const connectionsThreshold = props.connectionsThreshold ?? Math.round(ELASTICACHE_MAX_CLIENTS * 0.8);
    const lagSeconds = (props.replicationLagThreshold ?? Duration.seconds(5)).toMilliseconds() / 1000;
    const sustainedMinutes = minutes(props.sustainedWindow ?? Duration.minutes(5));

    this.hitRateAlarms = this.perNodeGroup(
      'HitRate',
      serverless ? WHOLE_CACHE : nodeGroups(nodes, MAX_METRICS_PER_ALARM_EXPRESSION / 2),
      'cache-hit-rate',
      (members) => ({
        metric: serverless
          ? hitRate(cache.metric('CacheHits', sum(ONE_MINUTE)), cache.metric('CacheMisses', sum(ONE_MINUTE)))
          : hitRate(
              aggregate('SUM', 'hits', members.map((node) => nodeMetric(node, 'CacheHits', 'Sum', { period: ONE_MINUTE }))),
              aggregate('SUM', 'misses', members.map((node) => nodeMetric(node, 'CacheMisses', 'Sum', { period: ONE_MINUTE }))),
            ),
        threshold: hitRateThreshold,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: hitRateMinutes,
        description:
          `Seed rule CacheHitRateLow: the server-side cache hit rate (hits / (hits + misses)${overNodes(members)}) has been below ` +
          `${formatNumber(hitRateThreshold)} % for ${hitRateMinutes} consecutive minutes; minutes without reads do not count. ` +
          'Check first: a recent deploy that changed key names or the key schema version, a mass invalidation, ' +
          'evictions (see the cache-evictions alarm) and TTLs shorter than the access interval.',
      }),
    );

    this.memoryAlarms = this.perNodeGroup(
      'Memory',
      serverless ? WHOLE_CACHE : nodeGroups(nodes, MAX_METRICS_PER_ALARM_EXPRESSION),
      'cache-memory',
      (members) => ({
        metric: serverless
          ? cache.metricDatabaseMemoryUsagePercentage({ period: ONE_MINUTE })
          : aggregate('MAX', 'memory', members.map((node) => nodeMetric(node, 'DatabaseMemoryUsagePercentage', 'Maximum', { period: ONE_MINUTE }))),
        threshold: memoryThreshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: memoryMinutes,
        description:
          `Seed rule RedisMemoryHigh: memory used has been above ${formatNumber(memoryThreshold)} % of the maximum on ` +
          `${serverless ? 'the serverless cache (its data-storage limit)' : `at least one node${oneOf(members)}`} for ${memoryMinutes} consecutive minutes. ` +
          'Check first: keys written without a TTL or with very long TTLs, a large-value hot key, and whether to scale ' +
          '(node type, more shards) before evictions start.',
      }),
    );

    this.evictionsAlarms = this.perNodeGroup(
      'Evictions',
      serverless ? WHOLE_CACHE : nodeGroups(nodes, MAX_METRICS_PER_ALARM_EXPRESSION),
      'cache-evictions',
      (members) => ({
        metric: serverless
          ? cache.metric('Evictions', sum(evictionsWindow))
          : aggregate('MAX', 'evictions', members.map((node) => nodeMetric(node, 'Evictions', 'Sum', { period: evictionsWindow }))),
        threshold: evictionsThreshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        description:
          `Seed rule RedisEvictionsHigh: ${serverless ? 'the serverless cache' : `a node${oneOf(members)}`} evicted more than ` +
          `${formatNumber(evictionsThreshold)} keys in ${evictionsWindow.toHumanString()} (over ${formatNumber(evictionsRate)} per second). ` +
          'Memory is full and the eviction policy is dropping live keys, which lowers the hit rate. Check first: ' +
          'the cache-memory alarm, keys without TTLs, and whether the working set has outgrown the node type.',
      }),
    );

    this.capacityAlarms = serverless
      ? this.perNodeGroup('ThrottledCommands', WHOLE_CACHE, 'cache-throttled-commands', () => ({
          metric: cache.metric('ThrottledCmds', sum(Duration.minutes(sustainedMinutes))),
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          description:
            `The serverless cache throttled commands in the last ${sustainedMinutes} minutes: requests grow faster than ` +
            'it scales, or the ECPU-per-second usage limit is reached. Check first: the ElastiCacheProcessingUnits graph ' +
            'against the configured usage limits, and hot keys or large multi-key commands.',
        }))
      : this.perNodeGroup('EngineCpu', nodeGroups(nodes, MAX_METRICS_PER_ALARM_EXPRESSION), 'cache-engine-cpu', (members) => ({
          metric: aggregate('MAX', 'cpu', members.map((node) => nodeMetric(node, 'EngineCPUUtilization', 'Average', { period: ONE_MINUTE }))),
          threshold: cpuThreshold,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: sustainedMinutes,
          description:
            `The Redis/Valkey engine thread of at least one node${oneOf(members)} has been above ${formatNumber(cpuThreshold)} % CPU ` +
            `for ${sustainedMinutes} consecutive minutes; commands queue and latency rises. Check first: slow-log entries ` +
            '(O(N) commands, large values), a hot key concentrating load on one shard, and the connection count.',
        }));

    this.connectionsAlarms = this.perNodeGroup(
      'Connections',
      serverless ? WHOLE_CACHE : nodeGroups(nodes, MAX_METRICS_PER_ALARM_EXPRESSION),
      'cache-connections',
      (members) => ({
        metric: serverless
          ? cache.metric('CurrConnections', { statistic: cloudwatch.Stats.MAXIMUM, period: ONE_MINUTE })
          : aggregate('MAX', 'connections', members.map((node) => nodeMetric(node, 'CurrConnections', 'Maximum', { period: ONE_MINUTE }))),
        threshold: connectionsThreshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: sustainedMinutes,
        description:
          `${serverless ? 'The serverless cache' : `At least one node${oneOf(members)}`} has held more than ` +
          `${formatNumber(connectionsThreshold)} client connections for ${sustainedMinutes} consecutive minutes ` +
          `(ElastiCache refuses connections at ${ELASTICACHE_MAX_CLIENTS}). Check first: function concurrency (each warm ` +
          'instance holds its own connections), clients created per request instead of once per instance, and NewConnections.',
      }),
    );

    const hasReplicas = !serverless && cache.metricReplicationLag() !== undefined;
    this.replicationLagAlarms = hasReplicas
      ? this.perNodeGroup('ReplicationLag', nodeGroups(nodes, MAX_METRICS_PER_ALARM_EXPRESSION), 'cache-replication-lag', (members) => ({
          // Only replicas publish ReplicationLag, so the MAX over every member is the MAX over the replicas,
          // whichever nodes are replicas after a failover.
          metric: aggregate('MAX', 'lag', members.map((node) => nodeMetric(node, 'ReplicationLag', 'Maximum', { period: ONE_MINUTE }))),
          threshold: lagSeconds,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: sustainedMinutes,
          description:
            `A replica${oneOf(members)} has been more than ${formatNumber(lagSeconds)} s behind its primary for ` +
            `${sustainedMinutes} consecutive minutes: reads served by replicas are stale and a failover now would lose ` +
            'recent writes. Check first: write volume and large values on the primary, network throughput of the node type, ' +
            'and the primary\'s engine CPU.',
        }))
      : [];

    this.alarms = [
      ...this.hitRateAlarms,
      ...this.memoryAlarms,
      ...this.evictionsAlarms,
      ...this.capacityAlarms,
      ...this.connectionsAlarms,
      ...this.replicationLagAlarms,
    ];
  }

  /** One alarm per node group, named `<suffix>` for the whole cache or `<suffix>-<group>`. */
  private perNodeGroup(
    id: string,
    groups: NodeGroup[],
    suffix: string,
    spec: (members: string[]) => Omit<PyramidAlarmSpec, 'suffix' | 'treatMissingData'>,
  ): cloudwatch.Alarm[] {
    return groups.map(({ name, members }) =>
      createPyramidAlarm(this, name === undefined ? id : `${id}-${name}`, this.group, {
        ...spec(members),
        suffix: name === undefined ? suffix : `${suffix}-${name}`,
        treatMissingData: this.treatMissingData,
      }),
    );
  }
}

function minutes(window: Duration): number {
  return window.toSeconds() / 60;
}

function sum(period: Duration): cloudwatch.MetricOptions {
  return { statistic: cloudwatch.Stats.SUM, period };
}

/**
 * `FN([id0, id1, ...])` over the nodes' metrics, or the metric itself for one node. The ids
 * (`hits0`, `memory3`) start lowercase and are alphanumeric, as CloudWatch requires.
 */
function aggregate(fn: 'SUM' | 'MAX', idPrefix: string, metrics: cloudwatch.Metric[]): cloudwatch.IMetric {
  if (metrics.length === 1) return metrics[0];
  const usingMetrics: Record<string, cloudwatch.IMetric> = {};
  metrics.forEach((metric, index) => {
    usingMetrics[`${idPrefix}${index}`] = metric;
  });
  return new cloudwatch.MathExpression({
    expression: `${fn}([${Object.keys(usingMetrics).join(', ')}])`,
    usingMetrics,
    period: metrics[0].period,
    label: `${fn} of ${metrics[0].metricName} over ${metrics.length} nodes`,
  });
}

/**
 * 100 · hits / (hits + misses), with no datapoint at all for a minute without lookups: the two-argument
 * IF drops the point, and NOT_BREACHING then keeps an idle cache out of ALARM.
 */
function hitRate(hits: cloudwatch.IMetric, misses: cloudwatch.IMetric): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: 'IF((hits + misses) > 0, 100 * hits / (hits + misses))',
    usingMetrics: { hits, misses },
    period: ONE_MINUTE,
    label: 'Cache hit rate (%)',
  });
}

/** Members watched by one alarm; `name` is undefined when one alarm covers the whole cache. */
interface NodeGroup {
  readonly name?: string;
  readonly members: string[];
}

const WHOLE_CACHE: NodeGroup[] = [{ members: [] }];

/** `<replicationGroupId>-<shard>-<node>`, the member ids of a cluster-mode-enabled replication group. */
const SHARDED_MEMBER_ID = /^(.+)-(\d{4})-\d{3}$/;

/**
 * The node groups alarms are split into so each stays within CloudWatch's metric limit: the
 * whole cache when it fits; otherwise whole shards packed into as few, evenly sized groups as fit,
 * named by their node-group ids (`0003`, or `0001-0002` for a range), so each alarm is exact for
 * the keyspace of its shards; a shard that alone does not fit is split (`0001-part1`, ...). Member
 * ids of another form fall back to even contiguous groups `1`, `2`, ...
 */
export function nodeGroups(memberClusterIds: readonly string[], maxNodes: number): NodeGroup[] {
  if (memberClusterIds.length <= maxNodes) return [{ members: [...memberClusterIds] }];
  const shards = new Map<string, string[]>();
  for (const id of memberClusterIds) {
    const match = SHARDED_MEMBER_ID.exec(id);
    if (match === null) {
      return balancedGroups(memberClusterIds, maxNodes).map((members, index) => ({ name: String(index + 1), members }));
    }
    shards.set(match[2], [...(shards.get(match[2]) ?? []), id]);
  }
  const largestShard = Math.max(...[...shards.values()].map((members) => members.length));
  if (largestShard > maxNodes) {
    return [...shards.entries()].flatMap(([shard, members]) =>
      balancedGroups(members, maxNodes).map((part, index) => ({ name: `${shard}-part${index + 1}`, members: part })),
    );
  }
  return balancedGroups([...shards.keys()], Math.floor(maxNodes / largestShard)).map((shardIds) => ({
    name: shardIds.length === 1 ? shardIds[0] : `${shardIds[0]}-${shardIds[shardIds.length - 1]}`,
    members: shardIds.flatMap((shard) => shards.get(shard) ?? []),
  }));
}

function overNodes(members: string[]): string {
  return members.length === 0 ? '' : ` over nodes ${members.join(', ')}`;
}

function oneOf(members: string[]): string {
  return members.length === 0 ? '' : ` (one of ${members.join(', ')})`;
}
