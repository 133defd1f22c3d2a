import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { AlarmGroupProps, createPyramidAlarm, formatNumber, validateAlarmNamePrefix, validateRange, validateWindowMinutes } from './alarm-support';

const ONE_MINUTE = Duration.minutes(1);
/** Aurora PostgreSQL's `max_connections` default: LEAST(DBInstanceClassMemory / 9531392, 5000). */
const BYTES_PER_CONNECTION = 9_531_392;
const MAX_CONNECTIONS_CAP = 5000;
/** One Aurora capacity unit is about 2 GiB of memory. */
const BYTES_PER_ACU = 2 * 1024 ** 3;

/** The origin database to watch. */
export interface MonitoredDatabase {
  /** The Aurora Serverless v2 cluster's identifier (the `DBClusterIdentifier` metric dimension). */
  readonly clusterIdentifier: string;
  /** The cluster's maximum capacity, in ACUs (its `serverlessV2MaxCapacity`). */
  readonly maxCapacityAcu: number;
}

/** Props for {@link DatabaseAlarms}. */
export interface DatabaseAlarmsProps extends AlarmGroupProps, MonitoredDatabase {
  /** Capacity above which the capacity alarm fires, percent of `maxCapacityAcu`. @default 90 */
  readonly capacityThresholdPercent?: number;
  /**
   * Connections (on any instance) above which the connections alarm fires.
   * @default - 80 % of Aurora PostgreSQL's default max_connections at `maxCapacityAcu` (LEAST(2 GiB × ACU / 9531392, 5000))
   */
  readonly connectionsThreshold?: number;
  /** How long capacity and connections must stay high, 1-minute datapoints. @default Duration.minutes(5) */
  readonly window?: Duration;
  /** How minutes without data are treated. @default cloudwatch.TreatMissingData.NOT_BREACHING */
  readonly treatMissingData?: cloudwatch.TreatMissingData;
}

/**
 * The origin's two early warnings: Aurora Serverless v2 capacity pinned near its maximum (it can
 * no longer scale; queries queue, which the cache's stampede protection can only soften) and
 * connections near `max_connections` (new function instances will fail to connect).
 */
export class DatabaseAlarms extends Construct {
  /** `<prefix>-db-capacity`. */
  readonly capacityAlarm: cloudwatch.Alarm;
  /** `<prefix>-db-connections`. */
  readonly connectionsAlarm: cloudwatch.Alarm;
  /** Both alarms. */
  readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: DatabaseAlarmsProps) {
    super(scope, id);
    validateAlarmNamePrefix('alarmNamePrefix', props.alarmNamePrefix);
    if (Token.isUnresolved(props.maxCapacityAcu)) {
      throw new Error('`maxCapacityAcu` must be a literal number: the capacity and connection thresholds are computed from it');
    }
    validateRange('maxCapacityAcu', props.maxCapacityAcu, 0.5, 256);
    validateRange('capacityThresholdPercent', props.capacityThresholdPercent, 1, 100);
    validateRange('connectionsThreshold', props.connectionsThreshold, 1, MAX_CONNECTIONS_CAP * 100);
    validateWindowMinutes('window', props.window);

    const group: AlarmGroupProps = { alarmNamePrefix: props.alarmNamePrefix, alarmActions: props.alarmActions };
    const treatMissingData = props.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING;
    const windowMinutes = (props.window ?? Duration.minutes(5)).toSeconds() / 60;
    const capacityPercent = props.capacityThresholdPercent ?? 90;
    const capacityThreshold = (props.maxCapacityAcu * capacityPercent) / 100;
    const connectionsThreshold = props.connectionsThreshold ?? Math.floor(estimatedMaxConnections(props.maxCapacityAcu) * 0.8);
    const dimensionsMap = { DBClusterIdentifier: props.clusterIdentifier };

    this.capacityAlarm = createPyramidAlarm(this, 'Capacity', group, {
      suffix: 'db-capacity',
      metric: new cloudwatch.Metric({
        namespace: 'AWS/RDS',
        metricName: 'ServerlessDatabaseCapacity',
        dimensionsMap,
        statistic: cloudwatch.Stats.MAXIMUM,
        period: ONE_MINUTE,
      }),
      threshold: capacityThreshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: windowMinutes,
      treatMissingData,
      description:
        `The origin database has run at ${formatNumber(capacityThreshold)} ACU or more (${formatNumber(capacityPercent)} % of its ` +
        `${formatNumber(props.maxCapacityAcu)} ACU maximum) for ${windowMinutes} consecutive minutes and cannot scale further. ` +
        'Check first: the cache hit rates (a cold or flushed cache sends every read here), OriginLoad counts per minute, ' +
        'and slow queries in Performance Insights; then raise the maximum capacity.',
    });

    this.connectionsAlarm = createPyramidAlarm(this, 'Connections', group, {
      suffix: 'db-connections',
      metric: new cloudwatch.Metric({
        namespace: 'AWS/RDS',
        metricName: 'DatabaseConnections',
        dimensionsMap,
        statistic: cloudwatch.Stats.MAXIMUM,
        period: ONE_MINUTE,
      }),
      threshold: connectionsThreshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: windowMinutes,
      treatMissingData,
      description:
        `The origin database has held more than ${formatNumber(connectionsThreshold)} connections for ${windowMinutes} consecutive ` +
        'minutes, close to max_connections; new function instances will fail to connect. Check first: function concurrency ' +
        '(each warm instance keeps its own pool), the pool size per instance, and idle-in-transaction sessions.',
    });
    this.alarms = [this.capacityAlarm, this.connectionsAlarm];
  }
}

/** Aurora PostgreSQL's default max_connections for a Serverless v2 instance scaled to `maxCapacityAcu`. */
export function estimatedMaxConnections(maxCapacityAcu: number): number {
  return Math.min(Math.floor((maxCapacityAcu * BYTES_PER_ACU) / BYTES_PER_CONNECTION), MAX_CONNECTIONS_CAP);
}
