import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { addCachePyramidStacks, CachePyramidStacks } from '../../../lib/cache-pyramid-app';
import { EdgeMonitoringStack } from '../../../lib/edge-monitoring-stack';
import { EdgeSecurityStack } from '../../../lib/edge-security-stack';
import { loadStageConfig, StageConfig, StageCacheKind } from '../../../lib/stages';
import { ALARMS_ACKNOWLEDGED, testApp } from '../../support/cdk';

/** CloudFormation read back from a synthesised template; each test asserts the shape it relies on. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type CfnJson = Record<string, any>;

function stageOf(name: string, changes: Partial<StageConfig> = {}): StageConfig {
  return { ...loadStageConfig(testApp({ stage: name, ...ALARMS_ACKNOWLEDGED })), ...changes };
}

function build(stage: StageConfig, app: App = testApp()): CachePyramidStacks & { template: Template } {
  const stacks = addCachePyramidStacks(app, stage);
  return { ...stacks, template: Template.fromStack(stacks.pyramid) };
}

function only(template: Template, type: string): CfnJson {
  const found = Object.values(template.findResources(type));
  expect(found).toHaveLength(1);
  return found[0].Properties;
}

function distributionConfig(template: Template): CfnJson {
  return only(template, 'AWS::CloudFront::Distribution').DistributionConfig;
}

describe('CachePyramidStack', () => {
  const savedAccount = process.env.CDK_DEFAULT_ACCOUNT;
  beforeAll(() => delete process.env.CDK_DEFAULT_ACCOUNT);
  afterAll(() => {
    if (savedAccount !== undefined) process.env.CDK_DEFAULT_ACCOUNT = savedAccount;
  });

  describe('dev stage (cdk.json, no context)', () => {
    const dev = build(stageOf('dev'));

    it('puts the main stack in the stage region with no account, and the monitoring companion in us-east-1', () => {
      expect(dev.pyramid.stackName).toBe('CachePyramid-dev');
      expect(dev.pyramid.region).toBe('eu-west-1');
      expect(Stack.of(dev.pyramid).resolve(dev.pyramid.account)).toEqual({ Ref: 'AWS::AccountId' });
      expect(dev.edgeMonitoring).toBeInstanceOf(EdgeMonitoringStack);
      expect(dev.edgeMonitoring.region).toBe('us-east-1');
      expect(dev.edgeSecurity).toBeUndefined();
    });

    it('fronts the HTTP API with the distribution, sending the API secret, through Origin Shield in the API region', () => {
      const api = dev.pyramid.api;
      const apiOrigin = distributionConfig(dev.template).Origins.find((o: CfnJson) => o.CustomOriginConfig !== undefined);
      expect(apiOrigin.DomainName).toEqual(dev.pyramid.resolve(api.apiDomainName));
      expect(apiOrigin.OriginShield).toEqual({ Enabled: true, OriginShieldRegion: 'eu-west-1' });
      expect(JSON.stringify(apiOrigin.OriginCustomHeaders)).toContain(dev.pyramid.getLogicalId(api.originVerifySecret.node.defaultChild as never));
    });

    it('wires the API function to the stage cache and database, and keeps the apiFunction member', () => {
      expect(dev.pyramid.apiFunction).toBe(dev.pyramid.api.apiFunction);
      const fn = Object.values(dev.template.findResources('AWS::Lambda::Function')).find((f) => /API:/.test(f.Properties.Description ?? ''));
      expect(fn?.Properties.Environment.Variables).toMatchObject({
        CACHE_ENDPOINT: dev.pyramid.resolve(dev.pyramid.cache.clientEnvironment.CACHE_ENDPOINT),
        DB_HOST: dev.pyramid.resolve(dev.pyramid.database.endpointAddress),
      });
      expect(fn?.Properties.Environment.Variables).not.toHaveProperty('CACHE_TTLS');
      const group = only(dev.template, 'AWS::ElastiCache::ReplicationGroup');
      expect(group).toMatchObject({ CacheNodeType: 'cache.t4g.micro', NumCacheClusters: 1 });
      // CloudFormation names the group, so a change it applies by replacement can deploy.
      expect(group).not.toHaveProperty('ReplicationGroupId');
    });

    it('deletes the database master secret with the cluster, which dev does not snapshot', () => {
      const secrets = Object.values(dev.template.findResources('AWS::SecretsManager::Secret')).filter((r) => /pyramid_admin/.test(JSON.stringify(r.Properties)));
      expect(secrets.map((secret) => secret.DeletionPolicy)).toEqual(['Delete']);
    });

    it('bounds the event-source concurrency of its queue consumers to fit a new account\'s Lambda quota of 10, leaving room for the API', () => {
      const sources = Object.values(dev.template.findResources('AWS::Lambda::EventSourceMapping'));
      const consumers = sources.map((source) => source.Properties.ScalingConfig?.MaximumConcurrency);
      expect(consumers.every((n) => typeof n === 'number')).toBe(true);
      const reserved = Object.values(dev.template.findResources('AWS::Lambda::Function')).map((fn) => fn.Properties.ReservedConcurrentExecutions ?? 0);
      const total = [...consumers, ...reserved].reduce((sum, n) => sum + n, 0);
      // 10 is the concurrency quota of a new account; 6 leaves 4 for the API function and the deploy-time handlers.
      expect(total).toBeLessThanOrEqual(6);
    });

    it('delivers ElastiCache and API access logs into /aws/vendedlogs/ log groups (one account log policy statement covers them)', () => {
      const names = Object.values(dev.template.findResources('AWS::Logs::LogGroup')).map((group) => group.Properties.LogGroupName);
      const vended = names.filter((name) => typeof name === 'string' && name.startsWith('/aws/vendedlogs/'));
      expect(vended).toEqual(expect.arrayContaining([expect.stringMatching(/^\/aws\/vendedlogs\/elasticache\/.*\/slow-log$/), expect.stringMatching(/^\/aws\/vendedlogs\/elasticache\/.*\/engine-log$/), expect.stringMatching(/^\/aws\/vendedlogs\/apigateway\/.*\/access-logs$/)]));
      const logGroups = dev.template.findResources('AWS::Logs::LogGroup');
      const group = only(dev.template, 'AWS::ElastiCache::ReplicationGroup');
      for (const delivery of group.LogDeliveryConfigurations) {
        expect(logGroups[delivery.DestinationDetails.CloudWatchLogsDetails.LogGroup.Ref].Properties.LogGroupName).toMatch(/^\/aws\/vendedlogs\/elasticache\//);
      }
      const stage = only(dev.template, 'AWS::ApiGatewayV2::Stage');
      const accessLogGroup = Object.entries(dev.template.findResources('AWS::Logs::LogGroup')).find(([id]) => JSON.stringify(stage.AccessLogSettings.DestinationArn).includes(id));
      expect(accessLogGroup?.[1].Properties.LogGroupName).toMatch(/^\/aws\/vendedlogs\/apigateway\//);
    });

    it('publishes the distribution, API, cache and database endpoints and the ids the ops CLI reads', () => {
      const outputs = dev.template.toJSON().Outputs as CfnJson;
      expect(Object.keys(outputs).sort()).toEqual(
        expect.arrayContaining(['ApiUrl', 'CacheEndpoint', 'DatabaseEndpoint', 'DistributionDomainName', 'DistributionId', 'ReplicationGroupId', 'SiteUrl']),
      );
      expect(outputs.ReplicationGroupId.Value).toEqual({ Ref: 'Cache18F6EE16' });
      expect(outputs.CacheEndpoint.Value).toEqual({
        'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^Cache/), 'PrimaryEndPoint.Address'] }, ':6380']],
      });
    });

    it('lets dev data go with the stack: buckets emptied and deleted, queues deleted', () => {
      for (const bucket of Object.values(dev.template.findResources('AWS::S3::Bucket'))) expect(bucket.DeletionPolicy).toBe('Delete');
      for (const queue of Object.values(dev.template.findResources('AWS::SQS::Queue'))) expect(queue.DeletionPolicy).toBe('Delete');
      expect(Object.keys(dev.template.findResources('Custom::S3AutoDeleteObjects'))).toHaveLength(2);
    });

    it('denies customer-made grants on every KMS key of the stack', () => {
      const keys = Object.values(dev.template.findResources('AWS::KMS::Key'));
      expect(keys.length).toBeGreaterThanOrEqual(3);
      for (const key of keys) {
        expect(key.Properties.KeyPolicy.Statement).toContainEqual(
          expect.objectContaining({
            Sid: 'DenyGrantsExceptForAwsServices',
            Effect: 'Deny',
            Action: 'kms:CreateGrant',
            Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
          }),
        );
      }
    });
  });

  describe('prod stage', () => {
    const prod = build(stageOf('prod'));

    it('shards and replicates the cache across AZs and retains data', () => {
      expect(only(prod.template, 'AWS::ElastiCache::ReplicationGroup')).toMatchObject({
        NumNodeGroups: 3,
        ReplicasPerNodeGroup: 1,
        MultiAZEnabled: true,
        AutomaticFailoverEnabled: true,
      });
      for (const bucket of Object.values(prod.template.findResources('AWS::S3::Bucket'))) expect(bucket.DeletionPolicy).toBe('Retain');
      expect(only(prod.template, 'AWS::RDS::DBCluster').DeletionProtection).toBe(true);
    });

    it('adds and removes shards online instead of replacing the cluster-mode group', () => {
      const [group] = Object.values(prod.template.findResources('AWS::ElastiCache::ReplicationGroup'));
      expect(group.UpdatePolicy).toEqual({ UseOnlineResharding: true });
    });

    it('keeps the database master secret when the stack is deleted, as long as the cluster\'s final snapshot', () => {
      const secrets = Object.values(prod.template.findResources('AWS::SecretsManager::Secret')).filter((r) => /pyramid_admin/.test(JSON.stringify(r.Properties)));
      expect(secrets).toHaveLength(1);
      expect(secrets[0]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
      expect(Object.values(prod.template.findResources('AWS::RDS::DBCluster'))[0].DeletionPolicy).toBe('Snapshot');
    });

    it('passes the stage TTL table to the API function as CACHE_TTLS', () => {
      const fn = Object.values(prod.template.findResources('AWS::Lambda::Function')).find((f) => /API:/.test(f.Properties.Description ?? ''));
      expect(JSON.parse(fn?.Properties.Environment.Variables.CACHE_TTLS)).toEqual({
        user_profile: 3600,
        product_list: 300,
        product: 3600,
        config: 86400,
        analytics: 60,
      });
    });

    it('creates the web ACL in us-east-1 and attaches it through a cross-region stack output', () => {
      expect(prod.edgeSecurity).toBeInstanceOf(EdgeSecurityStack);
      expect(prod.edgeSecurity!.region).toBe('us-east-1');
      Template.fromStack(prod.edgeSecurity!).hasResourceProperties('AWS::WAFv2::WebACL', { Scope: 'CLOUDFRONT' });
      expect(distributionConfig(prod.template).WebACLId).toEqual({
        'Fn::GetStackOutput': { StackName: 'CachePyramid-prod-EdgeSecurity', Region: 'us-east-1', OutputName: expect.any(String) },
      });
      expect(prod.pyramid.dependencies).toContain(prod.edgeSecurity);
    });
  });

  it('serves a hosted-zone domain with a certificate validated in us-east-1 and alias records', () => {
    const stage = stageOf('dev', { domain: { names: ['shop.example.com'], hostedZoneId: 'Z123456ABCDEFG', hostedZoneName: 'example.com' } });
    const { pyramid, edgeSecurity, template } = build(stage);
    Template.fromStack(edgeSecurity!).hasResourceProperties('AWS::CertificateManager::Certificate', {
      DomainName: 'shop.example.com',
      ValidationMethod: 'DNS',
      DomainValidationOptions: [{ DomainName: 'shop.example.com', HostedZoneId: 'Z123456ABCDEFG' }],
    });
    expect(distributionConfig(template)).toMatchObject({
      Aliases: ['shop.example.com'],
      ViewerCertificate: {
        AcmCertificateArn: { 'Fn::GetStackOutput': { StackName: 'CachePyramid-dev-EdgeSecurity', Region: 'us-east-1', OutputName: expect.any(String) } },
        MinimumProtocolVersion: 'TLSv1.2_2021',
        SslSupportMethod: 'sni-only',
      },
    });
    expect(Object.values(template.findResources('AWS::Route53::RecordSet')).map((r) => r.Properties.Type).sort()).toEqual(['A', 'AAAA']);
    expect((template.toJSON().Outputs as CfnJson).SiteUrl.Value).toBe('https://shop.example.com');
    expect(pyramid.dependencies).toContain(edgeSecurity);
  });

  it('imports an existing certificate without a companion stack', () => {
    const certificateArn = 'arn:aws:acm:us-east-1:111111111111:certificate/0f5e7b2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b';
    const { edgeSecurity, template } = build(stageOf('dev', { domain: { names: ['shop.example.com'], certificateArn } }));
    expect(edgeSecurity).toBeUndefined();
    expect(distributionConfig(template).ViewerCertificate.AcmCertificateArn).toBe(certificateArn);
  });

  it('builds a serverless cache when the stage asks for one', () => {
    const { template, pyramid } = build(stageOf('dev', { cache: { kind: StageCacheKind.SERVERLESS, maxDataStorageGb: 5, maxEcpuPerSecond: 5000 } }));
    expect(only(template, 'AWS::ElastiCache::ServerlessCache').ServerlessCacheName).toBe('cache-pyramid-sls-dev');
    template.resourceCountIs('AWS::ElastiCache::ReplicationGroup', 0);
    expect((template.toJSON().Outputs as CfnJson).ServerlessCacheName.Value).toBe('cache-pyramid-sls-dev');
    // Not the node-based cache's logical id: a switch of kind never changes the type of one logical id.
    expect(Object.keys(template.findResources('AWS::ElastiCache::ServerlessCache'))).toEqual([expect.stringMatching(/^ServerlessCache/)]);
    expect(pyramid.node.tryFindChild('Cache')).toBeUndefined();
  });

  it('refuses companions outside us-east-1', () => {
    const app = testApp();
    const { pyramid } = addCachePyramidStacks(app, stageOf('dev'));
    expect(() => new EdgeSecurityStack(app, 'Cert', { env: { region: 'eu-west-1' }, namePrefix: 'x', webAcl: true })).toThrow(
      /EdgeSecurityStack: CloudFront reads certificates and web ACLs only from us-east-1; set env.region to us-east-1, got eu-west-1/,
    );
    expect(() => new EdgeMonitoringStack(app, 'Alarms', { env: { region: 'eu-west-1' }, distribution: pyramid.edge.distribution, alarmNamePrefix: 'x' })).toThrow(
      /EdgeMonitoringStack: CloudFront metrics exist only in us-east-1; set env.region to us-east-1, got eu-west-1/,
    );
  });

  it('refuses an edge security stack with nothing to create, or a domain without its zone', () => {
    const app = testApp();
    expect(() => new EdgeSecurityStack(app, 'Empty', { env: { region: 'us-east-1' }, namePrefix: 'x' })).toThrow(/nothing to create/);
    expect(() => new EdgeSecurityStack(app, 'NoZone', { env: { region: 'us-east-1' }, namePrefix: 'x', domainNames: ['a.example.com'] })).toThrow(
      /`domainNames` and `hostedZone` go together/,
    );
  });
});
