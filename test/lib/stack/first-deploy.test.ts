import { Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { addCachePyramidStacks, CachePyramidStacks } from '../../../lib/cache-pyramid-app';
import { loadStageConfig, StageConfig } from '../../../lib/stages';
import { WRITE_BODY_MAX_BYTES } from '../../../lambda/shop/api/write-routes';
import { ALARMS_ACKNOWLEDGED, testApp } from '../../support/cdk';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type CfnJson = Record<string, any>;

function stageOf(name: string, changes: Partial<StageConfig> = {}): StageConfig {
  return { ...loadStageConfig(testApp({ stage: name, ...ALARMS_ACKNOWLEDGED })), ...changes };
}

function stacksOf(stacks: CachePyramidStacks): Stack[] {
  return [stacks.pyramid, stacks.edgeMonitoring, ...(stacks.edgeSecurity === undefined ? [] : [stacks.edgeSecurity])];
}

function resourcesOf(template: Template, type: string): Array<[string, CfnJson]> {
  return Object.entries(template.findResources(type));
}

/**
 * The facts a desk review of the synthesised templates found missing for a first deploy to work in
 * a fresh account (issue 11), checked on cdk.json's dev and prod stages as `cdk synth` builds them.
 */
describe.each(['dev', 'prod'])('the %s stage of cdk.json, as synthesised', (stageName) => {
  const savedAccount = process.env.CDK_DEFAULT_ACCOUNT;
  beforeAll(() => delete process.env.CDK_DEFAULT_ACCOUNT);
  afterAll(() => {
    if (savedAccount !== undefined) process.env.CDK_DEFAULT_ACCOUNT = savedAccount;
  });
  const stacks = addCachePyramidStacks(testApp(), stageOf(stageName));
  const templates = stacksOf(stacks).map((stack) => ({ stack, template: Template.fromStack(stack) }));

  it('lets CloudWatch publish to every alarm topic, for this account\'s alarms under the stack\'s prefix only', () => {
    const topics = [stacks.pyramid.monitoring.alarmTopic!, stacks.edgeMonitoring.monitoring.alarmTopic!];
    for (const topic of topics) {
      const stack = Stack.of(topic);
      const template = Template.fromStack(stack);
      const topicRef = { Ref: stack.getLogicalId(topic.topic.node.defaultChild as never) };
      const policies = resourcesOf(template, 'AWS::SNS::TopicPolicy').filter(([, p]) => JSON.stringify(p.Properties.Topics) === JSON.stringify([topicRef]));
      expect(policies).toHaveLength(1);
      expect(policies[0][1].Properties.PolicyDocument.Statement).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: topicRef,
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:cloudwatch:${stack.region}:`, { Ref: 'AWS::AccountId' }, `:alarm:CachePyramid-${stageName}*`]] } },
            },
          }),
        ]),
      );
    }
  });

  it('warns at synth that the alarm topics have no subscriber, since cdk.json names none', () => {
    for (const stack of [stacks.pyramid, stacks.edgeMonitoring]) {
      Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp(`Stage ${stageName} names no alarm subscribers: its alarms notify nobody`));
    }
  });

  it('names no placeholder issuer: the authorizer trusts the stage\'s own Cognito user pool', () => {
    const template = Template.fromStack(stacks.pyramid);
    const authorizers = resourcesOf(template, 'AWS::ApiGatewayV2::Authorizer');
    expect(authorizers).toHaveLength(1);
    const jwt = authorizers[0][1].Properties.JwtConfiguration;
    expect(JSON.stringify(jwt)).not.toContain('example.');
    const poolId = stacks.pyramid.getLogicalId(stacks.pyramid.userPool!.userPool.node.defaultChild as never);
    const clientId = stacks.pyramid.getLogicalId(stacks.pyramid.userPool!.userPoolClient.node.defaultChild as never);
    expect(jwt).toEqual({ Issuer: { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [poolId, 'ProviderName'] }]] }, Audience: [{ Ref: clientId }] });
  });

  it('gives every security group inline egress, so EC2 adds no allow-all rule', () => {
    for (const { template } of templates) {
      for (const [id, sg] of resourcesOf(template, 'AWS::EC2::SecurityGroup')) {
        expect([id, Array.isArray(sg.Properties.SecurityGroupEgress) && sg.Properties.SecurityGroupEgress.length > 0]).toEqual([id, true]);
        expect([id, sg.Properties.SecurityGroupEgress.some((rule: CfnJson) => rule.CidrIp === '0.0.0.0/0' || rule.CidrIpv6 === '::/0')]).toEqual([id, false]);
      }
    }
  });

  it('reserves no function concurrency, and bounds the flusher through its event source', () => {
    const template = Template.fromStack(stacks.pyramid);
    expect(JSON.stringify(template.toJSON())).not.toContain('ReservedConcurrentExecutions');
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [stacks.pyramid.getLogicalId(stacks.pyramid.api.writeBehindQueue.node.defaultChild as never), 'Arn'] },
      ScalingConfig: { MaximumConcurrency: stacks.pyramid.stage.api.flusherMaxConcurrency },
    });
  });

  it('deploys the default page (site/) to the assets bucket, so the site root is not a 403', () => {
    const template = Template.fromStack(stacks.pyramid);
    const deployments = resourcesOf(template, 'Custom::CDKBucketDeployment');
    expect(deployments.length).toBeGreaterThan(0);
    const assetsBucket = stacks.pyramid.getLogicalId(stacks.pyramid.edge.assetsBucket.node.defaultChild as never);
    for (const [, deployment] of deployments) expect(deployment.Properties.DestinationBucketName).toEqual({ Ref: assetsBucket });
    expect(distributionRoot(template)).toBe('index.html');
  });

  it('has an X-Ray interface endpoint with private DNS for the traced functions in the isolated VPC', () => {
    Template.fromStack(stacks.pyramid).hasResourceProperties('AWS::EC2::VPCEndpoint', {
      ServiceName: 'com.amazonaws.eu-west-1.xray',
      VpcEndpointType: 'Interface',
      PrivateDnsEnabled: true,
    });
  });

  if (stageName === 'prod') {
    it('lets through the web ACL every write body the API accepts, and blocks larger ones', () => {
      const acl = resourcesOf(Template.fromStack(stacks.edgeSecurity!), 'AWS::WAFv2::WebACL')[0][1].Properties;
      const common = acl.Rules.find((r: CfnJson) => r.Name === 'AWSManagedRulesCommonRuleSet');
      expect(common.Statement.ManagedRuleGroupStatement.RuleActionOverrides).toEqual([{ Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } }]);
      const bodySize = acl.Rules.find((r: CfnJson) => r.Name === 'BodySizeLimit');
      expect(bodySize.Statement.SizeConstraintStatement).toMatchObject({ ComparisonOperator: 'GT', Size: WRITE_BODY_MAX_BYTES });
      expect(bodySize.Action).toEqual({ Block: {} });
    });
  }
});

function distributionRoot(template: Template): string {
  return resourcesOf(template, 'AWS::CloudFront::Distribution')[0][1].Properties.DistributionConfig.DefaultRootObject;
}

describe('stage options of a first deploy', () => {
  it('subscribes the stage\'s emails and chat webhooks to both alarm topics, and does not warn', () => {
    const stacks = addCachePyramidStacks(testApp(), stageOf('dev', { alarmSubscribers: { emails: ['oncall@shop.test'], webhookUrls: ['https://chat-relay.shop.test/alarms'] } }));
    for (const stack of [stacks.pyramid, stacks.edgeMonitoring]) {
      const template = Template.fromStack(stack);
      template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@shop.test' });
      template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'https', Endpoint: 'https://chat-relay.shop.test/alarms' });
      Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('names no alarm subscribers'));
    }
  });

  it('trusts a configured identity provider and creates no user pool', () => {
    const stacks = addCachePyramidStacks(testApp(), stageOf('dev', { auth: { issuer: 'https://idp.shop.test/', audience: ['shop-api'] } }));
    const template = Template.fromStack(stacks.pyramid);
    expect(stacks.pyramid.userPool).toBeUndefined();
    template.resourceCountIs('AWS::Cognito::UserPool', 0);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { JwtConfiguration: { Issuer: 'https://idp.shop.test/', Audience: ['shop-api'] } });
  });

  it('keeps a flusher reservation when the stage asks for one', () => {
    const stage = stageOf('dev');
    const stacks = addCachePyramidStacks(testApp(), { ...stage, api: { ...stage.api, flusherReservedConcurrency: 4 } });
    Template.fromStack(stacks.pyramid).hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('flusher'),
      ReservedConcurrentExecutions: 4,
    });
  });
});
