import { Annotations, Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { AlarmGroupProps, createPyramidAlarm, formatNumber, validateAlarmNamePrefix, validateRange, validateWindowMinutes } from './alarm-support';

/** CloudFront publishes its metrics only in us-east-1, with `Region = Global`. */
export const CLOUDFRONT_METRICS_REGION = 'us-east-1';

const ONE_MINUTE = Duration.minutes(1);

/** CloudFront metrics of one distribution. */
export class CloudFrontMetrics {
  constructor(
    /** The distribution's id (not its domain name). */
    readonly distributionId: string,
    /** Region to pin the metrics to: set it for dashboards in other regions, leave it unset for alarms. @default - the stack's region */
    private readonly region?: string,
  ) {}

  metric(metricName: string, statistic: string, period: Duration = ONE_MINUTE): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/CloudFront',
      metricName,
      dimensionsMap: { DistributionId: this.distributionId, Region: 'Global' },
      statistic,
      period,
      region: this.region,
    });
  }

  /** CacheHitRate, percent (needs the distribution's additional metrics subscription). */
  cacheHitRate(period?: Duration): cloudwatch.Metric {
    return this.metric('CacheHitRate', cloudwatch.Stats.AVERAGE, period);
  }

  /** 5xxErrorRate, percent of all requests. */
  errorRate5xx(period?: Duration): cloudwatch.Metric {
    return this.metric('5xxErrorRate', cloudwatch.Stats.AVERAGE, period);
  }

  /** 4xxErrorRate, percent of all requests. */
  errorRate4xx(period?: Duration): cloudwatch.Metric {
    return this.metric('4xxErrorRate', cloudwatch.Stats.AVERAGE, period);
  }

  /** Requests, SUM per period. */
  requests(period?: Duration): cloudwatch.Metric {
    return this.metric('Requests', cloudwatch.Stats.SUM, period);
  }

  /** OriginLatency p99, milliseconds (additional metrics). */
  originLatencyP99(period?: Duration): cloudwatch.Metric {
    return this.metric('OriginLatency', 'p99', period);
  }
}

/** Props for {@link EdgeAlarms}. */
export interface EdgeAlarmsProps extends AlarmGroupProps {
  /** The CloudFront distribution's id. */
  readonly distributionId: string;
  /** Edge cache hit rate below which the alarm fires, percent. Per-user and write routes are never cached and count as misses. @default 50 */
  readonly cacheHitRateThresholdPercent?: number;
  /** How long the hit rate must stay low, 1-minute datapoints. @default Duration.minutes(15) */
  readonly cacheHitRateWindow?: Duration;
  /** Share of requests answered with a 5xx above which the alarm fires, percent. @default 1 */
  readonly errorRate5xxThresholdPercent?: number;
  /** How long the 5xx rate must stay high, 1-minute datapoints. @default Duration.minutes(5) */
  readonly errorRate5xxWindow?: Duration;
  /** How minutes without requests are treated. @default cloudwatch.TreatMissingData.NOT_BREACHING */
  readonly treatMissingData?: cloudwatch.TreatMissingData;
}

/**
 * CloudFront's cache hit rate and 5xx error rate. CloudFront metrics exist only in us-east-1 and
 * an alarm can only watch metrics of its own region, so this construct must live in a us-east-1
 * stack (its alarm actions too: an SNS topic in us-east-1). The cache hit rate needs the
 * distribution's additional metrics subscription (`AWS::CloudFront::MonitoringSubscription`).
 */
export class EdgeAlarms extends Construct {
  readonly metrics: CloudFrontMetrics;
  /** `<prefix>-edge-cache-hit-rate`. */
  readonly cacheHitRateAlarm: cloudwatch.Alarm;
  /** `<prefix>-edge-5xx-rate`. */
  readonly errorRate5xxAlarm: cloudwatch.Alarm;
  /** Both alarms. */
  readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: EdgeAlarmsProps) {
    super(scope, id);
    checkCloudFrontMetricsRegion(this, 'EdgeAlarms');
    validateAlarmNamePrefix('alarmNamePrefix', props.alarmNamePrefix);
    validateRange('cacheHitRateThresholdPercent', props.cacheHitRateThresholdPercent, 0, 100);
    validateRange('errorRate5xxThresholdPercent', props.errorRate5xxThresholdPercent, 0, 100);
    validateWindowMinutes('cacheHitRateWindow', props.cacheHitRateWindow);
    validateWindowMinutes('errorRate5xxWindow', props.errorRate5xxWindow);

    const group: AlarmGroupProps = { alarmNamePrefix: props.alarmNamePrefix, alarmActions: props.alarmActions };
    const treatMissingData = props.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING;
    const hitRateThreshold = props.cacheHitRateThresholdPercent ?? 50;
    const hitRateMinutes = (props.cacheHitRateWindow ?? Duration.minutes(15)).toSeconds() / 60;
    const errorThreshold = props.errorRate5xxThresholdPercent ?? 1;
    const errorMinutes = (props.errorRate5xxWindow ?? Duration.minutes(5)).toSeconds() / 60;
    this.metrics = new CloudFrontMetrics(props.distributionId);

    this.cacheHitRateAlarm = createPyramidAlarm(this, 'CacheHitRate', group, {
      suffix: 'edge-cache-hit-rate',
      metric: this.metrics.cacheHitRate(),
      threshold: hitRateThreshold,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: hitRateMinutes,
      treatMissingData,
      description:
        `CloudFront: the edge cache hit rate has been below ${formatNumber(hitRateThreshold)} % for ${hitRateMinutes} consecutive ` +
        'minutes, so more requests reach the API. Check first: Cache-Control on public API responses (max-age, no private/no-store ' +
        'by mistake), query strings or headers added to the cache key, a wave of invalidations, and the share of per-user traffic.',
    });

    this.errorRate5xxAlarm = createPyramidAlarm(this, 'ErrorRate5xx', group, {
      suffix: 'edge-5xx-rate',
      metric: this.metrics.errorRate5xx(),
      threshold: errorThreshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: errorMinutes,
      treatMissingData,
      description:
        `CloudFront: more than ${formatNumber(errorThreshold)} % of viewer requests got a 5xx in each of the last ${errorMinutes} ` +
        'minutes. Check first: the API function\'s error and duration alarms (502/504 are origin errors and timeouts), the ' +
        'origin\'s secret-header check, and the distribution\'s access logs for the failing paths.',
    });
    this.alarms = [this.cacheHitRateAlarm, this.errorRate5xxAlarm];
  }
}

/**
 * Throws when `scope` is in a stack whose region is known and is not us-east-1; warns when the
 * region is unknown at synth time (an environment-agnostic stack may still be deployed there).
 */
export function checkCloudFrontMetricsRegion(scope: Construct, constructName: string): void {
  const region = Stack.of(scope).region;
  if (Token.isUnresolved(region)) {
    Annotations.of(scope).addWarningV2(
      'cache-pyramid:edge-alarms-region-agnostic',
      `${constructName} is in an environment-agnostic stack; deploy that stack to ${CLOUDFRONT_METRICS_REGION}, where CloudFront publishes its metrics, or its alarms will never see data`,
    );
  } else if (region !== CLOUDFRONT_METRICS_REGION) {
    throw new Error(
      `${constructName} must be in a stack in ${CLOUDFRONT_METRICS_REGION} (CloudFront publishes its metrics only there and alarms cannot watch another region), got stack region '${region}'`,
    );
  }
}
