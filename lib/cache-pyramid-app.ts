import { Annotations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { WRITE_BODY_MAX_BYTES } from '../lambda/shop/api/write-routes';
import { CachePyramidStack } from './cache-pyramid-stack';
import { EdgeMonitoringStack } from './edge-monitoring-stack';
import { EdgeSecurityStack } from './edge-security-stack';
import { StageConfig, STAGES_CONTEXT_KEY } from './stages';

/** The stacks of one stage of the reference app. */
export interface CachePyramidStacks {
  /** `CachePyramid-<stage>` in the stage's region: every layer of the pyramid. */
  readonly pyramid: CachePyramidStack;
  /** `CachePyramid-<stage>-EdgeSecurity` in us-east-1, when the stage has a hosted-zone domain or `waf: true`. */
  readonly edgeSecurity?: EdgeSecurityStack;
  /** `CachePyramid-<stage>-EdgeMonitoring` in us-east-1: CloudFront's alarms. */
  readonly edgeMonitoring: EdgeMonitoringStack;
}

/**
 * Adds the stacks of `stage` to `scope` (an App or a Stage): the us-east-1 certificate/WAF stack
 * when needed, the main stack, and the us-east-1 monitoring stack, in deployment order. Stacks are
 * named `CachePyramid-<stage>[-EdgeSecurity|-EdgeMonitoring]`.
 */
export function addCachePyramidStacks(scope: Construct, stage: StageConfig): CachePyramidStacks {
  const name = `CachePyramid-${stage.name}`;
  // us-east-1 holds the companions of every region a stage runs in: outside its home region they carry the region.
  const companionName = stage.homeRegion === undefined || stage.region === stage.homeRegion ? name : `${name}-${stage.region}`;
  const edgeEnv = { account: stage.account, region: 'us-east-1' };
  const zone = stage.domain?.hostedZoneId === undefined ? undefined : { hostedZoneId: stage.domain.hostedZoneId, zoneName: stage.domain.hostedZoneName! };

  const edgeSecurity =
    zone !== undefined || stage.waf
      ? new EdgeSecurityStack(scope, `${companionName}-EdgeSecurity`, {
          env: edgeEnv,
          description: `cache-pyramid ${stage.name}: CloudFront certificate and web ACL (us-east-1)`,
          namePrefix: companionName,
          domainNames: zone === undefined ? undefined : stage.domain!.names,
          hostedZone: zone,
          webAcl: stage.waf,
          // The edge must let through every body the API accepts.
          maxRequestBodyBytes: WRITE_BODY_MAX_BYTES,
        })
      : undefined;

  const pyramid = new CachePyramidStack(scope, name, {
    env: { account: stage.account, region: stage.region },
    stage,
    certificate: edgeSecurity?.certificate,
    webAclArn: edgeSecurity?.webAclArn,
  });

  const edgeMonitoring = new EdgeMonitoringStack(scope, `${companionName}-EdgeMonitoring`, {
    env: edgeEnv,
    description: `cache-pyramid ${stage.name}: CloudFront alarms (us-east-1, where CloudFront publishes its metrics)`,
    distribution: pyramid.edge.distribution,
    alarmNamePrefix: companionName,
    alarmSubscribers: stage.alarmSubscribers,
  });
  for (const topic of [pyramid.monitoring.alarmTopic, edgeMonitoring.monitoring.alarmTopic]) {
    if (topic === undefined || topic.subscriberCount > 0) continue;
    Annotations.of(topic).addWarningV2(
      'cache-pyramid:alarm-topic-without-subscribers',
      `Stage ${stage.name} names no alarm subscribers: its alarms notify nobody. Add emails or chat webhook URLs under ${STAGES_CONTEXT_KEY}.${stage.name}.alarmSubscribers in cdk.json.`,
    );
  }
  return { pyramid, edgeSecurity, edgeMonitoring };
}
