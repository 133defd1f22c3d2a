import { Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AlarmTopic } from '../../../lib/monitoring/alarm-topic';
import { CachePyramidEdgeMonitoring } from '../../../lib/monitoring/cache-pyramid-edge-monitoring';
import { CachePyramidMonitoring, CachePyramidMonitoringProps } from '../../../lib/monitoring/cache-pyramid-monitoring';
import { EdgeAlarms } from '../../../lib/monitoring/edge-alarms';
import { DashboardWidget, dashboardWidgets, widgetTitled } from './dashboard-support';
import { alarmNamed, alarmNames, allAlarms, newStack, serverless, singleNode, threeShardsOneReplica } from './support';

function fn(stack: Stack, id: string, timeout: Duration): lambda.Function {
  return new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
    timeout,
  });
}

/** The reference composition: a 3 × 1 cluster, two functions, two queues with DLQs, a database, a distribution. */
function pyramid(props: Partial<CachePyramidMonitoringProps> = {}, stack: Stack = newStack({ stackName: 'CachePyramid-test' })) {
  const writeBehindDlq = new sqs.Queue(stack, 'WriteBehindDlq', { fifo: true });
  const writeBehind = new sqs.Queue(stack, 'WriteBehind', { fifo: true, deadLetterQueue: { queue: writeBehindDlq, maxReceiveCount: 5 } });
  const invalidationDlq = new sqs.Queue(stack, 'InvalidationDlq');
  const invalidation = new sqs.Queue(stack, 'Invalidation', { deadLetterQueue: { queue: invalidationDlq, maxReceiveCount: 5 } });
  const monitoring = new CachePyramidMonitoring(stack, 'Monitoring', {
    alarmEmail: 'oncall@example.com',
    cache: threeShardsOneReplica(stack),
    serviceName: 'api',
    functions: [
      { name: 'api', function: fn(stack, 'Api', Duration.seconds(10)) },
      { name: 'flusher', function: fn(stack, 'Flusher', Duration.seconds(30)) },
    ],
    queues: [
      { name: 'write-behind', queue: writeBehind },
      { name: 'invalidation', queue: invalidation, maxMessageAge: Duration.minutes(2) },
    ],
    database: { clusterIdentifier: 'origin-db', maxCapacityAcu: 16 },
    distributionId: 'E1EXAMPLE',
    ...props,
  });
  return { stack, monitoring, template: Template.fromStack(stack) };
}

describe('CachePyramidMonitoring', () => {
  test('every alarm has a stable name under the stack-name prefix', () => {
    const { template, monitoring } = pyramid();
    expect(monitoring.alarmNamePrefix).toBe('CachePyramid-test');
    expect(alarmNames(template)).toEqual(
      [
        'app-cache-errors',
        'app-origin-latency',
        'app-redis-hit-rate',
        'cache-connections',
        'cache-engine-cpu',
        'cache-evictions',
        'cache-hit-rate-0001-0002',
        'cache-hit-rate-0003',
        'cache-memory',
        'cache-replication-lag',
        'db-capacity',
        'db-connections',
        'fn-api-duration',
        'fn-api-errors',
        'fn-api-throttles',
        'fn-flusher-duration',
        'fn-flusher-errors',
        'fn-flusher-throttles',
        'queue-invalidation-dlq-not-empty',
        'queue-invalidation-oldest-message',
        'queue-write-behind-dlq-not-empty',
        'queue-write-behind-oldest-message',
      ].map((suffix) => `CachePyramid-test-${suffix}`),
    );
    expect(monitoring.alarms).toHaveLength(22);
  });

  test('every alarm notifies the topic on ALARM and on OK, and its description says what to check first', () => {
    const { template, stack, monitoring } = pyramid();
    const topicRef = { Ref: stack.getLogicalId(monitoring.alarmTopic!.topic.node.defaultChild as sns.CfnTopic) };
    for (const alarm of allAlarms(template)) {
      expect(alarm.AlarmActions).toEqual([topicRef]);
      expect(alarm.OKActions).toEqual([topicRef]);
      expect(alarm.AlarmDescription).toMatch(/Check first: .{20,}/);
    }
  });

  test('the alarm topic is encrypted with a rotating customer managed key that CloudWatch may use, refuses non-TLS publishes, and mails the on-call address', () => {
    const { template, stack, monitoring } = pyramid();
    const keyId = stack.getLogicalId(monitoring.alarmTopic!.encryptionKey.node.defaultChild as unknown as import('aws-cdk-lib').CfnElement);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: Match.objectLike({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }),
          }),
          Match.objectLike({
            Effect: 'Deny',
            Action: 'kms:CreateGrant',
            Principal: { AWS: '*' },
            Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
  });

  test('a given topic is used as is, and no topic or key is created', () => {
    const stack = newStack({ stackName: 'CachePyramid-test' });
    const topic = new sns.Topic(stack, 'Existing');
    const { template, monitoring } = pyramid({ alarmTopic: topic, alarmEmail: undefined }, stack);
    expect(monitoring.alarmTopic).toBeUndefined();
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.resourceCountIs('AWS::KMS::Key', 1); // the cache's own key
    expect(alarmNamed(template, 'CachePyramid-test-cache-memory').AlarmActions).toEqual([{ Ref: stack.getLogicalId(topic.node.defaultChild as sns.CfnTopic) }]);
  });

  test('only the cache is required: no application, function, queue or database alarms without them', () => {
    const stack = newStack({ stackName: 'Small' });
    const monitoring = new CachePyramidMonitoring(stack, 'Monitoring', { cache: serverless(stack), alarmNamePrefix: 'small' });
    expect(alarmNames(Template.fromStack(stack))).toEqual([
      'small-cache-connections',
      'small-cache-evictions',
      'small-cache-hit-rate',
      'small-cache-memory',
      'small-cache-throttled-commands',
    ]);
    expect([monitoring.applicationAlarms, monitoring.functionAlarms, monitoring.queueAlarms, monitoring.databaseAlarms]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  test('thresholds pass through to the alarm groups', () => {
    const { template } = pyramid({
      cacheAlarms: { hitRateThresholdPercent: 90 },
      applicationAlarms: { originLatencyP99Threshold: Duration.millis(250) },
      functionAlarms: { errorRateThresholdPercent: 2 },
      databaseAlarms: { capacityThresholdPercent: 50 },
    });
    expect(alarmNamed(template, 'CachePyramid-test-cache-hit-rate-0003').Threshold).toBe(90);
    expect(alarmNamed(template, 'CachePyramid-test-app-origin-latency').Threshold).toBe(250);
    expect(alarmNamed(template, 'CachePyramid-test-fn-api-errors').Threshold).toBe(2);
    expect(alarmNamed(template, 'CachePyramid-test-db-capacity').Threshold).toBe(8);
  });

  test.each<[string, (stack: Stack) => Partial<CachePyramidMonitoringProps>, RegExp]>([
    ['alarmEmail with alarmTopic', (stack) => ({ alarmTopic: new sns.Topic(stack, 'T') }), /`alarmEmail`\/`alarmSubscribers` and `alarmTopic` are mutually exclusive/],
    ['an invalid email address', () => ({ alarmEmail: 'not-an-email' }), /`emailAddress` must be an email address, got 'not-an-email'/],
    ['an alarm name prefix with a dot', () => ({ alarmNamePrefix: 'cache.pyramid' }), /`alarmNamePrefix` must be 1-128 letters, digits, '_' or '-'/],
  ])('rejects %s', (_case, props, message) => {
    const stack = newStack({ stackName: 'CachePyramid-test' });
    expect(() => pyramid(props(stack), stack)).toThrow(message);
  });
});

describe('PyramidDashboard', () => {
  function widgets(): DashboardWidget[] {
    return dashboardWidgets(pyramid().template);
  }

  test('is named after the prefix and has its rows top to bottom: edge, application cache, Redis, database, queues, alarm status', () => {
    const { template } = pyramid();
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'CachePyramid-test' });
    const all = dashboardWidgets(template);
    const headers = all.filter((widget) => widget.type === 'text').map((widget) => widget.properties.markdown?.split('\n')[0]);
    expect(headers).toEqual(['## Edge: CloudFront', '## Application cache: functions', '## Redis: ElastiCache', '## Database: Aurora Serverless v2', '## Queues']);
    const headerY = all.filter((widget) => widget.type === 'text').map((widget) => widget.y);
    expect([...headerY].sort((a, b) => a - b)).toEqual(headerY);
    const last = all[all.length - 1];
    expect(last.type).toBe('alarm');
    expect(last.y).toBeGreaterThan(headerY[headerY.length - 1]);
    for (const widget of all) expect(widget.x + widget.width).toBeLessThanOrEqual(24);
  });

  test('edge graphs read CloudFront metrics from us-east-1 for the distribution', () => {
    const hitRate = widgetTitled(widgets(), 'Edge cache hit rate');
    expect(hitRate.properties.region).toBe('us-east-1');
    expect(hitRate.properties.metrics).toEqual([
      ['AWS/CloudFront', 'CacheHitRate', 'DistributionId', 'E1EXAMPLE', 'Region', 'Global', expect.objectContaining({ region: 'us-east-1', period: 60 })],
    ]);
    const errors = widgetTitled(widgets(), 'Error rates');
    expect(errors.properties.metrics?.map((metric) => metric[1])).toEqual(['4xxErrorRate', '5xxErrorRate']);
  });

  test('application graphs: hit rate per layer as math over the EMF counters, with the alarm threshold drawn', () => {
    const hitRate = widgetTitled(widgets(), 'Hit rate per layer');
    const expressions = hitRate.properties.metrics?.filter((metric) => typeof (metric[0] as { expression?: string }).expression === 'string');
    expect(expressions?.map((metric) => (metric[0] as { label: string }).label)).toEqual(['L1 hit rate (%)', 'Redis hit rate (%)']);
    const counters = hitRate.properties.metrics?.filter((metric) => metric[0] === 'CachePyramid').map((metric) => metric[1]);
    expect(counters).toEqual(['L1Hit', 'L1Miss', 'RedisHit', 'RedisMiss']);
    expect(hitRate.properties.annotations?.horizontal).toEqual([expect.objectContaining({ value: 80 })]);
    const duration = widgetTitled(widgets(), 'Duration p99 (ms)');
    expect(duration.properties.annotations?.horizontal?.map((line) => [line.value, line.label])).toEqual([
      [10000, 'api timeout'],
      [30000, 'flusher timeout'],
    ]);
  });

  test('Redis graphs draw one line per member node', () => {
    const memory = widgetTitled(widgets(), 'Memory used (%)');
    expect(memory.properties.metrics?.map((metric) => metric.slice(0, 6))).toEqual(
      ['rg-0001-001', 'rg-0001-002', 'rg-0002-001', 'rg-0002-002', 'rg-0003-001', 'rg-0003-002'].map((id) => [
        'AWS/ElastiCache',
        'DatabaseMemoryUsagePercentage',
        'CacheClusterId',
        id,
        'CacheNodeId',
        '0001',
      ]),
    );
    expect(memory.properties.annotations?.horizontal).toEqual([expect.objectContaining({ value: 90 })]);
    expect(widgetTitled(widgets(), 'Replication lag (s)').properties.metrics).toHaveLength(6);
  });

  test('database and queue rows show capacity against its maximum and every DLQ', () => {
    const capacity = widgetTitled(widgets(), 'Capacity (ACU)');
    expect(capacity.properties.metrics).toEqual([
      ['AWS/RDS', 'ServerlessDatabaseCapacity', 'DBClusterIdentifier', 'origin-db', expect.objectContaining({ stat: 'Maximum' })],
    ]);
    expect(capacity.properties.annotations?.horizontal?.map((line) => line.value)).toEqual([16, 14.4]);
    const dlqs = widgetTitled(widgets(), 'Dead-letter queues');
    expect(dlqs.properties.metrics?.map((metric) => (metric[metric.length - 1] as { label: string }).label)).toEqual(['write-behind DLQ', 'invalidation DLQ']);
  });

  test('the alarm status widget lists every alarm of the stack', () => {
    const { template, monitoring } = pyramid();
    const status = dashboardWidgets(template).find((widget) => widget.type === 'alarm');
    expect(status?.properties.alarms).toHaveLength(monitoring.alarms.length);
    expect(new Set(status?.properties.alarms)).toEqual(new Set(Object.keys(template.findResources('AWS::CloudWatch::Alarm')).map((id) => `<GetAtt:${id}.Arn>`)));
  });

  test('a serverless cache is graphed on its own series: ECPUs and throttled commands instead of per-node CPU', () => {
    const stack = newStack({ stackName: 'Sls' });
    new CachePyramidMonitoring(stack, 'Monitoring', { cache: serverless(stack) });
    const all = dashboardWidgets(Template.fromStack(stack));
    expect(all.filter((widget) => widget.type === 'text').map((widget) => widget.properties.markdown?.split('\n')[0])).toEqual(['## Redis: ElastiCache']);
    const ecpu = widgetTitled(all, 'ECPUs per minute');
    expect(ecpu.properties.metrics?.map((metric) => metric.slice(0, 4))).toEqual([
      ['AWS/ElastiCache', 'ElastiCacheProcessingUnits', 'clusterId', 'sc'],
      ['AWS/ElastiCache', 'ThrottledCmds', 'clusterId', 'sc'],
    ]);
  });

  test('a cache without replicas has no replication-lag graph', () => {
    const stack = newStack({ stackName: 'One' });
    new CachePyramidMonitoring(stack, 'Monitoring', { cache: singleNode(stack) });
    const titles = dashboardWidgets(Template.fromStack(stack)).map((widget) => widget.properties.title);
    expect(titles).toContain('Engine CPU (%)');
    expect(titles).not.toContain('Replication lag (s)');
  });
});

describe('EdgeAlarms and CachePyramidEdgeMonitoring (us-east-1)', () => {
  const usEast1 = () => newStack({ env: { account: '111111111111', region: 'us-east-1' } });

  test('edge cache hit rate below 50 % for 15 minutes and 5xx rate above 1 % for 5, on the distribution\'s Global metrics', () => {
    const stack = usEast1();
    new CachePyramidEdgeMonitoring(stack, 'Edge', { alarmNamePrefix: 'pfx', distributionId: 'E1EXAMPLE', alarmEmail: 'oncall@example.com' });
    const template = Template.fromStack(stack);
    const dimensions = [
      { Name: 'DistributionId', Value: 'E1EXAMPLE' },
      { Name: 'Region', Value: 'Global' },
    ];
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'pfx-edge-cache-hit-rate',
      Namespace: 'AWS/CloudFront',
      MetricName: 'CacheHitRate',
      Dimensions: dimensions,
      Statistic: 'Average',
      Period: 60,
      Threshold: 50,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 15,
      DatapointsToAlarm: 15,
      TreatMissingData: 'notBreaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'pfx-edge-5xx-rate',
      MetricName: '5xxErrorRate',
      Dimensions: dimensions,
      Statistic: 'Average',
      Period: 60,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
    });
    template.resourceCountIs('AWS::SNS::Topic', 1);
    for (const alarm of allAlarms(template)) {
      expect(alarm.AlarmActions).toHaveLength(1);
      expect(alarm.OKActions).toEqual(alarm.AlarmActions);
    }
  });

  test('thresholds are props', () => {
    const stack = usEast1();
    new EdgeAlarms(stack, 'Edge', {
      alarmNamePrefix: 'pfx',
      distributionId: 'E1',
      cacheHitRateThresholdPercent: 70,
      cacheHitRateWindow: Duration.minutes(30),
      errorRate5xxThresholdPercent: 0.5,
      errorRate5xxWindow: Duration.minutes(3),
    });
    const template = Template.fromStack(stack);
    expect(alarmNamed(template, 'pfx-edge-cache-hit-rate')).toMatchObject({ Threshold: 70, EvaluationPeriods: 30 });
    expect(alarmNamed(template, 'pfx-edge-5xx-rate')).toMatchObject({ Threshold: 0.5, EvaluationPeriods: 3 });
  });

  test('refuses a stack in another region, naming the region', () => {
    const stack = newStack({ env: { account: '111111111111', region: 'eu-west-1' } });
    expect(() => new EdgeAlarms(stack, 'Edge', { alarmNamePrefix: 'pfx', distributionId: 'E1' })).toThrow(
      /EdgeAlarms must be in a stack in us-east-1 .*got stack region 'eu-west-1'/,
    );
    expect(() => new CachePyramidEdgeMonitoring(stack, 'EdgeMonitoring', { alarmNamePrefix: 'pfx', distributionId: 'E1' })).toThrow(
      /CachePyramidEdgeMonitoring must be in a stack in us-east-1/,
    );
  });

  test('warns in an environment-agnostic stack, which might be deployed anywhere', () => {
    const stack = newStack();
    new EdgeAlarms(stack, 'Edge', { alarmNamePrefix: 'pfx', distributionId: 'E1' });
    Annotations.fromStack(stack).hasWarning('/TestStack/Edge', Match.stringLikeRegexp('deploy that stack to us-east-1'));
  });

  test.each<[string, Record<string, unknown>, RegExp]>([
    ['cacheHitRateThresholdPercent', { cacheHitRateThresholdPercent: 101 }, /`cacheHitRateThresholdPercent` must be between 0 and 100, got 101/],
    ['errorRate5xxThresholdPercent', { errorRate5xxThresholdPercent: -1 }, /`errorRate5xxThresholdPercent` must be between 0 and 100, got -1/],
    ['cacheHitRateWindow', { cacheHitRateWindow: Duration.seconds(10) }, /`cacheHitRateWindow` must be a whole number of minutes/],
    ['errorRate5xxWindow', { errorRate5xxWindow: Duration.days(3) }, /`errorRate5xxWindow` must be a whole number of minutes/],
  ])('rejects an invalid %s', (_prop, props, message) => {
    expect(() => new EdgeAlarms(usEast1(), 'Edge', { alarmNamePrefix: 'pfx', distributionId: 'E1', ...props })).toThrow(message);
  });

  test('rejects alarmEmail with alarmTopic', () => {
    const stack = usEast1();
    expect(
      () =>
        new CachePyramidEdgeMonitoring(stack, 'Edge', {
          alarmNamePrefix: 'pfx',
          distributionId: 'E1',
          alarmEmail: 'a@example.com',
          alarmTopic: new AlarmTopic(stack, 'Topic').topic,
        }),
    ).toThrow(/`alarmEmail`\/`alarmSubscribers` and `alarmTopic` are mutually exclusive/);
  });
});
