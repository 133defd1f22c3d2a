import { Stack, StackProps, Token } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { Construct } from 'constructs';
import { AlarmSubscribers } from './monitoring/alarm-topic';
import { CachePyramidEdgeMonitoring } from './monitoring/cache-pyramid-edge-monitoring';

/** Props for {@link EdgeMonitoringStack}. */
export interface EdgeMonitoringStackProps extends StackProps {
  /** The distribution whose metrics CloudFront publishes in us-east-1. */
  readonly distribution: cloudfront.IDistribution;
  /** Prefix of the alarm names, shared with the main stack's alarms. */
  readonly alarmNamePrefix: string;
  /** Where the alarms are mailed. @default - no subscription */
  readonly alarmEmail?: string;
  /** Who the alarms notify: emails and chat webhooks. @default - nobody besides `alarmEmail` */
  readonly alarmSubscribers?: AlarmSubscribers;
}

/**
 * The us-east-1 stack that watches the edge: CloudFront publishes its metrics (requests, error
 * rates, cache hit rate) only in us-east-1, and an alarm must be in the region of its metric. It
 * deploys after the main stack and reads the distribution id through a cross-region reference, and
 * holds the CloudFront alarms ({@link CachePyramidEdgeMonitoring}) with an alarm topic of its own.
 */
export class EdgeMonitoringStack extends Stack {
  readonly distribution: cloudfront.IDistribution;
  readonly alarmNamePrefix: string;
  readonly alarmEmail?: string;
  /** The CloudFront alarms (`<prefix>-edge-cache-hit-rate`, `<prefix>-edge-5xx-rate`) and their topic. */
  readonly monitoring: CachePyramidEdgeMonitoring;

  constructor(scope: Construct, id: string, props: EdgeMonitoringStackProps) {
    super(scope, id, { crossRegionReferences: true, ...props });
    if (Token.isUnresolved(this.region) || this.region !== 'us-east-1') {
      throw new Error(`EdgeMonitoringStack: CloudFront metrics exist only in us-east-1; set env.region to us-east-1, got ${this.region}`);
    }
    this.distribution = props.distribution;
    this.alarmNamePrefix = props.alarmNamePrefix;
    this.alarmEmail = props.alarmEmail;
    this.monitoring = new CachePyramidEdgeMonitoring(this, 'Monitoring', {
      alarmNamePrefix: props.alarmNamePrefix,
      distributionId: props.distribution.distributionId,
      alarmEmail: props.alarmEmail,
      alarmSubscribers: props.alarmSubscribers,
    });
  }
}
