import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { AlarmGroupProps } from './alarm-support';
import { AlarmSubscribers, AlarmTopic } from './alarm-topic';
import { EdgeAlarms, EdgeAlarmsProps, checkCloudFrontMetricsRegion } from './edge-alarms';

/** Thresholds of the CloudFront alarms (see {@link EdgeAlarmsProps}). */
export type EdgeAlarmOptions = Omit<EdgeAlarmsProps, keyof AlarmGroupProps | 'distributionId'>;

/** Props for {@link CachePyramidEdgeMonitoring}. */
export interface CachePyramidEdgeMonitoringProps {
  /** Prefix of the alarm names; use the main stack's prefix so every alarm of the pyramid shares it. */
  readonly alarmNamePrefix: string;
  /** The CloudFront distribution's id. */
  readonly distributionId: string;
  /** Topic in us-east-1 the alarms notify (alarm actions must be in the alarm's region). @default - a new {@link AlarmTopic} in this stack */
  readonly alarmTopic?: sns.ITopic;
  /** Email address subscribed to the new topic (ignored when `alarmTopic` is given). @default - no subscription */
  readonly alarmEmail?: string;
  /** More subscribers of the new topic: emails and chat webhooks (ignored when `alarmTopic` is given). @default - none */
  readonly alarmSubscribers?: AlarmSubscribers;
  /** CloudFront alarm thresholds. @default - see {@link EdgeAlarmsProps} */
  readonly edgeAlarms?: EdgeAlarmOptions;
}

/**
 * The CloudFront half of the pyramid's monitoring, for a stack in us-east-1 (where CloudFront
 * publishes its metrics): the edge alarms and an encrypted topic of its own in that region.
 */
export class CachePyramidEdgeMonitoring extends Construct {
  /** The topic created for the alarms (undefined when one was given). */
  readonly alarmTopic?: AlarmTopic;
  readonly edgeAlarms: EdgeAlarms;
  /** Every alarm created here. */
  readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: CachePyramidEdgeMonitoringProps) {
    super(scope, id);
    checkCloudFrontMetricsRegion(this, 'CachePyramidEdgeMonitoring');
    if (props.alarmTopic !== undefined && (props.alarmEmail !== undefined || props.alarmSubscribers !== undefined)) {
      throw new Error('`alarmEmail`/`alarmSubscribers` and `alarmTopic` are mutually exclusive: subscribe them to your own topic');
    }
    let action: cloudwatch.IAlarmAction;
    if (props.alarmTopic === undefined) {
      this.alarmTopic = new AlarmTopic(this, 'AlarmTopic', { emailAddress: props.alarmEmail, subscribers: props.alarmSubscribers, alarmNamePrefix: props.alarmNamePrefix });
      action = this.alarmTopic.action;
    } else {
      action = new cloudwatchActions.SnsAction(props.alarmTopic);
    }
    this.edgeAlarms = new EdgeAlarms(this, 'Edge', {
      ...props.edgeAlarms,
      alarmNamePrefix: props.alarmNamePrefix,
      alarmActions: [action],
      distributionId: props.distributionId,
    });
    this.alarms = this.edgeAlarms.alarms;
  }
}
