import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { CacheEngine } from '../../../lib/cache/cache-cluster';
import { CacheEngineVersion } from '../../../lib/cache/cache-engine-version';
import { ClusterMode, MaxMemoryPolicy, memberClusterIds, RedisCache, RedisCacheProps } from '../../../lib/cache/redis-cache';

interface Fixture {
  readonly stack: Stack;
  readonly vpc: ec2.Vpc;
}

function fixture(): Fixture {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, maxAzs: 2, subnetConfiguration: [{ name: 'iso', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  return { stack, vpc };
}

function cache(f: Fixture, props: Partial<RedisCacheProps> = {}): RedisCache {
  return new RedisCache(f.stack, 'Cache', { vpc: f.vpc, replicationGroupId: 'pyramid', ...props });
}

function fn(f: Fixture, id = 'Fn'): lambda.Function {
  return new lambda.Function(f.stack, id, {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => 1;'),
    vpc: f.vpc,
  });
}

/** The dimension values and metric names an alarm on `metric` reads, as CloudFormation renders them. */
function alarmMetrics(f: Fixture, metric: cloudwatch.IMetric): { expression?: string; stats: { name: string; dims: Record<string, string>; stat: string }[] } {
  new cloudwatch.Alarm(f.stack, 'Probe', { metric, threshold: 1, evaluationPeriods: 1 });
  const alarm = Object.values(Template.fromStack(f.stack).findResources('AWS::CloudWatch::Alarm'))[0].Properties;
  if (!alarm.Metrics) {
    return { stats: [{ name: alarm.MetricName, stat: alarm.Statistic, dims: Object.fromEntries(alarm.Dimensions.map((d: { Name: string; Value: string }) => [d.Name, d.Value])) }] };
  }
  const expression = alarm.Metrics.find((m: { Expression?: string }) => m.Expression)?.Expression;
  const stats = alarm.Metrics.filter((m: { MetricStat?: unknown }) => m.MetricStat).map(
    (m: { MetricStat: { Metric: { MetricName: string; Dimensions: { Name: string; Value: string }[] }; Stat: string } }) => ({
      name: m.MetricStat.Metric.MetricName,
      stat: m.MetricStat.Stat,
      dims: Object.fromEntries(m.MetricStat.Metric.Dimensions.map((d) => [d.Name, d.Value])),
    }),
  );
  return { expression, stats };
}

describe('RedisCache', () => {
  describe('defaults', () => {
    test('is Valkey 8.1, cluster mode disabled, one primary and one replica in two AZs with automatic failover', () => {
      const f = fixture();
      const redis = cache(f);
      Template.fromStack(f.stack).hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
        ReplicationGroupId: 'pyramid',
        Engine: 'valkey',
        EngineVersion: '8.1',
        CacheNodeType: 'cache.t4g.small',
        ClusterMode: 'disabled',
        NumCacheClusters: 2,
        MultiAZEnabled: true,
        AutomaticFailoverEnabled: true,
        Port: 6380,
        AutoMinorVersionUpgrade: true,
      });
      expect(redis.engine).toBe(CacheEngine.VALKEY);
      expect(redis.clusterModeEnabled).toBe(false);
      expect(redis.endpointPort).toBe(6380);
    });

    test('encrypts at rest with its own rotating KMS key and requires TLS in transit', () => {
      const f = fixture();
      cache(f);
      const template = Template.fromStack(f.stack);
      template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
        AtRestEncryptionEnabled: true,
        KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('CacheKey'), 'Arn'] },
        TransitEncryptionEnabled: true,
        TransitEncryptionMode: 'required',
      });
      template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    });

    test('takes its AUTH token from the current field of a generated JSON secret through a dynamic reference', () => {
      const f = fixture();
      cache(f);
      const template = Template.fromStack(f.stack);
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        GenerateSecretString: { SecretStringTemplate: '{}', GenerateStringKey: 'current', PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false },
        KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('CacheKey'), 'Arn'] },
      });
      const token = new Capture();
      template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { AuthToken: token });
      expect(JSON.stringify(token.asObject())).toMatch(/\{\{resolve:secretsmanager:.*:SecretString:current::\}\}/);
      template.resourcePropertiesCountIs('AWS::ElastiCache::ReplicationGroup', { UserGroupIds: Match.anyValue() }, 0);
    });

    test('evicts allkeys-lru through its own parameter group of the engine family', () => {
      const f = fixture();
      cache(f);
      const template = Template.fromStack(f.stack);
      template.hasResourceProperties('AWS::ElastiCache::ParameterGroup', {
        CacheParameterGroupFamily: 'valkey8',
        Properties: { 'maxmemory-policy': 'allkeys-lru', 'cluster-enabled': 'no' },
      });
      template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
        CacheParameterGroupName: { Ref: Match.stringLikeRegexp('CacheParameterGroup') },
      });
    });

    test('delivers slow and engine logs as JSON to encrypted log groups with retention', () => {
      const f = fixture();
      cache(f);
      const template = Template.fromStack(f.stack);
      template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
        LogDeliveryConfigurations: [
          { LogType: 'slow-log', LogFormat: 'json', DestinationType: 'cloudwatch-logs', DestinationDetails: { CloudWatchLogsDetails: { LogGroup: { Ref: Match.stringLikeRegexp('CacheSlowLog') } } } },
          { LogType: 'engine-log', LogFormat: 'json', DestinationType: 'cloudwatch-logs', DestinationDetails: { CloudWatchLogsDetails: { LogGroup: { Ref: Match.stringLikeRegexp('CacheEngineLog') } } } },
        ],
      });
      template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 365, KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('CacheKey'), 'Arn'] } }, 2);
    });

    test('keeps daily snapshots for a day and has explicit snapshot and maintenance windows', () => {
      const f = fixture();
      cache(f);
      Template.fromStack(f.stack).hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
        SnapshotRetentionLimit: 1,
        SnapshotWindow: '03:00-04:00',
        PreferredMaintenanceWindow: 'sun:05:00-sun:06:00',
      });
    });

    test('takes a final snapshot when the stack is deleted, and keeps the key and logs', () => {
      const f = fixture();
      cache(f);
      const template = Template.fromStack(f.stack);
      template.hasResource('AWS::ElastiCache::ReplicationGroup', { DeletionPolicy: 'Snapshot', UpdateReplacePolicy: 'Snapshot' });
      template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain' });
      template.allResources('AWS::Logs::LogGroup', { DeletionPolicy: 'Retain' });
    });

    test('destroys everything in a dev stage that asks for it', () => {
      const f = fixture();
      cache(f, { removalPolicy: RemovalPolicy.DESTROY });
      const template = Template.fromStack(f.stack);
      template.hasResource('AWS::ElastiCache::ReplicationGroup', { DeletionPolicy: 'Delete' });
      template.allResources('AWS::Logs::LogGroup', { DeletionPolicy: 'Delete' });
    });

    test('places the nodes in a subnet group of the isolated subnets', () => {
      const f = fixture();
      cache(f);
      Template.fromStack(f.stack).hasResourceProperties('AWS::ElastiCache::SubnetGroup', {
        SubnetIds: f.vpc.isolatedSubnets.map((s) => ({ Ref: Match.stringLikeRegexp(f.stack.getLogicalId(s.node.defaultChild as ec2.CfnSubnet)) })),
      });
    });
  });

  describe('topology', () => {
    test('cluster mode enabled uses node groups and replicas per node group, and the cluster-enabled parameter', () => {
      const f = fixture();
      const redis = cache(f, { clusterMode: ClusterMode.ENABLED, numShards: 3, replicasPerShard: 1 });
      const template = Template.fromStack(f.stack);
      template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
        ClusterMode: 'enabled',
        NumNodeGroups: 3,
        ReplicasPerNodeGroup: 1,
        NumCacheClusters: Match.absent(),
        AutomaticFailoverEnabled: true,
        MultiAZEnabled: true,
      });
      template.hasResourceProperties('AWS::ElastiCache::ParameterGroup', { Properties: { 'cluster-enabled': 'yes' } });
      expect(redis.clusterModeEnabled).toBe(true);
    });

    test('without replicas there is no Multi-AZ; cluster mode still gets automatic failover, which it requires', () => {
      const disabled = fixture();
      cache(disabled, { replicasPerShard: 0 });
      Template.fromStack(disabled.stack).hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
        NumCacheClusters: 1,
        MultiAZEnabled: false,
        AutomaticFailoverEnabled: false,
      });
      const enabled = fixture();
      cache(enabled, { clusterMode: ClusterMode.ENABLED, numShards: 2, replicasPerShard: 0 });
      Template.fromStack(enabled.stack).hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
        MultiAZEnabled: false,
        AutomaticFailoverEnabled: true,
      });
    });

    test('Redis OSS 7.1 uses the redis7 parameter family', () => {
      const f = fixture();
      const redis = cache(f, { engineVersion: CacheEngineVersion.REDIS_7_1, maxMemoryPolicy: MaxMemoryPolicy.VOLATILE_LFU });
      const template = Template.fromStack(f.stack);
      template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { Engine: 'redis', EngineVersion: '7.1' });
      template.hasResourceProperties('AWS::ElastiCache::ParameterGroup', { CacheParameterGroupFamily: 'redis7', Properties: { 'maxmemory-policy': 'volatile-lfu' } });
      expect(redis.engine).toBe(CacheEngine.REDIS);
    });

    test('a cluster-mode group adds and removes shards online (UseOnlineResharding); a single-shard group has no update policy', () => {
      const enabled = fixture();
      cache(enabled, { clusterMode: ClusterMode.ENABLED, numShards: 2 });
      const [sharded] = Object.values(Template.fromStack(enabled.stack).findResources('AWS::ElastiCache::ReplicationGroup'));
      expect(sharded.UpdatePolicy).toEqual({ UseOnlineResharding: true });
      const disabled = fixture();
      cache(disabled);
      const [single] = Object.values(Template.fromStack(disabled.stack).findResources('AWS::ElastiCache::ReplicationGroup'));
      expect(single.UpdatePolicy).toBeUndefined();
    });

    test('without replicationGroupId CloudFormation names the group, and member ids and descriptions follow without a cycle', () => {
      const f = fixture();
      const redis = new RedisCache(f.stack, 'Generated', { vpc: f.vpc, clusterMode: ClusterMode.ENABLED, numShards: 2, replicasPerShard: 1 });
      const template = Template.fromStack(f.stack);
      const [[logicalId, group]] = Object.entries(template.findResources('AWS::ElastiCache::ReplicationGroup'));
      expect(group.Properties).not.toHaveProperty('ReplicationGroupId');
      expect(group.Properties.ReplicationGroupDescription).toBe('cache-pyramid cache Test/Generated');
      expect(f.stack.resolve(redis.replicationGroupId)).toEqual({ Ref: logicalId });
      expect(f.stack.resolve(redis.memberClusterIds[3])).toEqual({ 'Fn::Join': ['', [{ Ref: logicalId }, '-0002-002']] });
      template.hasResourceProperties('AWS::EC2::SecurityGroup', { GroupDescription: 'ElastiCache Test/Generated: port 6380 from granted functions only' });
    });

    test('slow and engine logs go to /aws/vendedlogs/elasticache/ log groups named after the construct, not the group', () => {
      const f = fixture();
      cache(f);
      const names = Object.values(Template.fromStack(f.stack).findResources('AWS::Logs::LogGroup')).map((g) => g.Properties.LogGroupName);
      expect(names.sort()).toEqual([expect.stringMatching(/^\/aws\/vendedlogs\/elasticache\/Test-Cache-[0-9A-F]{8}\/engine-log$/), expect.stringMatching(/^\/aws\/vendedlogs\/elasticache\/Test-Cache-[0-9A-F]{8}\/slow-log$/)]);
    });

    test('member ids follow ElastiCache naming for both cluster modes', () => {
      expect(memberClusterIds('rg', ClusterMode.DISABLED, 1, 2)).toEqual(['rg-001', 'rg-002', 'rg-003']);
      expect(memberClusterIds('rg', ClusterMode.ENABLED, 3, 1)).toEqual(['rg-0001-001', 'rg-0001-002', 'rg-0002-001', 'rg-0002-002', 'rg-0003-001', 'rg-0003-002']);
    });
  });

  describe('authentication', () => {
    test('with RBAC user groups there is no AUTH token and the functions get the RBAC secret', () => {
      const f = fixture();
      const rbac = new secretsmanager.Secret(f.stack, 'Rbac');
      const redis = cache(f, { userGroupIds: ['app-users'], rbacUserSecret: rbac });
      const template = Template.fromStack(f.stack);
      template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { UserGroupIds: ['app-users'], AuthToken: Match.absent() });
      expect(redis.authSecret).toBe(rbac);
      expect(f.stack.resolve(redis.clientEnvironment.CACHE_AUTH_SECRET_ARN)).toEqual({ Ref: expect.stringMatching(/^Rbac/) });
    });

    test('an existing AUTH token secret is used instead of a generated one', () => {
      const f = fixture();
      const token = new secretsmanager.Secret(f.stack, 'Token');
      const redis = cache(f, { authTokenSecret: token });
      expect(redis.authSecret).toBe(token);
      Template.fromStack(f.stack).resourceCountIs('AWS::SecretsManager::Secret', 1);
    });
  });

  describe('access', () => {
    test('has no ingress and no egress until a function is granted', () => {
      const f = fixture();
      cache(f);
      const template = Template.fromStack(f.stack);
      template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
      // Egress inline, so EC2 drops its default allow-all rule: a separate rule would sit next to it.
      template.hasResourceProperties('AWS::EC2::SecurityGroup', {
        GroupDescription: 'ElastiCache pyramid: port 6380 from granted functions only',
        SecurityGroupIngress: Match.absent(),
        SecurityGroupEgress: [Match.objectLike({ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic' })],
      });
      template.resourceCountIs('AWS::EC2::SecurityGroupEgress', 0);
    });

    test('grantConnect opens the cache port to the function security group only and lets it read the named secret', () => {
      const f = fixture();
      const redis = cache(f);
      const granted = fn(f);
      fn(f, 'Other');
      redis.grantConnect(granted);
      const template = Template.fromStack(f.stack);
      template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 1);
      template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        IpProtocol: 'tcp',
        FromPort: 6380,
        ToPort: 6380,
        GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('CacheSecurityGroup'), 'GroupId'] },
        SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('FnSecurityGroup'), 'GroupId'] },
      });
      template.resourcePropertiesCountIs('AWS::EC2::SecurityGroupIngress', { CidrIp: Match.anyValue() }, 0);
      const policies = template.findResources('AWS::IAM::Policy');
      const statements = Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
      const secretRead = statements.find((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'));
      expect(secretRead.Resource).toEqual({ Ref: expect.stringMatching(/^CacheAuthToken/) });
      expect(Object.keys(policies).every((id) => !id.startsWith('OtherServiceRole'))).toBe(true);
    });

    test('clientEnvironment carries the endpoint, TLS, cluster mode and the secret ARN', () => {
      const f = fixture();
      const redis = cache(f, { clusterMode: ClusterMode.ENABLED, numShards: 2 });
      const env = f.stack.resolve(redis.clientEnvironment);
      expect(env.CACHE_TLS).toBe('true');
      expect(env.CACHE_CLUSTER_MODE).toBe('true');
      expect(JSON.stringify(env.CACHE_ENDPOINT)).toContain('ConfigurationEndPoint.Address');
      expect(JSON.stringify(env.CACHE_ENDPOINT)).toContain(':6380');
      expect(env.CACHE_AUTH_SECRET_ARN).toEqual({ Ref: expect.stringMatching(/^CacheAuthToken/) });
      const disabled = fixture();
      expect(JSON.stringify(disabled.stack.resolve(cache(disabled).clientEnvironment.CACHE_ENDPOINT))).toContain('PrimaryEndPoint.Address');
    });
  });

  describe('metrics', () => {
    test('1 shard x 2 replicas: memory is the MAX over the three members, each with CacheClusterId and CacheNodeId 0001', () => {
      const f = fixture();
      const redis = cache(f, { replicasPerShard: 2 });
      const probe = alarmMetrics(f, redis.metricDatabaseMemoryUsagePercentage());
      expect(probe.expression).toBe('MAX([m0, m1, m2])');
      expect(probe.stats.map((s) => s.dims)).toEqual([
        { CacheClusterId: 'pyramid-001', CacheNodeId: '0001' },
        { CacheClusterId: 'pyramid-002', CacheNodeId: '0001' },
        { CacheClusterId: 'pyramid-003', CacheNodeId: '0001' },
      ]);
      expect(probe.stats.every((s) => s.name === 'DatabaseMemoryUsagePercentage' && s.stat === 'Maximum')).toBe(true);
    });

    test('3 shards x 1 replica: evictions are the per-node Sum, MAX over the six members', () => {
      const f = fixture();
      const redis = cache(f, { clusterMode: ClusterMode.ENABLED, numShards: 3, replicasPerShard: 1 });
      const probe = alarmMetrics(f, redis.metricEvictions());
      expect(probe.expression).toBe('MAX([m0, m1, m2, m3, m4, m5])');
      expect(probe.stats.map((s) => s.dims.CacheClusterId)).toEqual([
        'pyramid-0001-001', 'pyramid-0001-002', 'pyramid-0002-001', 'pyramid-0002-002', 'pyramid-0003-001', 'pyramid-0003-002',
      ]);
      expect(probe.stats.every((s) => s.stat === 'Sum')).toBe(true);
    });

    test('hit rate is the exact ratio of summed hits and misses while it fits in one alarm', () => {
      const f = fixture();
      const redis = cache(f, { replicasPerShard: 2 });
      const probe = alarmMetrics(f, redis.metricCacheHitRate());
      expect(probe.expression).toBe('100 * SUM([h0, h1, h2]) / (SUM([h0, h1, h2]) + SUM([m0, m1, m2]))');
      expect(probe.stats.filter((s) => s.name === 'CacheHits')).toHaveLength(3);
      expect(probe.stats.filter((s) => s.name === 'CacheMisses')).toHaveLength(3);
    });

    test('hit rate of a 6-node cache stays within the 10-metric alarm limit by taking the best node', () => {
      const f = fixture();
      const redis = cache(f, { clusterMode: ClusterMode.ENABLED, numShards: 3, replicasPerShard: 1 });
      const probe = alarmMetrics(f, redis.metricCacheHitRate());
      expect(probe.expression).toBe('MAX([m0, m1, m2, m3, m4, m5])');
      expect(probe.stats.every((s) => s.name === 'CacheHitRate')).toBe(true);
    });

    test('beyond 10 nodes the aggregate becomes one Metrics Insights query over the members', () => {
      const f = fixture();
      const redis = cache(f, { clusterMode: ClusterMode.ENABLED, numShards: 4, replicasPerShard: 2 });
      const probe = alarmMetrics(f, redis.metricEngineCpuUtilization());
      expect(probe.stats).toHaveLength(0);
      expect(probe.expression).toMatch(/^SELECT MAX\(EngineCPUUtilization\) FROM SCHEMA\("AWS\/ElastiCache", CacheClusterId, CacheNodeId\) WHERE CacheClusterId = 'pyramid-0001-001' OR /);
      expect(probe.expression!.match(/CacheClusterId = /g)).toHaveLength(12);
    });

    test('connections add up over nodes; CPU takes the worst node; replication lag exists only with replicas', () => {
      const f = fixture();
      const redis = cache(f);
      expect(alarmMetrics(f, redis.metricCurrConnections()).expression).toBe('SUM([m0, m1])');
      expect(redis.metricReplicationLag()).toBeDefined();
      const single = fixture();
      const lone = cache(single, { replicasPerShard: 0 });
      expect(lone.metricReplicationLag()).toBeUndefined();
      const probe = alarmMetrics(single, lone.metricEngineCpuUtilization());
      expect(probe.stats).toEqual([{ name: 'EngineCPUUtilization', stat: 'Average', dims: { CacheClusterId: 'pyramid-001', CacheNodeId: '0001' } }]);
    });

    test('metric() sums Sum statistics and takes the MAX of levels', () => {
      const f = fixture();
      const redis = cache(f);
      expect((redis.metric('GetTypeCmds', { statistic: 'Sum' }) as cloudwatch.MathExpression).expression).toBe('SUM([m0, m1])');
      expect((redis.metric('CPUUtilization') as cloudwatch.MathExpression).expression).toBe('MAX([m0, m1])');
    });

    test('metricForNode refuses an id that is not a member', () => {
      const f = fixture();
      const redis = cache(f);
      expect(redis.metricForNode('pyramid-002', 'CPUUtilization').dimensions).toEqual({ CacheClusterId: 'pyramid-002', CacheNodeId: '0001' });
      expect(() => redis.metricForNode('pyramid-009', 'CPUUtilization')).toThrow('`memberClusterId` must be one of pyramid-001, pyramid-002, got "pyramid-009"');
    });
  });

  describe('validation', () => {
    test.each(['', '1cache', 'Cache', 'a--b', 'cache-', 'a'.repeat(41), 'my_cache'])('rejects replicationGroupId %p', (replicationGroupId) => {
      expect(() => cache(fixture(), { replicationGroupId })).toThrow(/`replicationGroupId` must be 1-40 lowercase letters, digits or hyphens/);
    });

    test('accepts a 40-character id with single hyphens', () => {
      expect(() => cache(fixture(), { replicationGroupId: `a-${'b'.repeat(38)}` })).not.toThrow();
    });

    test.each([0, 501, 1.5])('rejects numShards %p', (numShards) => {
      expect(() => cache(fixture(), { clusterMode: ClusterMode.ENABLED, numShards })).toThrow(`\`numShards\` must be an integer between 1 and 500, got ${numShards}`);
    });

    test.each([-1, 6])('rejects replicasPerShard %p', (replicasPerShard) => {
      expect(() => cache(fixture(), { replicasPerShard })).toThrow(`\`replicasPerShard\` must be an integer between 0 and 5, got ${replicasPerShard}`);
    });

    test('rejects more than one shard without cluster mode', () => {
      expect(() => cache(fixture(), { numShards: 2 })).toThrow(/`numShards` must be 1 when `clusterMode` is DISABLED/);
    });

    test('rejects Multi-AZ failover without replicas', () => {
      expect(() => cache(fixture(), { multiAz: true, replicasPerShard: 0 })).toThrow('`multiAz` (automatic failover) needs `replicasPerShard` of at least 1: there is no replica to fail over to, got 0');
    });

    test('rejects more than 500 nodes', () => {
      expect(() => cache(fixture(), { clusterMode: ClusterMode.ENABLED, numShards: 100, replicasPerShard: 5 })).toThrow(/must be at most 500 nodes per replication group, got 600/);
    });

    test.each([6379.5, 80, 70000])('rejects port %p', (port) => {
      expect(() => cache(fixture(), { port })).toThrow(`\`port\` must be an integer between 1024 and 65535, got ${port}`);
    });

    test('rejects a node type that is not an ElastiCache one', () => {
      expect(() => cache(fixture(), { nodeType: 'r7g.large' })).toThrow(/`nodeType` must be an ElastiCache node type/);
    });

    test('rejects user groups together with an AUTH token secret', () => {
      const f = fixture();
      const token = new secretsmanager.Secret(f.stack, 'Token');
      expect(() => cache(f, { userGroupIds: ['g'], authTokenSecret: token })).toThrow(/`userGroupIds` and `authTokenSecret` are mutually exclusive/);
    });

    test('rejects an empty user group list', () => {
      expect(() => cache(fixture(), { userGroupIds: [] })).toThrow('`userGroupIds` must name at least one user group, got an empty list');
    });

    test('rejects an RBAC secret without user groups', () => {
      const f = fixture();
      expect(() => cache(f, { rbacUserSecret: new secretsmanager.Secret(f.stack, 'S') })).toThrow(/`rbacUserSecret` needs `userGroupIds`/);
    });

    test('rejects parameters that have their own props', () => {
      expect(() => cache(fixture(), { parameters: { 'maxmemory-policy': 'noeviction', timeout: '300' } })).toThrow(/`parameters` must not set maxmemory-policy/);
    });

    test.each([0, 36])('rejects snapshotRetentionDays %p', (snapshotRetentionDays) => {
      expect(() => cache(fixture(), { snapshotRetentionDays: snapshotRetentionDays === 0 ? -1 : snapshotRetentionDays })).toThrow(/`snapshotRetentionDays` must be an integer between 0 and 35/);
    });

    test.each(['3:00-4:00', '25:00-01:00', '03:00'])('rejects snapshotWindow %p', (snapshotWindow) => {
      expect(() => cache(fixture(), { snapshotWindow })).toThrow(/`snapshotWindow` must be UTC 'hh:mm-hh:mm'/);
    });

    test('rejects a snapshot window shorter than an hour', () => {
      expect(() => cache(fixture(), { snapshotWindow: '23:30-00:15' })).toThrow('`snapshotWindow` must be at least 60 minutes long, got "23:30-00:15"');
    });

    test.each(['sunday:05:00-sunday:06:00', 'sun:5:00-sun:06:00'])('rejects maintenanceWindow %p', (maintenanceWindow) => {
      expect(() => cache(fixture(), { maintenanceWindow })).toThrow(/`maintenanceWindow` must be UTC 'ddd:hh:mm-ddd:hh:mm'/);
    });

    test('rejects Multi-AZ when the subnets are in one AZ only', () => {
      const f = fixture();
      expect(() => cache(f, { vpcSubnets: { subnets: [f.vpc.isolatedSubnets[0]] } })).toThrow('`multiAz` needs `vpcSubnets` in at least 2 availability zones, got 1 subnet(s)');
    });

    test('CacheEngineVersion.of rejects a malformed version', () => {
      expect(() => CacheEngineVersion.of(CacheEngine.VALKEY, 'latest', 'valkey9')).toThrow('`version` must look like \'8.1\' (major.minor), got "latest"');
      expect(CacheEngineVersion.of(CacheEngine.VALKEY, '9.0', 'valkey9').majorVersion).toBe('9');
    });
  });
});
