import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ICacheCluster } from '../../../lib/cache/cache-cluster';
import { CacheAlarms, CacheAlarmsProps, nodeGroups } from '../../../lib/monitoring/cache-alarms';
import {
  AlarmProperties,
  alarmNamed,
  alarmNames,
  allAlarms,
  metricStats,
  newStack,
  oneShardTwoReplicas,
  queriesById,
  returnedExpression,
  serverless,
  shardedCache,
  singleNode,
  threeShardsOneReplica,
} from './support';

type CacheFactory = (stack: ReturnType<typeof newStack>) => ICacheCluster;

function synth(factory: CacheFactory, props: Partial<CacheAlarmsProps> = {}): Template {
  const stack = newStack();
  new CacheAlarms(stack, 'CacheAlarms', { alarmNamePrefix: 'pfx', cache: factory(stack), ...props });
  return Template.fromStack(stack);
}

const node = (id: string) => ({ CacheClusterId: id, CacheNodeId: '0001' });
const ONE_SHARD_MEMBERS = ['rg-001', 'rg-002', 'rg-003'];
const THREE_SHARD_MEMBERS = ['rg-0001-001', 'rg-0001-002', 'rg-0002-001', 'rg-0002-002', 'rg-0003-001', 'rg-0003-002'];
const HIT_RATE = 'IF((hits + misses) > 0, 100 * hits / (hits + misses))';

/** The member ids an alarm's MetricStat queries read, in query order. */
function membersOf(alarm: AlarmProperties, metricName: string): string[] {
  return Object.values(metricStats(alarm))
    .filter(([name]) => name === metricName)
    .map(([, , , dims]) => dims.CacheClusterId);
}

describe('seed rule CacheHitRateLow: hits / (hits + misses) < 0.8 for 5m', () => {
  test('1 shard × 2 replicas: one alarm over every member, 1-minute sums, 5 of 5 datapoints below 80', () => {
    const alarm = alarmNamed(synth(oneShardTwoReplicas), 'pfx-cache-hit-rate');
    expect(alarm).toMatchObject({
      Threshold: 80,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
      TreatMissingData: 'notBreaching',
    });
    expect(returnedExpression(alarm)).toBe(HIT_RATE);
    const queries = queriesById(alarm);
    expect(queries.hits.Expression).toBe('SUM([hits0, hits1, hits2])');
    expect(queries.misses.Expression).toBe('SUM([misses0, misses1, misses2])');
    expect(metricStats(alarm)).toEqual({
      hits0: ['CacheHits', 'Sum', 60, node('rg-001')],
      hits1: ['CacheHits', 'Sum', 60, node('rg-002')],
      hits2: ['CacheHits', 'Sum', 60, node('rg-003')],
      misses0: ['CacheMisses', 'Sum', 60, node('rg-001')],
      misses1: ['CacheMisses', 'Sum', 60, node('rg-002')],
      misses2: ['CacheMisses', 'Sum', 60, node('rg-003')],
    });
  });

  test('3 shards × 1 replica (12 metrics > 10): split into whole-shard alarms that cover every member once', () => {
    const template = synth(threeShardsOneReplica);
    expect(alarmNames(template).filter((name) => name.startsWith('pfx-cache-hit-rate'))).toEqual([
      'pfx-cache-hit-rate-0001-0002',
      'pfx-cache-hit-rate-0003',
    ]);
    const first = alarmNamed(template, 'pfx-cache-hit-rate-0001-0002');
    const second = alarmNamed(template, 'pfx-cache-hit-rate-0003');
    expect(membersOf(first, 'CacheHits')).toEqual(['rg-0001-001', 'rg-0001-002', 'rg-0002-001', 'rg-0002-002']);
    expect(membersOf(first, 'CacheMisses')).toEqual(['rg-0001-001', 'rg-0001-002', 'rg-0002-001', 'rg-0002-002']);
    expect(membersOf(second, 'CacheHits')).toEqual(['rg-0003-001', 'rg-0003-002']);
    expect(membersOf(second, 'CacheMisses')).toEqual(['rg-0003-001', 'rg-0003-002']);
    for (const alarm of [first, second]) {
      expect(returnedExpression(alarm)).toBe(HIT_RATE);
      expect(alarm).toMatchObject({ Threshold: 80, ComparisonOperator: 'LessThanThreshold', EvaluationPeriods: 5, DatapointsToAlarm: 5 });
      expect(Object.keys(metricStats(alarm)).length).toBeLessThanOrEqual(10);
    }
    expect(queriesById(second).hits.Expression).toBe('SUM([hits0, hits1])');
  });

  test('serverless: CacheHits and CacheMisses of the cache on its clusterId dimension', () => {
    const alarm = alarmNamed(synth(serverless), 'pfx-cache-hit-rate');
    expect(returnedExpression(alarm)).toBe(HIT_RATE);
    expect(metricStats(alarm)).toEqual({
      hits: ['CacheHits', 'Sum', 60, { clusterId: 'sc' }],
      misses: ['CacheMisses', 'Sum', 60, { clusterId: 'sc' }],
    });
    expect(alarm).toMatchObject({ Threshold: 80, EvaluationPeriods: 5, DatapointsToAlarm: 5, TreatMissingData: 'notBreaching' });
  });

  test('a minute without reads yields no datapoint (two-argument IF), and missing data does not breach', () => {
    const alarm = alarmNamed(synth(singleNode), 'pfx-cache-hit-rate');
    expect(returnedExpression(alarm)).toMatch(/^IF\(\(hits \+ misses\) > 0, [^,]+\)$/);
    expect(alarm.TreatMissingData).toBe('notBreaching');
  });

  test('threshold, window and missing-data treatment are props', () => {
    const alarm = alarmNamed(
      synth(oneShardTwoReplicas, {
        hitRateThresholdPercent: 95,
        hitRateWindow: Duration.minutes(10),
        treatMissingData: cloudwatch.TreatMissingData.MISSING,
      }),
      'pfx-cache-hit-rate',
    );
    expect(alarm).toMatchObject({ Threshold: 95, EvaluationPeriods: 10, DatapointsToAlarm: 10, TreatMissingData: 'missing' });
  });
});

describe('seed rule RedisMemoryHigh: used / max memory > 0.9 for 5m', () => {
  test('1 shard × 2 replicas: MAX over every member of DatabaseMemoryUsagePercentage, 5 of 5 minutes above 90', () => {
    const alarm = alarmNamed(synth(oneShardTwoReplicas), 'pfx-cache-memory');
    expect(alarm).toMatchObject({
      Threshold: 90,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
      TreatMissingData: 'notBreaching',
    });
    expect(returnedExpression(alarm)).toBe('MAX([memory0, memory1, memory2])');
    expect(metricStats(alarm)).toEqual({
      memory0: ['DatabaseMemoryUsagePercentage', 'Maximum', 60, node('rg-001')],
      memory1: ['DatabaseMemoryUsagePercentage', 'Maximum', 60, node('rg-002')],
      memory2: ['DatabaseMemoryUsagePercentage', 'Maximum', 60, node('rg-003')],
    });
  });

  test('3 shards × 1 replica: one alarm, MAX over all six members', () => {
    const alarm = alarmNamed(synth(threeShardsOneReplica), 'pfx-cache-memory');
    expect(returnedExpression(alarm)).toBe('MAX([memory0, memory1, memory2, memory3, memory4, memory5])');
    expect(membersOf(alarm, 'DatabaseMemoryUsagePercentage')).toEqual(THREE_SHARD_MEMBERS);
  });

  test('a single node is alarmed on its own metric, without math', () => {
    const template = synth(singleNode);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'pfx-cache-memory',
      Namespace: 'AWS/ElastiCache',
      MetricName: 'DatabaseMemoryUsagePercentage',
      Dimensions: [
        { Name: 'CacheClusterId', Value: 'rg-001' },
        { Name: 'CacheNodeId', Value: '0001' },
      ],
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 90,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
    });
  });

  test('serverless: bytes used as a percent of the data-storage limit', () => {
    const alarm = alarmNamed(synth(serverless), 'pfx-cache-memory');
    expect(alarm).toMatchObject({ Threshold: 90, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 5, DatapointsToAlarm: 5 });
    expect(Object.values(metricStats(alarm))).toEqual([['BytesUsedForCache', 'Maximum', 60, { clusterId: 'sc' }]]);
    const [, limitBytes] = /^100 \* bytes \/ (\d+)$/.exec(returnedExpression(alarm)) ?? [];
    expect(Number(limitBytes)).toBeGreaterThanOrEqual(10e9);
    expect(Number(limitBytes)).toBeLessThanOrEqual(10 * 1024 ** 3);
  });

  test('threshold and window are props', () => {
    const alarm = alarmNamed(synth(oneShardTwoReplicas, { memoryThresholdPercent: 75, memoryWindow: Duration.minutes(3) }), 'pfx-cache-memory');
    expect(alarm).toMatchObject({ Threshold: 75, EvaluationPeriods: 3, DatapointsToAlarm: 3 });
  });
});

describe('seed rule RedisEvictionsHigh: rate(evicted_keys[5m]) > 10', () => {
  test('1 shard × 2 replicas: evictions summed over 5 minutes above 3000 on any node', () => {
    const alarm = alarmNamed(synth(oneShardTwoReplicas), 'pfx-cache-evictions');
    expect(alarm).toMatchObject({
      Threshold: 3000,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
    });
    expect(returnedExpression(alarm)).toBe('MAX([evictions0, evictions1, evictions2])');
    expect(metricStats(alarm)).toEqual({
      evictions0: ['Evictions', 'Sum', 300, node('rg-001')],
      evictions1: ['Evictions', 'Sum', 300, node('rg-002')],
      evictions2: ['Evictions', 'Sum', 300, node('rg-003')],
    });
  });

  test('3 shards × 1 replica: MAX over all six members', () => {
    const alarm = alarmNamed(synth(threeShardsOneReplica), 'pfx-cache-evictions');
    expect(membersOf(alarm, 'Evictions')).toEqual(THREE_SHARD_MEMBERS);
  });

  test('serverless: the cache\'s Evictions, summed over 5 minutes', () => {
    const template = synth(serverless);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'pfx-cache-evictions',
      MetricName: 'Evictions',
      Dimensions: [{ Name: 'clusterId', Value: 'sc' }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 3000,
      EvaluationPeriods: 1,
    });
  });

  test('the threshold is the rate times the window: 20/s over 10 minutes is 12000 per 600 s', () => {
    const alarm = alarmNamed(
      synth(oneShardTwoReplicas, { evictionsPerSecondThreshold: 20, evictionsWindow: Duration.minutes(10) }),
      'pfx-cache-evictions',
    );
    expect(alarm.Threshold).toBe(12000);
    expect(Object.values(metricStats(alarm)).map(([, , period]) => period)).toEqual([600, 600, 600]);
  });
});

describe('Redis health beyond the seed', () => {
  test('engine CPU, connections and replication lag: MAX over the members, 5 of 5 minutes', () => {
    const template = synth(oneShardTwoReplicas);
    const cpu = alarmNamed(template, 'pfx-cache-engine-cpu');
    expect(cpu).toMatchObject({ Threshold: 90, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 5, DatapointsToAlarm: 5 });
    expect(Object.values(metricStats(cpu))).toEqual(ONE_SHARD_MEMBERS.map((id) => ['EngineCPUUtilization', 'Average', 60, node(id)]));

    const connections = alarmNamed(template, 'pfx-cache-connections');
    expect(connections).toMatchObject({ Threshold: 52000, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 5 });
    expect(Object.values(metricStats(connections))).toEqual(ONE_SHARD_MEMBERS.map((id) => ['CurrConnections', 'Maximum', 60, node(id)]));

    const lag = alarmNamed(template, 'pfx-cache-replication-lag');
    expect(lag).toMatchObject({ Threshold: 5, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 5, TreatMissingData: 'notBreaching' });
    expect(returnedExpression(lag)).toBe('MAX([lag0, lag1, lag2])');
    expect(Object.values(metricStats(lag))).toEqual(ONE_SHARD_MEMBERS.map((id) => ['ReplicationLag', 'Maximum', 60, node(id)]));
  });

  test('no replication-lag alarm without replicas; serverless alarms on throttled commands instead of CPU', () => {
    expect(alarmNames(synth(singleNode))).toEqual([
      'pfx-cache-connections',
      'pfx-cache-engine-cpu',
      'pfx-cache-evictions',
      'pfx-cache-hit-rate',
      'pfx-cache-memory',
    ]);
    const template = synth(serverless);
    expect(alarmNames(template)).toEqual([
      'pfx-cache-connections',
      'pfx-cache-evictions',
      'pfx-cache-hit-rate',
      'pfx-cache-memory',
      'pfx-cache-throttled-commands',
    ]);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'pfx-cache-throttled-commands',
      MetricName: 'ThrottledCmds',
      Dimensions: [{ Name: 'clusterId', Value: 'sc' }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
    });
  });

  test('thresholds are props', () => {
    const template = synth(oneShardTwoReplicas, {
      engineCpuThresholdPercent: 70,
      connectionsThreshold: 1000,
      replicationLagThreshold: Duration.millis(1500),
      sustainedWindow: Duration.minutes(2),
    });
    expect(alarmNamed(template, 'pfx-cache-engine-cpu')).toMatchObject({ Threshold: 70, EvaluationPeriods: 2, DatapointsToAlarm: 2 });
    expect(alarmNamed(template, 'pfx-cache-connections')).toMatchObject({ Threshold: 1000, EvaluationPeriods: 2 });
    expect(alarmNamed(template, 'pfx-cache-replication-lag')).toMatchObject({ Threshold: 1.5, EvaluationPeriods: 2 });
  });
});

describe('clusters larger than one alarm can watch', () => {
  test('12 shards × 1 replica: every alarm stays within 10 metrics and every member is watched exactly once', () => {
    const template = synth((stack) => shardedCache(stack, 12, 1));
    const names = alarmNames(template);
    expect(names.filter((name) => name.startsWith('pfx-cache-hit-rate'))).toEqual(
      ['0001-0002', '0003-0004', '0005-0006', '0007-0008', '0009-0010', '0011-0012'].map((group) => `pfx-cache-hit-rate-${group}`),
    );
    expect(names.filter((name) => name.startsWith('pfx-cache-memory'))).toEqual(
      ['0001-0004', '0005-0008', '0009-0012'].map((group) => `pfx-cache-memory-${group}`),
    );
    const all = allAlarms(template);
    for (const alarm of all) expect(Object.keys(metricStats(alarm)).length).toBeLessThanOrEqual(10);
    const watched = (prefix: string, metric: string) =>
      all.filter((alarm) => alarm.AlarmName.startsWith(prefix)).flatMap((alarm) => membersOf(alarm, metric)).sort();
    const members = Array.from({ length: 12 }, (_, s) => [1, 2].map((n) => `rg-${String(s + 1).padStart(4, '0')}-00${n}`)).flat().sort();
    expect(watched('pfx-cache-hit-rate', 'CacheHits')).toEqual(members);
    expect(watched('pfx-cache-hit-rate', 'CacheMisses')).toEqual(members);
    expect(watched('pfx-cache-memory', 'DatabaseMemoryUsagePercentage')).toEqual(members);
    expect(watched('pfx-cache-evictions', 'Evictions')).toEqual(members);
  });

  test('a shard with more nodes than fit (1 primary + 5 replicas for the hit rate) is split into parts', () => {
    const names = alarmNames(synth((stack) => shardedCache(stack, 2, 5)));
    expect(names.filter((name) => name.startsWith('pfx-cache-hit-rate'))).toEqual([
      'pfx-cache-hit-rate-0001-part1',
      'pfx-cache-hit-rate-0001-part2',
      'pfx-cache-hit-rate-0002-part1',
      'pfx-cache-hit-rate-0002-part2',
    ]);
    expect(names.filter((name) => name.startsWith('pfx-cache-memory'))).toEqual(['pfx-cache-memory-0001', 'pfx-cache-memory-0002']);
  });

  test('member ids of another form are split into even contiguous groups', () => {
    const ids = Array.from({ length: 7 }, (_, i) => `custom-node-${i}`);
    expect(nodeGroups(ids, 5)).toEqual([
      { name: '1', members: ids.slice(0, 4) },
      { name: '2', members: ids.slice(4) },
    ]);
    expect(nodeGroups(ids, 10)).toEqual([{ members: ids }]);
  });
});

describe('names, ids and actions', () => {
  test('every metric id is a valid CloudWatch id (lowercase start, alphanumerics and underscores)', () => {
    for (const factory of [oneShardTwoReplicas, threeShardsOneReplica, serverless] as CacheFactory[]) {
      for (const alarm of allAlarms(synth(factory))) {
        for (const query of alarm.Metrics ?? []) expect(query.Id).toMatch(/^[a-z][a-zA-Z0-9_]*$/);
      }
    }
  });

  test('the actions run on ALARM and on OK, and every alarm says what to check first', () => {
    const stack = newStack();
    const topic = new sns.Topic(stack, 'Topic');
    new CacheAlarms(stack, 'CacheAlarms', {
      alarmNamePrefix: 'pfx',
      cache: oneShardTwoReplicas(stack),
      alarmActions: [new cloudwatchActions.SnsAction(topic)],
    });
    const alarms = allAlarms(Template.fromStack(stack));
    expect(alarms).toHaveLength(6);
    for (const alarm of alarms) {
      expect(alarm.AlarmActions).toEqual([{ Ref: stack.getLogicalId(topic.node.defaultChild as sns.CfnTopic) }]);
      expect(alarm.OKActions).toEqual(alarm.AlarmActions);
      expect(alarm.AlarmDescription).toMatch(/Check first: /);
    }
  });

  test('the seed alarms are exposed by rule', () => {
    const stack = newStack();
    const alarms = new CacheAlarms(stack, 'CacheAlarms', { alarmNamePrefix: 'pfx', cache: threeShardsOneReplica(stack) });
    expect(alarms.hitRateAlarms).toHaveLength(2);
    expect(alarms.memoryAlarms).toHaveLength(1);
    expect(alarms.evictionsAlarms).toHaveLength(1);
    expect(alarms.alarms).toHaveLength(2 + 1 + 1 + 1 + 1 + 1);
  });
});

describe('prop validation', () => {
  test.each<[string, Partial<CacheAlarmsProps>, RegExp]>([
    ['alarmNamePrefix', { alarmNamePrefix: 'has space' }, /`alarmNamePrefix` must be 1-128 letters, digits, '_' or '-'.*got 'has space'/],
    ['hitRateThresholdPercent', { hitRateThresholdPercent: 120 }, /`hitRateThresholdPercent` must be between 0 and 100, got 120/],
    ['memoryThresholdPercent', { memoryThresholdPercent: -1 }, /`memoryThresholdPercent` must be between 0 and 100, got -1/],
    ['engineCpuThresholdPercent', { engineCpuThresholdPercent: 101 }, /`engineCpuThresholdPercent` must be between 0 and 100, got 101/],
    ['evictionsPerSecondThreshold', { evictionsPerSecondThreshold: -5 }, /`evictionsPerSecondThreshold` must be between 0 and 1000000, got -5/],
    ['connectionsThreshold', { connectionsThreshold: 70000 }, /`connectionsThreshold` must be between 1 and 65000, got 70000/],
    ['hitRateWindow', { hitRateWindow: Duration.seconds(90) }, /`hitRateWindow` must be a whole number of minutes between 1 and 1440, got 1 minute 30 seconds/],
    ['memoryWindow', { memoryWindow: Duration.days(2) }, /`memoryWindow` must be a whole number of minutes between 1 and 1440, got 2 days/],
    ['evictionsWindow', { evictionsWindow: Duration.seconds(30) }, /`evictionsWindow` must be a whole number of minutes/],
    ['sustainedWindow', { sustainedWindow: Duration.seconds(0) }, /`sustainedWindow` must be a whole number of minutes/],
    ['replicationLagThreshold', { replicationLagThreshold: Duration.seconds(0) }, /`replicationLagThreshold` must be positive, got 0 seconds/],
  ])('rejects an invalid %s', (_prop, props, message) => {
    expect(() => synth(oneShardTwoReplicas, props)).toThrow(message);
  });
});
