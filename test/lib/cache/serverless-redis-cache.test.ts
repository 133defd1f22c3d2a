import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { CacheEngine } from '../../../lib/cache/cache-cluster';
import { CacheEngineVersion } from '../../../lib/cache/cache-engine-version';
import { ServerlessRedisCache, ServerlessRedisCacheProps } from '../../../lib/cache/serverless-redis-cache';

interface Fixture {
  readonly stack: Stack;
  readonly vpc: ec2.Vpc;
}

function fixture(maxAzs = 2): Fixture {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, maxAzs, subnetConfiguration: [{ name: 'iso', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  return { stack, vpc };
}

function cache(f: Fixture, props: Partial<ServerlessRedisCacheProps> = {}): ServerlessRedisCache {
  return new ServerlessRedisCache(f.stack, 'Cache', { vpc: f.vpc, cacheName: 'pyramid', ...props });
}

function alarmOn(f: Fixture, metric: cloudwatch.IMetric): Record<string, unknown> {
  new cloudwatch.Alarm(f.stack, 'Probe', { metric, threshold: 1, evaluationPeriods: 1 });
  return Object.values(Template.fromStack(f.stack).findResources('AWS::CloudWatch::Alarm'))[0].Properties;
}

describe('ServerlessRedisCache', () => {
  test('is a Valkey 8 serverless cache with default usage limits, KMS, its subnets and security group', () => {
    const f = fixture();
    const serverless = cache(f);
    Template.fromStack(f.stack).hasResourceProperties('AWS::ElastiCache::ServerlessCache', {
      ServerlessCacheName: 'pyramid',
      Engine: 'valkey',
      MajorEngineVersion: '8',
      CacheUsageLimits: { DataStorage: { Maximum: 10, Unit: 'GB' }, ECPUPerSecond: { Maximum: 100000 } },
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('CacheKey'), 'Arn'] },
      SecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('CacheSecurityGroup'), 'GroupId'] }],
      SubnetIds: [{ Ref: Match.stringLikeRegexp('VpcisoSubnet1') }, { Ref: Match.stringLikeRegexp('VpcisoSubnet2') }],
      SnapshotRetentionLimit: 1,
      DailySnapshotTime: '03:00',
    });
    expect(serverless.engine).toBe(CacheEngine.VALKEY);
    expect(serverless.clusterModeEnabled).toBe(true);
    expect(serverless.memberClusterIds).toEqual([]);
  });

  test('takes the usage limits it is given', () => {
    const f = fixture();
    cache(f, { maxDataStorageGb: 50, maxEcpuPerSecond: 20000, engineVersion: CacheEngineVersion.REDIS_7_1 });
    Template.fromStack(f.stack).hasResourceProperties('AWS::ElastiCache::ServerlessCache', {
      Engine: 'redis',
      MajorEngineVersion: '7',
      CacheUsageLimits: { DataStorage: { Maximum: 50, Unit: 'GB' }, ECPUPerSecond: { Maximum: 20000 } },
    });
  });

  test('authenticates through a generated RBAC user group whose default user is off and whose app user has a generated password', () => {
    const f = fixture();
    const serverless = cache(f);
    const template = Template.fromStack(f.stack);
    template.hasResourceProperties('AWS::ElastiCache::User', { UserId: 'pyramid-default', UserName: 'default', AccessString: 'off -@all', Engine: 'redis' });
    const passwords = new Capture();
    template.hasResourceProperties('AWS::ElastiCache::User', {
      UserId: 'pyramid-app',
      UserName: 'app',
      AccessString: 'on ~* +@all -keys -flushall -flushdb',
      AuthenticationMode: { Type: 'password', Passwords: passwords },
    });
    expect(JSON.stringify(passwords.asArray())).toMatch(/\{\{resolve:secretsmanager:.*:SecretString:password::\}\}/);
    template.hasResourceProperties('AWS::ElastiCache::UserGroup', { UserGroupId: 'pyramid-users', Engine: 'redis', UserIds: ['pyramid-default', 'pyramid-app'] });
    template.hasResource('AWS::ElastiCache::ServerlessCache', {
      Properties: Match.objectLike({ UserGroupId: 'pyramid-users' }),
      DependsOn: [Match.stringLikeRegexp('CacheUserGroup')],
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { SecretStringTemplate: '{"username":"app"}', GenerateStringKey: 'password', PasswordLength: 64, ExcludePunctuation: true },
    });
    expect(f.stack.resolve(serverless.clientEnvironment.CACHE_AUTH_SECRET_ARN)).toEqual({ Ref: expect.stringMatching(/^CacheUserSecret/) });
  });

  test('uses an existing user group and its secret instead', () => {
    const f = fixture();
    const secret = new secretsmanager.Secret(f.stack, 'Rbac');
    const serverless = cache(f, { userGroupId: 'team-users', rbacUserSecret: secret });
    const template = Template.fromStack(f.stack);
    template.resourceCountIs('AWS::ElastiCache::User', 0);
    template.hasResourceProperties('AWS::ElastiCache::ServerlessCache', { UserGroupId: 'team-users' });
    expect(serverless.authSecret).toBe(secret);
  });

  test('grantConnect opens 6379-6380 to the function only and lets it read the user secret', () => {
    const f = fixture();
    const serverless = cache(f);
    const fn = new lambda.Function(f.stack, 'Fn', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => 1;'),
      vpc: f.vpc,
    });
    serverless.grantConnect(fn);
    const template = Template.fromStack(f.stack);
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 1);
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 6379,
      ToPort: 6380,
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('FnSecurityGroup'), 'GroupId'] },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Resource: { Ref: Match.stringLikeRegexp('CacheUserSecret') } })]) },
    });
  });

  test('clientEnvironment points at the endpoint on 6379 with TLS and the cluster protocol', () => {
    const f = fixture();
    const env = f.stack.resolve(cache(f).clientEnvironment);
    expect(JSON.stringify(env.CACHE_ENDPOINT)).toContain('Endpoint.Address');
    expect(JSON.stringify(env.CACHE_ENDPOINT)).toContain(':6379');
    expect(env.CACHE_TLS).toBe('true');
    expect(env.CACHE_CLUSTER_MODE).toBe('true');
  });

  test('is retained on stack deletion unless told otherwise', () => {
    const kept = fixture();
    cache(kept);
    Template.fromStack(kept.stack).hasResource('AWS::ElastiCache::ServerlessCache', { DeletionPolicy: 'Retain' });
    const dev = fixture();
    cache(dev, { removalPolicy: RemovalPolicy.DESTROY });
    Template.fromStack(dev.stack).hasResource('AWS::ElastiCache::ServerlessCache', { DeletionPolicy: 'Delete' });
  });

  describe('metrics on the clusterId dimension', () => {
    test('hit rate is 100 * hits / (hits + misses)', () => {
      const f = fixture();
      const alarm = alarmOn(f, cache(f).metricCacheHitRate()) as { Metrics: { Expression?: string; MetricStat?: { Metric: { MetricName: string; Dimensions: unknown[] }; Stat: string } }[] };
      expect(alarm.Metrics.find((m) => m.Expression)?.Expression).toBe('100 * hits / (hits + misses)');
      const stats = alarm.Metrics.filter((m) => m.MetricStat).map((m) => m.MetricStat!);
      expect(stats.map((s) => [s.Metric.MetricName, s.Stat])).toEqual([['CacheHits', 'Sum'], ['CacheMisses', 'Sum']]);
      expect(stats.every((s) => JSON.stringify(s.Metric.Dimensions) === JSON.stringify([{ Name: 'clusterId', Value: 'pyramid' }]))).toBe(true);
    });

    test('memory is BytesUsedForCache as a percent of the data-storage limit', () => {
      const f = fixture();
      const alarm = alarmOn(f, cache(f, { maxDataStorageGb: 2 }).metricDatabaseMemoryUsagePercentage()) as { Metrics: { Expression?: string; MetricStat?: { Metric: { MetricName: string } } }[] };
      expect(alarm.Metrics.find((m) => m.Expression)?.Expression).toBe(`100 * bytes / ${2 * 1024 ** 3}`);
      expect(alarm.Metrics.find((m) => m.MetricStat)?.MetricStat?.Metric.MetricName).toBe('BytesUsedForCache');
    });

    test('engine CPU is the ECPUs consumed as a percent of the ECPU-per-second limit', () => {
      const f = fixture();
      const alarm = alarmOn(f, cache(f, { maxEcpuPerSecond: 5000 }).metricEngineCpuUtilization()) as { Metrics: { Expression?: string }[] };
      expect(alarm.Metrics.find((m) => m.Expression)?.Expression).toBe('100 * ecpu / (5000 * PERIOD(ecpu))');
    });

    test('evictions and connections are plain metrics of the cache; there is no replication lag', () => {
      const f = fixture();
      const serverless = cache(f);
      const evictions = alarmOn(f, serverless.metricEvictions());
      expect(evictions).toMatchObject({ MetricName: 'Evictions', Statistic: 'Sum', Namespace: 'AWS/ElastiCache', Dimensions: [{ Name: 'clusterId', Value: 'pyramid' }] });
      expect((serverless.metricCurrConnections() as cloudwatch.Metric).metricName).toBe('CurrConnections');
      expect((serverless.metricThrottledCommands() as cloudwatch.Metric).statistic).toBe('Sum');
      expect(serverless.metricReplicationLag()).toBeUndefined();
    });
  });

  describe('validation', () => {
    test.each(['Pyramid', 'a--b', 'cache-', '9cache', 'x'.repeat(41)])('rejects cacheName %p', (cacheName) => {
      expect(() => cache(fixture(), { cacheName })).toThrow(/`cacheName` must be 1-40 lowercase letters/);
    });

    test.each([0, 5001])('rejects maxDataStorageGb %p', (maxDataStorageGb) => {
      expect(() => cache(fixture(), { maxDataStorageGb })).toThrow(`\`maxDataStorageGb\` must be an integer between 1 and 5000, got ${maxDataStorageGb}`);
    });

    test.each([999, 15_000_001])('rejects maxEcpuPerSecond %p', (maxEcpuPerSecond) => {
      expect(() => cache(fixture(), { maxEcpuPerSecond })).toThrow(`\`maxEcpuPerSecond\` must be an integer between 1000 and 15000000, got ${maxEcpuPerSecond}`);
    });

    test('rejects snapshotRetentionDays above 35', () => {
      expect(() => cache(fixture(), { snapshotRetentionDays: 36 })).toThrow('`snapshotRetentionDays` must be an integer between 0 and 35, got 36');
    });

    test('rejects an RBAC secret without a user group', () => {
      const f = fixture();
      expect(() => cache(f, { rbacUserSecret: new secretsmanager.Secret(f.stack, 'S') })).toThrow(/`rbacUserSecret` needs `userGroupId`/);
    });

    test('rejects an access string for an existing user group', () => {
      expect(() => cache(fixture(), { userGroupId: 'g', accessString: 'on ~* +@read' })).toThrow(/`accessString` and `userGroupId` are mutually exclusive/);
    });

    test('SNAPSHOT keeps a final snapshot of the cache and retains its key and secret, which cannot be snapshotted', () => {
      const f = fixture();
      cache(f, { removalPolicy: RemovalPolicy.SNAPSHOT });
      const template = Template.fromStack(f.stack);
      expect(Object.values(template.findResources('AWS::ElastiCache::ServerlessCache'))[0].DeletionPolicy).toBe('Snapshot');
      for (const type of ['AWS::KMS::Key', 'AWS::SecretsManager::Secret']) {
        expect(Object.values(template.findResources(type)).map((r) => r.DeletionPolicy)).toEqual(['Retain']);
      }
    });

    test.each(['3:00', '24:00', '03:00-04:00'])('rejects dailySnapshotTime %p', (dailySnapshotTime) => {
      expect(() => cache(fixture(), { dailySnapshotTime })).toThrow(`\`dailySnapshotTime\` must be UTC 'hh:mm', got ${JSON.stringify(dailySnapshotTime)}`);
    });

    test('rejects one subnet or more than three', () => {
      const one = fixture();
      expect(() => cache(one, { vpcSubnets: { subnets: [one.vpc.isolatedSubnets[0]] } })).toThrow('`vpcSubnets` must select 2 or 3 subnets (one per availability zone) for a serverless cache, got 1');
      const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
      const stack = new Stack(app, 'Four', { env: { account: '123456789012', region: 'eu-west-1' } });
      stack.node.setContext(`availability-zones:account=123456789012:region=eu-west-1`, ['eu-west-1a', 'eu-west-1b', 'eu-west-1c', 'eu-west-1d']);
      const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, maxAzs: 4, subnetConfiguration: [{ name: 'iso', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
      expect(() => new ServerlessRedisCache(stack, 'Cache', { vpc, cacheName: 'four' })).toThrow(/got 4$/);
    });
  });
});
