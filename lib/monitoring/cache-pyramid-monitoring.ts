import { Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ICacheCluster } from '../cache/cache-cluster';
import { AlarmGroupProps, validateAlarmNamePrefix } from './alarm-support';
import { AlarmSubscribers, AlarmTopic } from './alarm-topic';
import { ApplicationCacheAlarms, ApplicationCacheAlarmsProps } from './application-cache-alarms';
import { CacheAlarms, CacheAlarmsProps } from './cache-alarms';
import { DatabaseAlarms, DatabaseAlarmsProps, MonitoredDatabase } from './database-alarms';
import { FunctionAlarms, FunctionAlarmsProps, MonitoredFunction } from './function-alarms';
import { PyramidDashboard } from './pyramid-dashboard';
import { MonitoredQueue, QueueAlarms, QueueAlarmsProps } from './queue-alarms';

type Thresholds<P> = Omit<P, keyof AlarmGroupProps>;

/** Thresholds of the cache alarms (see {@link CacheAlarmsProps}). */
export type CacheAlarmOptions = Omit<Thresholds<CacheAlarmsProps>, 'cache'>;
/** Thresholds of the application alarms (see {@link ApplicationCacheAlarmsProps}). */
export type ApplicationCacheAlarmOptions = Omit<Thresholds<ApplicationCacheAlarmsProps>, 'serviceName'>;
/** Thresholds of the function alarms (see {@link FunctionAlarmsProps}). */
export type FunctionAlarmOptions = Omit<Thresholds<FunctionAlarmsProps>, 'functions'>;
/** Options of the queue alarms (see {@link QueueAlarmsProps}). */
export type QueueAlarmOptions = Omit<Thresholds<QueueAlarmsProps>, 'queues'>;
/** Thresholds of the database alarms (see {@link DatabaseAlarmsProps}). */
export type DatabaseAlarmOptions = Omit<Thresholds<DatabaseAlarmsProps>, keyof MonitoredDatabase>;

/** Props for {@link CachePyramidMonitoring}. */
export interface CachePyramidMonitoringProps {
  /** Prefix of every alarm name (`<prefix>-<suffix>`) and the dashboard's name. @default - the stack name */
  readonly alarmNamePrefix?: string;
  /** Topic every alarm notifies on ALARM and OK. @default - a new {@link AlarmTopic} (KMS-encrypted, SSL-only) */
  readonly alarmTopic?: sns.ITopic;
  /** Email address subscribed to the new topic (ignored when `alarmTopic` is given). @default - no subscription */
  readonly alarmEmail?: string;
  /** More subscribers of the new topic: emails and chat webhooks (ignored when `alarmTopic` is given). @default - none */
  readonly alarmSubscribers?: AlarmSubscribers;
  /** The ElastiCache cache, node-based or serverless. */
  readonly cache: ICacheCluster;
  /** Cache alarm thresholds. @default - the seed's rules (see {@link CacheAlarmsProps}) */
  readonly cacheAlarms?: CacheAlarmOptions;
  /** The `service` dimension of the functions' cache metrics (Powertools `serviceName`). @default - no application cache alarms or graphs */
  readonly serviceName?: string;
  /** Application cache alarm thresholds. @default - see {@link ApplicationCacheAlarmsProps} */
  readonly applicationAlarms?: ApplicationCacheAlarmOptions;
  /** The pyramid's functions (API, write-behind flusher, purgers, ...). @default - none */
  readonly functions?: MonitoredFunction[];
  /** Function alarm thresholds. @default - see {@link FunctionAlarmsProps} */
  readonly functionAlarms?: FunctionAlarmOptions;
  /** The write-behind and invalidation queues with their DLQs. @default - none */
  readonly queues?: MonitoredQueue[];
  /** Queue alarm options. @default - see {@link QueueAlarmsProps} */
  readonly queueAlarms?: QueueAlarmOptions;
  /** The origin database. @default - no database alarms or graphs */
  readonly database?: MonitoredDatabase;
  /** Database alarm thresholds. @default - see {@link DatabaseAlarmsProps} */
  readonly databaseAlarms?: DatabaseAlarmOptions;
  /** The CloudFront distribution's id, graphed in the edge row (its alarms live in us-east-1, see {@link CachePyramidEdgeMonitoring}). @default - no edge row */
  readonly distributionId?: string;
}

/**
 * Everything an operator of the pyramid watches, in the main stack: the seed's cache alarms and
 * the Redis health alarms, the application's own cache metrics, the functions, the queues and
 * the database, every alarm notifying one encrypted SNS topic on ALARM and OK, and one
 * dashboard. CloudFront's alarms need a us-east-1 stack: {@link CachePyramidEdgeMonitoring}.
 */
export class CachePyramidMonitoring extends Construct {
  /** Prefix of every alarm name. */
  readonly alarmNamePrefix: string;
  /** The topic created for the alarms (undefined when one was given). */
  readonly alarmTopic?: AlarmTopic;
  /** The action every alarm runs on ALARM and OK. */
  readonly alarmAction: cloudwatch.IAlarmAction;
  readonly cacheAlarms: CacheAlarms;
  readonly applicationAlarms?: ApplicationCacheAlarms;
  readonly functionAlarms?: FunctionAlarms;
  readonly queueAlarms?: QueueAlarms;
  readonly databaseAlarms?: DatabaseAlarms;
  readonly dashboard: PyramidDashboard;
  /** Every alarm created here. */
  readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: CachePyramidMonitoringProps) {
    super(scope, id);
    const prefix = props.alarmNamePrefix ?? Stack.of(this).stackName;
    if (props.alarmNamePrefix === undefined && Token.isUnresolved(prefix)) {
      throw new Error('`alarmNamePrefix` is required when the stack name is not known at synth time');
    }
    validateAlarmNamePrefix('alarmNamePrefix', prefix);
    if (props.alarmTopic !== undefined && (props.alarmEmail !== undefined || props.alarmSubscribers !== undefined)) {
      throw new Error('`alarmEmail`/`alarmSubscribers` and `alarmTopic` are mutually exclusive: subscribe them to your own topic');
    }
    this.alarmNamePrefix = prefix;

    if (props.alarmTopic === undefined) {
      this.alarmTopic = new AlarmTopic(this, 'AlarmTopic', { emailAddress: props.alarmEmail, subscribers: props.alarmSubscribers, alarmNamePrefix: prefix });
      this.alarmAction = this.alarmTopic.action;
    } else {
      this.alarmAction = new cloudwatchActions.SnsAction(props.alarmTopic);
    }
    const group: AlarmGroupProps = { alarmNamePrefix: prefix, alarmActions: [this.alarmAction] };

    this.cacheAlarms = new CacheAlarms(this, 'Cache', { ...props.cacheAlarms, ...group, cache: props.cache });
    if (props.serviceName !== undefined) {
      this.applicationAlarms = new ApplicationCacheAlarms(this, 'Application', { ...props.applicationAlarms, ...group, serviceName: props.serviceName });
    }
    if ((props.functions ?? []).length > 0) {
      this.functionAlarms = new FunctionAlarms(this, 'Functions', { ...props.functionAlarms, ...group, functions: props.functions ?? [] });
    }
    if ((props.queues ?? []).length > 0) {
      this.queueAlarms = new QueueAlarms(this, 'Queues', { ...props.queueAlarms, ...group, queues: props.queues ?? [] });
    }
    if (props.database !== undefined) {
      this.databaseAlarms = new DatabaseAlarms(this, 'Database', { ...props.databaseAlarms, ...group, ...props.database });
    }

    this.alarms = [
      ...this.cacheAlarms.alarms,
      ...(this.applicationAlarms?.alarms ?? []),
      ...(this.functionAlarms?.alarms ?? []),
      ...(this.queueAlarms?.alarms ?? []),
      ...(this.databaseAlarms?.alarms ?? []),
    ];

    this.dashboard = new PyramidDashboard(this, 'Dashboard', {
      dashboardName: prefix,
      cache: props.cache,
      cacheAlarms: this.cacheAlarms,
      serviceName: props.serviceName,
      applicationAlarms: this.applicationAlarms,
      functions: props.functions,
      database: props.database,
      databaseAlarms: this.databaseAlarms,
      queues: props.queues,
      distributionId: props.distributionId,
      alarms: this.alarms,
    });
  }
}
