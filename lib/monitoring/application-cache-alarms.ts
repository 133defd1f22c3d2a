import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { CacheMetric } from '../../lambda/runtime/cache/metrics';
import { AlarmGroupProps, createPyramidAlarm, formatNumber, validateAlarmNamePrefix, validateRange, validateWindowMinutes } from './alarm-support';

/** Namespace the functions publish their cache metrics to (EMF, through Powertools Metrics). */
export const APPLICATION_METRICS_NAMESPACE = 'CachePyramid';

/**
 * The functions' cache metrics: the very enum the runtime publishes with
 * (`lambda/runtime/cache/metrics.ts`), so an alarm can never watch a name nobody emits.
 */
export const ApplicationCacheMetric = CacheMetric;
export type ApplicationCacheMetric = CacheMetric;

/** The two cache layers inside the functions. */
export enum CacheLayer {
  /** The in-process LRU. */
  L1 = 'L1',
  /** ElastiCache, as the functions see it. */
  REDIS = 'Redis',
}

const ONE_MINUTE = Duration.minutes(1);

/** The application-side metrics of one service, as the dashboard and the alarms read them. */
export class ApplicationCacheMetrics {
  constructor(
    /** Value of the `service` dimension Powertools adds to every metric. */
    readonly serviceName: string,
  ) {}

  /** One counter, SUM per `period`. */
  count(metric: ApplicationCacheMetric, period: Duration = ONE_MINUTE): cloudwatch.Metric {
    return this.metric(metric, cloudwatch.Stats.SUM, period);
  }

  /** Any statistic of one metric. */
  metric(metric: ApplicationCacheMetric, statistic: string, period: Duration = ONE_MINUTE): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: APPLICATION_METRICS_NAMESPACE,
      metricName: metric,
      dimensionsMap: { service: this.serviceName },
      statistic,
      period,
    });
  }

  /**
   * Hit rate of one layer, percent. EMF publishes a counter only in minutes it was incremented, so
   * each side is FILLed with 0 (a minute of only misses is 0 %, not "no data"); a minute without
   * any lookup still yields no datapoint.
   */
  hitRate(layer: CacheLayer, period: Duration = ONE_MINUTE): cloudwatch.MathExpression {
    const [hit, miss] =
      layer === CacheLayer.L1
        ? [ApplicationCacheMetric.L1_HIT, ApplicationCacheMetric.L1_MISS]
        : [ApplicationCacheMetric.REDIS_HIT, ApplicationCacheMetric.REDIS_MISS];
    // Ids carry the layer so both layers can share a graph.
    const [hits, misses] = layer === CacheLayer.L1 ? ['l1Hits', 'l1Misses'] : ['redisHits', 'redisMisses'];
    return new cloudwatch.MathExpression({
      expression: `IF((FILL(${hits}, 0) + FILL(${misses}, 0)) > 0, 100 * FILL(${hits}, 0) / (FILL(${hits}, 0) + FILL(${misses}, 0)))`,
      usingMetrics: { [hits]: this.count(hit, period), [misses]: this.count(miss, period) },
      period,
      label: `${layer} hit rate (%)`,
    });
  }

  /** Share of Redis operations that failed or were skipped by the open circuit, percent. */
  cacheErrorRate(period: Duration = ONE_MINUTE): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression:
        'IF((FILL(redisHits, 0) + FILL(redisMisses, 0) + FILL(cacheErrors, 0)) > 0, ' +
        '100 * FILL(cacheErrors, 0) / (FILL(redisHits, 0) + FILL(redisMisses, 0) + FILL(cacheErrors, 0)))',
      usingMetrics: {
        redisHits: this.count(ApplicationCacheMetric.REDIS_HIT, period),
        redisMisses: this.count(ApplicationCacheMetric.REDIS_MISS, period),
        cacheErrors: this.count(ApplicationCacheMetric.CACHE_ERROR, period),
      },
      period,
      label: 'Cache error rate (%)',
    });
  }
}

/** Props for {@link ApplicationCacheAlarms}. */
export interface ApplicationCacheAlarmsProps extends AlarmGroupProps {
  /** Value of the `service` dimension on the functions' metrics (Powertools `serviceName`). */
  readonly serviceName: string;
  /** Redis-layer hit rate, as the functions see it, below which the alarm fires, percent. @default 80 */
  readonly redisHitRateThresholdPercent?: number;
  /**
   * L1 (in-process) hit rate below which an alarm fires, percent. Its healthy level depends on how
   * requests spread over warm instances, so there is no default alarm; the dashboard graphs it.
   * @default - no L1 alarm
   */
  readonly l1HitRateThresholdPercent?: number;
  /** Share of Redis operations failing (or skipped by the open circuit) above which the alarm fires, percent. @default 5 */
  readonly cacheErrorRateThresholdPercent?: number;
  /** p99 of one origin load above which the latency alarm fires. @default Duration.seconds(1) */
  readonly originLatencyP99Threshold?: Duration;
  /** How long each condition must hold, 1-minute datapoints. @default Duration.minutes(5) */
  readonly window?: Duration;
  /** How minutes without lookups are treated. @default cloudwatch.TreatMissingData.NOT_BREACHING */
  readonly treatMissingData?: cloudwatch.TreatMissingData;
}

/**
 * Alarms on what the functions measure (EMF metrics in the `CachePyramid` namespace): the Redis
 * layer's hit rate as the application sees it, optionally the L1 hit rate, the cache error rate
 * and the origin's p99 load latency.
 */
export class ApplicationCacheAlarms extends Construct {
  readonly metrics: ApplicationCacheMetrics;
  /** `<prefix>-app-redis-hit-rate`. */
  readonly redisHitRateAlarm: cloudwatch.Alarm;
  /** `<prefix>-app-l1-hit-rate`, when `l1HitRateThresholdPercent` is set. */
  readonly l1HitRateAlarm?: cloudwatch.Alarm;
  /** `<prefix>-app-cache-errors`. */
  readonly cacheErrorRateAlarm: cloudwatch.Alarm;
  /** `<prefix>-app-origin-latency`. */
  readonly originLatencyAlarm: cloudwatch.Alarm;
  /** Every alarm of this group. */
  readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: ApplicationCacheAlarmsProps) {
    super(scope, id);
    validateAlarmNamePrefix('alarmNamePrefix', props.alarmNamePrefix);
    if (!Token.isUnresolved(props.serviceName) && !/^[\w.:/-]{1,255}$/.test(props.serviceName)) {
      throw new Error(`\`serviceName\` must be a CloudWatch dimension value (1-255 characters, no spaces), got '${props.serviceName}'`);
    }
    validateRange('redisHitRateThresholdPercent', props.redisHitRateThresholdPercent, 0, 100);
    validateRange('l1HitRateThresholdPercent', props.l1HitRateThresholdPercent, 0, 100);
    validateRange('cacheErrorRateThresholdPercent', props.cacheErrorRateThresholdPercent, 0, 100);
    validateWindowMinutes('window', props.window);
    const latency = props.originLatencyP99Threshold;
    if (latency !== undefined && !latency.isUnresolved() && latency.toMilliseconds() <= 0) {
      throw new Error(`\`originLatencyP99Threshold\` must be positive, got ${latency.toHumanString()}`);
    }

    const group: AlarmGroupProps = { alarmNamePrefix: props.alarmNamePrefix, alarmActions: props.alarmActions };
    const treatMissingData = props.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING;
    const windowMinutes = (props.window ?? Duration.minutes(5)).toSeconds() / 60;
    const redisThreshold = props.redisHitRateThresholdPercent ?? 80;
    const errorThreshold = props.cacheErrorRateThresholdPercent ?? 5;
    const latencyMs = (latency ?? Duration.seconds(1)).toMilliseconds();
    this.metrics = new ApplicationCacheMetrics(props.serviceName);

    this.redisHitRateAlarm = createPyramidAlarm(this, 'RedisHitRate', group, {
      suffix: 'app-redis-hit-rate',
      metric: this.metrics.hitRate(CacheLayer.REDIS),
      threshold: redisThreshold,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: windowMinutes,
      treatMissingData,
      description:
        `Service ${props.serviceName}: of the lookups that missed L1, fewer than ${formatNumber(redisThreshold)} % found their ` +
        `key in Redis, in each of the last ${windowMinutes} minutes. Check first: the server-side cache-hit-rate and ` +
        'cache-evictions alarms, a deploy that changed key names or the schema version, and invalidation volume.',
    });

    if (props.l1HitRateThresholdPercent !== undefined) {
      this.l1HitRateAlarm = createPyramidAlarm(this, 'L1HitRate', group, {
        suffix: 'app-l1-hit-rate',
        metric: this.metrics.hitRate(CacheLayer.L1),
        threshold: props.l1HitRateThresholdPercent,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: windowMinutes,
        treatMissingData,
        description:
          `Service ${props.serviceName}: the in-process (L1) hit rate has been below ${formatNumber(props.l1HitRateThresholdPercent)} % ` +
          `for ${windowMinutes} consecutive minutes. Check first: cold starts and concurrency (requests spread over many ` +
          'fresh instances), the L1 TTL and size limits, and a change in the request mix.',
      });
    }

    this.cacheErrorRateAlarm = createPyramidAlarm(this, 'CacheErrorRate', group, {
      suffix: 'app-cache-errors',
      metric: this.metrics.cacheErrorRate(),
      threshold: errorThreshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: windowMinutes,
      treatMissingData,
      description:
        `Service ${props.serviceName}: more than ${formatNumber(errorThreshold)} % of Redis operations failed or were skipped by ` +
        `the open circuit breaker in each of the last ${windowMinutes} minutes; reads fall back to the origin. Check first: ` +
        'the Redis alarms (CPU, connections, memory), an ElastiCache failover or maintenance event, security groups and the AUTH secret.',
    });

    this.originLatencyAlarm = createPyramidAlarm(this, 'OriginLatency', group, {
      suffix: 'app-origin-latency',
      metric: this.metrics.metric(ApplicationCacheMetric.ORIGIN_LOAD_LATENCY, 'p99'),
      threshold: latencyMs,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: windowMinutes,
      treatMissingData,
      description:
        `Service ${props.serviceName}: p99 origin load latency has been above ${latencyMs} ms for ${windowMinutes} consecutive ` +
        'minutes; every cache miss waits this long. Check first: the db-capacity and db-connections alarms, slow queries, ' +
        'and a miss storm (low hit rates send more load to the database).',
    });

    this.alarms = [this.redisHitRateAlarm, ...(this.l1HitRateAlarm ? [this.l1HitRateAlarm] : []), this.cacheErrorRateAlarm, this.originLatencyAlarm];
  }
}
