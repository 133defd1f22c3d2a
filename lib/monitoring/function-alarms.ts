import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import {
  AlarmGroupProps,
  createPyramidAlarm,
  formatNumber,
  validateAlarmNamePrefix,
  validateKebabName,
  validateRange,
  validateUniqueNames,
  validateWindowMinutes,
} from './alarm-support';

/** Lambda's timeout when none is configured. */
const LAMBDA_DEFAULT_TIMEOUT = Duration.seconds(3);
const ONE_MINUTE = Duration.minutes(1);

/** A function to watch and the short name its alarms carry. */
export interface MonitoredFunction {
  /** Kebab-case name in the alarm names: `<prefix>-fn-<name>-errors`. */
  readonly name: string;
  /** The function; its configured timeout sets the duration threshold. */
  readonly function: lambda.Function;
}

/** Alarms of one function. */
export interface FunctionAlarmSet {
  readonly name: string;
  readonly errorRate: cloudwatch.Alarm;
  readonly throttles: cloudwatch.Alarm;
  readonly duration: cloudwatch.Alarm;
}

/** Props for {@link FunctionAlarms}. */
export interface FunctionAlarmsProps extends AlarmGroupProps {
  /** The functions to watch. */
  readonly functions: MonitoredFunction[];
  /** Share of invocations ending in an error above which the error alarm fires, percent. @default 1 */
  readonly errorRateThresholdPercent?: number;
  /** p99 duration above which the duration alarm fires, percent of the function's timeout. @default 80 */
  readonly durationThresholdPercentOfTimeout?: number;
  /** Throttled invocations in one window above which the throttle alarm fires. @default 0 */
  readonly throttlesThreshold?: number;
  /** How long errors and duration must stay high (1-minute datapoints); also the throttle window. @default Duration.minutes(5) */
  readonly window?: Duration;
  /** How minutes without invocations are treated. @default cloudwatch.TreatMissingData.NOT_BREACHING */
  readonly treatMissingData?: cloudwatch.TreatMissingData;
}

/**
 * Per function: error rate, throttles, and p99 duration close to the timeout (a function that
 * runs into its timeout fails every request it holds, and the cache layers' own timeouts are set
 * well below it, so nearing it means an origin or Redis call is hanging).
 */
export class FunctionAlarms extends Construct {
  /** Alarms per function, in the order given. */
  readonly functionAlarms: FunctionAlarmSet[];
  /** Every alarm of this group. */
  readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: FunctionAlarmsProps) {
    super(scope, id);
    validateAlarmNamePrefix('alarmNamePrefix', props.alarmNamePrefix);
    props.functions.forEach((fn, index) => validateKebabName(`functions[${index}].name`, fn.name));
    validateUniqueNames('functions', props.functions.map((fn) => fn.name));
    validateRange('errorRateThresholdPercent', props.errorRateThresholdPercent, 0, 100);
    validateRange('durationThresholdPercentOfTimeout', props.durationThresholdPercentOfTimeout, 1, 100);
    validateRange('throttlesThreshold', props.throttlesThreshold, 0, Number.MAX_SAFE_INTEGER);
    validateWindowMinutes('window', props.window);

    const group: AlarmGroupProps = { alarmNamePrefix: props.alarmNamePrefix, alarmActions: props.alarmActions };
    const treatMissingData = props.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING;
    const errorRateThreshold = props.errorRateThresholdPercent ?? 1;
    const durationPercent = props.durationThresholdPercentOfTimeout ?? 80;
    const throttlesThreshold = props.throttlesThreshold ?? 0;
    const window = props.window ?? Duration.minutes(5);
    const windowMinutes = window.toSeconds() / 60;

    this.functionAlarms = props.functions.map(({ name, function: fn }) => {
      const scope = new Construct(this, name);
      const timeout = fn.timeout ?? LAMBDA_DEFAULT_TIMEOUT;
      const durationThresholdMs = Math.round((timeout.toMilliseconds() * durationPercent) / 100);

      const errorRate = createPyramidAlarm(scope, 'ErrorRate', group, {
        suffix: `fn-${name}-errors`,
        metric: new cloudwatch.MathExpression({
          expression: 'IF(invocations > 0, 100 * errors / invocations)',
          usingMetrics: {
            errors: fn.metricErrors({ statistic: cloudwatch.Stats.SUM, period: ONE_MINUTE }),
            invocations: fn.metricInvocations({ statistic: cloudwatch.Stats.SUM, period: ONE_MINUTE }),
          },
          period: ONE_MINUTE,
          label: `${name} error rate (%)`,
        }),
        threshold: errorRateThreshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: windowMinutes,
        treatMissingData,
        description:
          `Function ${name}: more than ${formatNumber(errorRateThreshold)} % of invocations failed in each of the last ` +
          `${windowMinutes} minutes. Check first: the function's error logs (Powertools JSON, by requestId), a recent deploy, ` +
          'and whether the origin database or Redis is reachable (cache failures should fall back, not fail).',
      });

      const throttles = createPyramidAlarm(scope, 'Throttles', group, {
        suffix: `fn-${name}-throttles`,
        metric: fn.metricThrottles({ statistic: cloudwatch.Stats.SUM, period: window }),
        threshold: throttlesThreshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData,
        description:
          `Function ${name}: more than ${formatNumber(throttlesThreshold)} invocations were throttled in ${window.toHumanString()}; ` +
          'callers got 429s or events were delayed. Check first: the account\'s concurrent-executions quota, reserved ' +
          'concurrency on this function, and a traffic spike (a low edge hit rate sends more requests here).',
      });

      const duration = createPyramidAlarm(scope, 'Duration', group, {
        suffix: `fn-${name}-duration`,
        metric: fn.metricDuration({ statistic: 'p99', period: ONE_MINUTE }),
        threshold: durationThresholdMs,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: windowMinutes,
        treatMissingData,
        description:
          `Function ${name}: p99 duration has been above ${durationThresholdMs} ms (${formatNumber(durationPercent)} % of its ` +
          `${timeout.toHumanString()} timeout) for ${windowMinutes} consecutive minutes; requests are about to time out. ` +
          'Check first: OriginLoadLatency (slow queries, database at max capacity), Redis latency or failover, and cold starts.',
      });

      return { name, errorRate, throttles, duration };
    });
    this.alarms = this.functionAlarms.flatMap((set) => [set.errorRate, set.throttles, set.duration]);
  }
}
