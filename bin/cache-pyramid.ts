#!/usr/bin/env node
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CachePyramidStack } from '../lib/cache-pyramid-stack';
import { EdgeMonitoringStack } from '../lib/edge-monitoring-stack';
import { EdgeSecurityStack } from '../lib/edge-security-stack';
import { loadStageConfig } from '../lib/stages';

const app = new App();
const stage = loadStageConfig(app);
const name = `CachePyramid-${stage.name}`;
const edgeEnv = { account: stage.account, region: 'us-east-1' };

const needsEdgeSecurity = stage.domain?.hostedZoneId !== undefined || stage.waf;
const edgeSecurity = needsEdgeSecurity
  ? new EdgeSecurityStack(app, `${name}-EdgeSecurity`, {
      env: edgeEnv,
      namePrefix: name,
      domainNames: stage.domain?.hostedZoneId === undefined ? undefined : stage.domain.names,
      hostedZone:
        stage.domain?.hostedZoneId === undefined ? undefined : { hostedZoneId: stage.domain.hostedZoneId, zoneName: stage.domain.hostedZoneName! },
      webAcl: stage.waf,
      description: `cache-pyramid ${stage.name}: CloudFront certificate and web ACL (us-east-1)`,
    })
  : undefined;

const pyramid = new CachePyramidStack(app, name, {
  env: { account: stage.account, region: stage.region },
  stage,
  certificate: edgeSecurity?.certificate,
  webAclArn: edgeSecurity?.webAclArn,
});

new EdgeMonitoringStack(app, `${name}-EdgeMonitoring`, {
  env: edgeEnv,
  distribution: pyramid.edge.distribution,
  alarmNamePrefix: name,
  alarmEmail: stage.alarmEmail,
  description: `cache-pyramid ${stage.name}: CloudFront alarms (us-east-1, where CloudFront publishes its metrics)`,
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new CfnGuardValidator({ controlTowerRulesEnabled: true }));
