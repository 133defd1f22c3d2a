import { App, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Template } from 'aws-cdk-lib/assertions';
import { ClusterMode, RedisCache } from '../../../lib/cache/redis-cache';
import { ServerlessRedisCache } from '../../../lib/cache/serverless-redis-cache';

/** A fresh app (no bundling) and stack per test. */
export function newStack(props: StackProps = {}): Stack {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return new Stack(app, 'TestStack', props);
}

function vpcOf(stack: Stack): ec2.Vpc {
  return new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
  });
}

/** 1 shard × 2 replicas, cluster mode disabled: members `rg-001` ... `rg-003`. */
export function oneShardTwoReplicas(stack: Stack, replicationGroupId = 'rg'): RedisCache {
  return new RedisCache(stack, 'Cache', { vpc: vpcOf(stack), replicationGroupId, replicasPerShard: 2 });
}

/** 3 shards × 1 replica, cluster mode enabled: members `rg-0001-001` ... `rg-0003-002`. */
export function threeShardsOneReplica(stack: Stack, replicationGroupId = 'rg'): RedisCache {
  return new RedisCache(stack, 'Cache', { vpc: vpcOf(stack), replicationGroupId, clusterMode: ClusterMode.ENABLED, numShards: 3, replicasPerShard: 1 });
}

/** `numShards` × `replicasPerShard`, cluster mode enabled. */
export function shardedCache(stack: Stack, numShards: number, replicasPerShard: number): RedisCache {
  return new RedisCache(stack, 'Cache', { vpc: vpcOf(stack), replicationGroupId: 'rg', clusterMode: ClusterMode.ENABLED, numShards, replicasPerShard });
}

/** One primary, no replica. */
export function singleNode(stack: Stack): RedisCache {
  return new RedisCache(stack, 'Cache', { vpc: vpcOf(stack), replicationGroupId: 'rg', replicasPerShard: 0 });
}

/** A serverless cache named `sc`, 10 GB data-storage limit. */
export function serverless(stack: Stack): ServerlessRedisCache {
  return new ServerlessRedisCache(stack, 'Cache', { vpc: vpcOf(stack), cacheName: 'sc', maxDataStorageGb: 10 });
}

export interface MetricQuery {
  Id: string;
  Expression?: string;
  ReturnData?: boolean;
  MetricStat?: { Metric: { MetricName: string; Namespace: string; Dimensions: { Name: string; Value: string }[] }; Period: number; Stat: string };
}

/** The Properties of an AWS::CloudWatch::Alarm. */
export interface AlarmProperties {
  AlarmName: string;
  AlarmDescription: string;
  Metrics?: MetricQuery[];
  [property: string]: unknown;
}

/** The Properties of the alarm named `name`; fails when there is not exactly one. */
export function alarmNamed(template: Template, name: string): AlarmProperties {
  const alarms = allAlarms(template).filter((alarm) => alarm.AlarmName === name);
  if (alarms.length !== 1) throw new Error(`expected one alarm named ${name}, found ${alarms.length}`);
  return alarms[0];
}

/** The Properties of every alarm in the template. */
export function allAlarms(template: Template): AlarmProperties[] {
  return Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties as AlarmProperties);
}

/** Every alarm name in the template, sorted. */
export function alarmNames(template: Template): string[] {
  return allAlarms(template)
    .map((alarm) => alarm.AlarmName)
    .sort();
}

/** The alarm's metric-math queries by id. */
export function queriesById(alarm: AlarmProperties): Record<string, MetricQuery> {
  return Object.fromEntries((alarm.Metrics ?? []).map((query) => [query.Id, query]));
}

/** The expression the alarm watches (the query with ReturnData true or unset at top level). */
export function returnedExpression(alarm: AlarmProperties): string {
  const returned = (alarm.Metrics ?? []).filter((query) => query.ReturnData !== false);
  if (returned.length !== 1) throw new Error(`expected one returned query, found ${returned.length}`);
  return returned[0].Expression ?? '';
}

/** `{ id: [metricName, stat, period, {dimension: value}] }` of every MetricStat query. */
export function metricStats(alarm: AlarmProperties): Record<string, [string, string, number, Record<string, string>]> {
  return Object.fromEntries(
    (alarm.Metrics ?? [])
      .filter((query) => query.MetricStat !== undefined)
      .map((query) => {
        const stat = query.MetricStat!;
        const dims = Object.fromEntries(stat.Metric.Dimensions.map((d) => [d.Name, d.Value]));
        return [query.Id, [stat.Metric.MetricName, stat.Stat, stat.Period, dims]];
      }),
  );
}
