import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { ApplicationCacheAlarms, ApplicationCacheAlarmsProps } from '../../../lib/monitoring/application-cache-alarms';
import { DatabaseAlarms, DatabaseAlarmsProps, estimatedMaxConnections } from '../../../lib/monitoring/database-alarms';
import { FunctionAlarms, FunctionAlarmsProps, MonitoredFunction } from '../../../lib/monitoring/function-alarms';
import { MonitoredQueue, QueueAlarms, QueueAlarmsProps } from '../../../lib/monitoring/queue-alarms';
import { alarmNamed, alarmNames, metricStats, newStack, queriesById, returnedExpression } from './support';

function fn(stack: Stack, id: string, timeout?: Duration): lambda.Function {
  return new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
    timeout,
  });
}

describe('FunctionAlarms', () => {
  function synth(functions: (stack: Stack) => MonitoredFunction[], props: Partial<FunctionAlarmsProps> = {}): { template: Template; stack: Stack } {
    const stack = newStack();
    new FunctionAlarms(stack, 'Functions', { alarmNamePrefix: 'pfx', functions: functions(stack), ...props });
    return { template: Template.fromStack(stack), stack };
  }

  test('error rate: errors / invocations in percent, above 1 % for 5 of 5 minutes, idle minutes do not breach', () => {
    const { template, stack } = synth((s) => [{ name: 'api', function: fn(s, 'Api', Duration.seconds(10)) }]);
    const alarm = alarmNamed(template, 'pfx-fn-api-errors');
    expect(alarm).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
      TreatMissingData: 'notBreaching',
    });
    expect(returnedExpression(alarm)).toBe('IF(invocations > 0, 100 * errors / invocations)');
    const functionName = { FunctionName: { Ref: stack.getLogicalId(stack.node.findChild('Api').node.defaultChild as lambda.CfnFunction) } };
    expect(metricStats(alarm)).toEqual({
      errors: ['Errors', 'Sum', 60, functionName],
      invocations: ['Invocations', 'Sum', 60, functionName],
    });
  });

  test('throttles: any throttled invocation in 5 minutes', () => {
    const { template } = synth((s) => [{ name: 'api', function: fn(s, 'Api') }]);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'pfx-fn-api-throttles',
      Namespace: 'AWS/Lambda',
      MetricName: 'Throttles',
      Statistic: 'Sum',
      Period: 300,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  test('duration: p99 above 80 % of the configured timeout for 5 of 5 minutes', () => {
    const { template } = synth((s) => [
      { name: 'api', function: fn(s, 'Api', Duration.seconds(10)) },
      { name: 'flusher', function: fn(s, 'Flusher', Duration.minutes(1)) },
      { name: 'default-timeout', function: fn(s, 'Default') },
    ]);
    const expectations: [string, number][] = [
      ['pfx-fn-api-duration', 8000],
      ['pfx-fn-flusher-duration', 48000],
      ['pfx-fn-default-timeout-duration', 2400],
    ];
    for (const [name, threshold] of expectations) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: name,
        MetricName: 'Duration',
        ExtendedStatistic: 'p99',
        Period: 60,
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 5,
        DatapointsToAlarm: 5,
      });
    }
    expect(alarmNames(template)).toHaveLength(9);
  });

  test('thresholds are props', () => {
    const { template } = synth((s) => [{ name: 'api', function: fn(s, 'Api', Duration.seconds(10)) }], {
      errorRateThresholdPercent: 5,
      durationThresholdPercentOfTimeout: 50,
      throttlesThreshold: 10,
      window: Duration.minutes(3),
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });
    expect(alarmNamed(template, 'pfx-fn-api-errors')).toMatchObject({ Threshold: 5, EvaluationPeriods: 3, TreatMissingData: 'ignore' });
    expect(alarmNamed(template, 'pfx-fn-api-duration')).toMatchObject({ Threshold: 5000, EvaluationPeriods: 3 });
    expect(alarmNamed(template, 'pfx-fn-api-throttles')).toMatchObject({ Threshold: 10, Period: 180 });
  });

  test.each<[string, (stack: Stack) => MonitoredFunction[], Partial<FunctionAlarmsProps>, RegExp]>([
    ['a name that is not kebab-case', (s) => [{ name: 'Api Fn', function: fn(s, 'Api') }], {}, /`functions\[0\]\.name` must be a kebab-case literal.*got 'Api Fn'/],
    [
      'two functions with one name',
      (s) => [
        { name: 'api', function: fn(s, 'A') },
        { name: 'api', function: fn(s, 'B') },
      ],
      {},
      /`functions` names must be unique.*got 'api' twice/,
    ],
    ['errorRateThresholdPercent', (s) => [{ name: 'api', function: fn(s, 'Api') }], { errorRateThresholdPercent: 150 }, /`errorRateThresholdPercent` must be between 0 and 100, got 150/],
    [
      'durationThresholdPercentOfTimeout',
      (s) => [{ name: 'api', function: fn(s, 'Api') }],
      { durationThresholdPercentOfTimeout: 0 },
      /`durationThresholdPercentOfTimeout` must be between 1 and 100, got 0/,
    ],
    ['throttlesThreshold', (s) => [{ name: 'api', function: fn(s, 'Api') }], { throttlesThreshold: -1 }, /`throttlesThreshold` must be between 0 and/],
    ['window', (s) => [{ name: 'api', function: fn(s, 'Api') }], { window: Duration.seconds(20) }, /`window` must be a whole number of minutes/],
  ])('rejects %s', (_case, functions, props, message) => {
    expect(() => synth(functions, props)).toThrow(message);
  });
});

describe('QueueAlarms', () => {
  function synth(queues: (stack: Stack) => MonitoredQueue[], props: Partial<QueueAlarmsProps> = {}): Template {
    const stack = newStack();
    new QueueAlarms(stack, 'Queues', { alarmNamePrefix: 'pfx', queues: queues(stack), ...props });
    return Template.fromStack(stack);
  }

  function queueWithDlq(stack: Stack, id: string): { queue: sqs.Queue; dlq: sqs.Queue } {
    const dlq = new sqs.Queue(stack, `${id}Dlq`);
    const queue = new sqs.Queue(stack, id, { deadLetterQueue: { queue: dlq, maxReceiveCount: 5 } });
    return { queue, dlq };
  }

  test('DLQ not empty: ApproximateNumberOfMessagesVisible of the DLQ above 0 in any minute', () => {
    let dlqName: unknown;
    const template = synth((stack) => {
      const { queue, dlq } = queueWithDlq(stack, 'WriteBehind');
      dlqName = stack.resolve(dlq.queueName);
      return [{ name: 'write-behind', queue }];
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'pfx-queue-write-behind-dlq-not-empty',
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: dlqName }],
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  test('oldest message: ApproximateAgeOfOldestMessage of the work queue above its maximum age', () => {
    let queueName: unknown;
    const template = synth((stack) => {
      const { queue } = queueWithDlq(stack, 'Invalidation');
      queueName = stack.resolve(queue.queueName);
      return [
        { name: 'invalidation', queue, maxMessageAge: Duration.minutes(2) },
        { name: 'write-behind', queue: queueWithDlq(stack, 'WriteBehind').queue },
      ];
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'pfx-queue-invalidation-oldest-message',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: queueName }],
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 120,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
    });
    expect(alarmNamed(template, 'pfx-queue-write-behind-oldest-message').Threshold).toBe(300);
  });

  test('an explicit DLQ wins; a queue without one gets no DLQ alarm', () => {
    let explicitName: unknown;
    const template = synth((stack) => {
      const explicit = new sqs.Queue(stack, 'ExplicitDlq');
      explicitName = stack.resolve(explicit.queueName);
      return [
        { name: 'imported', queue: sqs.Queue.fromQueueArn(stack, 'Imported', 'arn:aws:sqs:eu-west-1:123456789012:work'), deadLetterQueue: explicit },
        { name: 'plain', queue: new sqs.Queue(stack, 'Plain') },
      ];
    });
    expect(alarmNames(template)).toEqual([
      'pfx-queue-imported-dlq-not-empty',
      'pfx-queue-imported-oldest-message',
      'pfx-queue-plain-oldest-message',
    ]);
    expect(alarmNamed(template, 'pfx-queue-imported-dlq-not-empty').Dimensions).toEqual([{ Name: 'QueueName', Value: explicitName }]);
  });

  test.each<[string, (stack: Stack) => MonitoredQueue[], RegExp]>([
    ['a name that is not kebab-case', (s) => [{ name: 'WriteBehind', queue: new sqs.Queue(s, 'Q') }], /`queues\[0\]\.name` must be a kebab-case literal/],
    [
      'two queues with one name',
      (s) => [
        { name: 'q', queue: new sqs.Queue(s, 'A') },
        { name: 'q', queue: new sqs.Queue(s, 'B') },
      ],
      /`queues` names must be unique/,
    ],
    [
      'a maximum age below a minute',
      (s) => [{ name: 'q', queue: new sqs.Queue(s, 'Q'), maxMessageAge: Duration.seconds(30) }],
      /`queues\[0\]\.maxMessageAge` must be between 1 minute and 14 days.*got 30 seconds/,
    ],
  ])('rejects %s', (_case, queues, message) => {
    expect(() => synth(queues)).toThrow(message);
  });
});

describe('DatabaseAlarms', () => {
  function synth(props: Partial<DatabaseAlarmsProps> = {}): { template: Template; clusterRef: unknown } {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, maxAzs: 2 });
    const cluster = new rds.DatabaseCluster(stack, 'Db', {
      engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_6 }),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      writer: rds.ClusterInstance.serverlessV2('Writer'),
      serverlessV2MaxCapacity: 8,
    });
    new DatabaseAlarms(stack, 'Database', { alarmNamePrefix: 'pfx', clusterIdentifier: cluster.clusterIdentifier, maxCapacityAcu: 8, ...props });
    return { template: Template.fromStack(stack), clusterRef: stack.resolve(cluster.clusterIdentifier) };
  }

  test('capacity: ServerlessDatabaseCapacity at or above 90 % of the maximum ACUs for 5 of 5 minutes', () => {
    const { template, clusterRef } = synth();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'pfx-db-capacity',
      Namespace: 'AWS/RDS',
      MetricName: 'ServerlessDatabaseCapacity',
      Dimensions: [{ Name: 'DBClusterIdentifier', Value: clusterRef }],
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 7.2,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
      TreatMissingData: 'notBreaching',
    });
  });

  test('connections: DatabaseConnections above 80 % of the default max_connections at the maximum capacity', () => {
    const { template, clusterRef } = synth();
    expect(estimatedMaxConnections(8)).toBe(1802);
    expect(estimatedMaxConnections(64)).toBe(5000);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'pfx-db-connections',
      MetricName: 'DatabaseConnections',
      Dimensions: [{ Name: 'DBClusterIdentifier', Value: clusterRef }],
      Statistic: 'Maximum',
      Period: 60,
      Threshold: Math.floor(1802 * 0.8),
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 5,
    });
  });

  test('thresholds are props', () => {
    const { template } = synth({ capacityThresholdPercent: 75, connectionsThreshold: 400, window: Duration.minutes(10) });
    expect(alarmNamed(template, 'pfx-db-capacity')).toMatchObject({ Threshold: 6, EvaluationPeriods: 10, DatapointsToAlarm: 10 });
    expect(alarmNamed(template, 'pfx-db-connections')).toMatchObject({ Threshold: 400, EvaluationPeriods: 10 });
  });

  test.each<[string, Partial<DatabaseAlarmsProps>, RegExp]>([
    ['maxCapacityAcu', { maxCapacityAcu: 300 }, /`maxCapacityAcu` must be between 0.5 and 256, got 300/],
    ['capacityThresholdPercent', { capacityThresholdPercent: 0 }, /`capacityThresholdPercent` must be between 1 and 100, got 0/],
    ['connectionsThreshold', { connectionsThreshold: 0 }, /`connectionsThreshold` must be between 1 and/],
    ['window', { window: Duration.hours(25) }, /`window` must be a whole number of minutes between 1 and 1440/],
  ])('rejects an invalid %s', (_prop, props, message) => {
    expect(() => synth(props)).toThrow(message);
  });
});

describe('ApplicationCacheAlarms (EMF metrics of the functions)', () => {
  function synth(props: Partial<ApplicationCacheAlarmsProps> = {}): Template {
    const stack = newStack();
    new ApplicationCacheAlarms(stack, 'Application', { alarmNamePrefix: 'pfx', serviceName: 'api', ...props });
    return Template.fromStack(stack);
  }
  const service = { service: 'api' };

  test('Redis-layer hit rate: RedisHit / (RedisHit + RedisMiss), each side FILLed with 0, below 80 % for 5 of 5 minutes', () => {
    const alarm = alarmNamed(synth(), 'pfx-app-redis-hit-rate');
    expect(alarm).toMatchObject({
      Threshold: 80,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
      TreatMissingData: 'notBreaching',
    });
    expect(returnedExpression(alarm)).toBe(
      'IF((FILL(redisHits, 0) + FILL(redisMisses, 0)) > 0, 100 * FILL(redisHits, 0) / (FILL(redisHits, 0) + FILL(redisMisses, 0)))',
    );
    expect(metricStats(alarm)).toEqual({ redisHits: ['RedisHit', 'Sum', 60, service], redisMisses: ['RedisMiss', 'Sum', 60, service] });
    expect(queriesById(alarm).redisHits.MetricStat?.Metric.Namespace).toBe('CachePyramid');
  });

  test('cache error rate: CacheError over all Redis operations above 5 %', () => {
    const alarm = alarmNamed(synth(), 'pfx-app-cache-errors');
    expect(alarm).toMatchObject({ Threshold: 5, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 5, DatapointsToAlarm: 5 });
    expect(returnedExpression(alarm)).toBe(
      'IF((FILL(redisHits, 0) + FILL(redisMisses, 0) + FILL(cacheErrors, 0)) > 0, ' +
        '100 * FILL(cacheErrors, 0) / (FILL(redisHits, 0) + FILL(redisMisses, 0) + FILL(cacheErrors, 0)))',
    );
    expect(metricStats(alarm)).toEqual({
      redisHits: ['RedisHit', 'Sum', 60, service],
      redisMisses: ['RedisMiss', 'Sum', 60, service],
      cacheErrors: ['CacheError', 'Sum', 60, service],
    });
  });

  test('origin latency: OriginLoadLatency p99 above 1000 ms for 5 of 5 minutes', () => {
    synth().hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'pfx-app-origin-latency',
      Namespace: 'CachePyramid',
      MetricName: 'OriginLoadLatency',
      Dimensions: [{ Name: 'service', Value: 'api' }],
      ExtendedStatistic: 'p99',
      Period: 60,
      Threshold: 1000,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
    });
  });

  test('the L1 alarm exists only when its threshold is given', () => {
    expect(alarmNames(synth())).toEqual(['pfx-app-cache-errors', 'pfx-app-origin-latency', 'pfx-app-redis-hit-rate']);
    const alarm = alarmNamed(synth({ l1HitRateThresholdPercent: 30 }), 'pfx-app-l1-hit-rate');
    expect(alarm).toMatchObject({ Threshold: 30, ComparisonOperator: 'LessThanThreshold' });
    expect(metricStats(alarm)).toEqual({ l1Hits: ['L1Hit', 'Sum', 60, service], l1Misses: ['L1Miss', 'Sum', 60, service] });
  });

  test.each<[string, Partial<ApplicationCacheAlarmsProps>, RegExp]>([
    ['serviceName', { serviceName: 'has space' }, /`serviceName` must be a CloudWatch dimension value.*got 'has space'/],
    ['redisHitRateThresholdPercent', { redisHitRateThresholdPercent: 101 }, /`redisHitRateThresholdPercent` must be between 0 and 100, got 101/],
    ['l1HitRateThresholdPercent', { l1HitRateThresholdPercent: -1 }, /`l1HitRateThresholdPercent` must be between 0 and 100, got -1/],
    ['cacheErrorRateThresholdPercent', { cacheErrorRateThresholdPercent: 200 }, /`cacheErrorRateThresholdPercent` must be between 0 and 100/],
    ['originLatencyP99Threshold', { originLatencyP99Threshold: Duration.millis(0) }, /`originLatencyP99Threshold` must be positive/],
    ['window', { window: Duration.seconds(61) }, /`window` must be a whole number of minutes/],
  ])('rejects an invalid %s', (_prop, props, message) => {
    expect(() => synth(props)).toThrow(message);
  });
});
