import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ElastiCacheClient, NodeGroup, ReplicationGroup } from '@aws-sdk/client-elasticache';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsClients, CliDependencies, main } from '../../../lib/ops/cli';

export const REGION = 'eu-west-1';
export const STACK = 'CachePyramid-dev';

/** Mocks of every client the CLI uses; create in beforeEach, `restore()` in afterEach. */
export function awsMocks() {
  return {
    cloudFormation: mockClient(CloudFormationClient),
    elastiCache: mockClient(ElastiCacheClient),
    cloudWatch: mockClient(CloudWatchClient),
    eventBridge: mockClient(EventBridgeClient),
    cloudFront: mockClient(CloudFrontClient),
  };
}

export type AwsMocks = ReturnType<typeof awsMocks>;

export function restore(mocks: AwsMocks): void {
  for (const mock of Object.values(mocks)) mock.restore();
}

/** A clock whose `sleep` advances time instantly and records how long it was asked to wait. */
export class FakeClock {
  readonly sleeps: number[] = [];
  private nowMs = Date.parse('2025-06-01T12:00:00.000Z');

  now(): Date {
    return new Date(this.nowMs);
  }

  async sleep(milliseconds: number): Promise<void> {
    this.sleeps.push(milliseconds);
    this.nowMs += milliseconds;
  }
}

/** SDK clients for {@link REGION} with static credentials (every `send` is mocked). */
export function mockedClients(region = REGION): AwsClients {
  const credentials = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' };
  return {
    region,
    cloudFormation: new CloudFormationClient({ region, credentials }),
    elastiCache: new ElastiCacheClient({ region, credentials }),
    eventBridge: new EventBridgeClient({ region, credentials }),
    cloudFront: new CloudFrontClient({ region: 'us-east-1', credentials }),
    cloudWatch: (cloudWatchRegion) => new CloudWatchClient({ region: cloudWatchRegion, credentials }),
  };
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed, for `--json` runs. */
  json<T = Record<string, unknown>>(): T;
}

/** Runs the CLI in-process with mocked clients, a fake clock and captured output. */
export async function cli(argv: string[], options: Partial<Pick<CliDependencies, 'clients' | 'env'>> & { clock?: FakeClock } = {}): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const clock = options.clock ?? new FakeClock();
  const code = await main(argv, {
    clients: options.clients ?? (async (region) => mockedClients(region ?? REGION)),
    clock,
    env: options.env ?? {},
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
  });
  const stdout = out.join('\n');
  return { code, stdout, stderr: err.join('\n'), json: <T>() => JSON.parse(stdout) as T };
}

/** DescribeStacks answers with these outputs for {@link STACK}. */
export function stackWithOutputs(mocks: AwsMocks, outputs: Record<string, string>, stackName = STACK): void {
  mocks.cloudFormation.on(DescribeStacksCommand, { StackName: stackName }).resolves({
    Stacks: [
      {
        StackName: stackName,
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date('2025-01-01T00:00:00Z'),
        Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  });
}

/** An error shaped like the ones the SDK throws (`name` is what callers branch on). */
export function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $metadata: {} });
}

/** A cluster-mode-disabled group: one shard, members `rg-001` (primary) ... */
export function singleShardGroup(options: { status?: string; primary?: string; members?: number; automaticFailover?: 'enabled' | 'disabled' } = {}): ReplicationGroup {
  const members = Array.from({ length: options.members ?? 3 }, (_, i) => `rg-00${i + 1}`);
  const primary = options.primary ?? 'rg-001';
  return {
    ReplicationGroupId: 'rg',
    Status: options.status ?? 'available',
    Engine: 'valkey',
    ClusterEnabled: false,
    CacheNodeType: 'cache.t4g.small',
    AutomaticFailover: options.automaticFailover ?? (members.length > 1 ? 'enabled' : 'disabled'),
    MultiAZ: members.length > 1 ? 'enabled' : 'disabled',
    MemberClusters: members,
    NodeGroups: [
      {
        NodeGroupId: '0001',
        Status: options.status ?? 'available',
        PrimaryEndpoint: { Address: 'master.rg.abc.euw1.cache.amazonaws.com', Port: 6380 },
        ReaderEndpoint: { Address: 'replica.rg.abc.euw1.cache.amazonaws.com', Port: 6380 },
        NodeGroupMembers: members.map((id, i) => ({
          CacheClusterId: id,
          CacheNodeId: '0001',
          CurrentRole: id === primary ? 'primary' : 'replica',
          PreferredAvailabilityZone: i % 2 === 0 ? 'eu-west-1a' : 'eu-west-1b',
        })),
      },
    ],
  };
}

/** A cluster-mode-enabled group of `shards` shards × 2 nodes; ElastiCache reports no roles for these. */
export function shardedGroup(shards: number, status = 'available'): ReplicationGroup {
  const nodeGroups: NodeGroup[] = Array.from({ length: shards }, (_, s) => {
    const id = String(s + 1).padStart(4, '0');
    return {
      NodeGroupId: id,
      Status: status,
      Slots: `${Math.floor((16384 / shards) * s)}-${Math.floor((16384 / shards) * (s + 1)) - 1}`,
      NodeGroupMembers: [1, 2].map((n) => ({ CacheClusterId: `rg-${id}-00${n}`, CacheNodeId: '0001', PreferredAvailabilityZone: `eu-west-1${n === 1 ? 'a' : 'b'}` })),
    };
  });
  return {
    ReplicationGroupId: 'rg',
    Status: status,
    Engine: 'valkey',
    ClusterEnabled: true,
    CacheNodeType: 'cache.r7g.large',
    AutomaticFailover: 'enabled',
    MultiAZ: 'enabled',
    ConfigurationEndpoint: { Address: 'clustercfg.rg.abc.euw1.cache.amazonaws.com', Port: 6380 },
    MemberClusters: nodeGroups.flatMap((group) => (group.NodeGroupMembers ?? []).map((member) => member.CacheClusterId ?? '')),
    NodeGroups: nodeGroups,
  };
}
