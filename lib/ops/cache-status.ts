import {
  DescribeCacheClustersCommand,
  DescribeReplicationGroupsCommand,
  DescribeServerlessCachesCommand,
  ElastiCacheClient,
  ReplicationGroup,
} from '@aws-sdk/client-elasticache';
import { ExitCode, OpsError, explainAwsError } from './errors';
import { CacheKind, StackCache } from './stack-outputs';

/** ElastiCache's status of a cache that serves traffic and accepts changes. */
export const AVAILABLE = 'available';

export interface NodeStatus {
  /** The member cache cluster id (also the `CacheClusterId` metric dimension). */
  readonly id: string;
  /** `primary` or `replica`; ElastiCache reports roles only for cluster-mode-disabled groups. */
  readonly role?: string;
  readonly availabilityZone?: string;
}

export interface ShardStatus {
  readonly id: string;
  readonly status: string;
  /** Hash slots of the shard (cluster mode enabled). */
  readonly slots?: string;
  readonly nodes: NodeStatus[];
}

/** What `status` reports about a cache. */
export interface CacheStatus {
  readonly kind: CacheKind;
  readonly id: string;
  readonly status: string;
  readonly engine?: string;
  readonly engineVersion?: string;
  readonly nodeType?: string;
  readonly clusterMode?: boolean;
  readonly automaticFailover?: string;
  readonly multiAz?: string;
  /** host:port clients connect to. */
  readonly endpoint?: string;
  readonly readerEndpoint?: string;
  /** Node-based caches only. */
  readonly shards: ShardStatus[];
  /** Serverless caches only: the usage limits. */
  readonly limits?: { readonly dataStorageGb?: number; readonly ecpuPerSecond?: number };
}

type ElastiCache = Pick<ElastiCacheClient, 'send'>;

/** The stack's cache as ElastiCache describes it now. */
export async function describeCache(elastiCache: ElastiCache, cache: StackCache): Promise<CacheStatus> {
  return cache.kind === CacheKind.REPLICATION_GROUP ? describeReplicationGroup(elastiCache, cache.id) : describeServerlessCache(elastiCache, cache.id);
}

/** The replication group, or an {@link OpsError} when it does not exist. */
export async function fetchReplicationGroup(elastiCache: ElastiCache, replicationGroupId: string): Promise<ReplicationGroup> {
  try {
    const response = await elastiCache.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: replicationGroupId }));
    const group = response.ReplicationGroups?.[0];
    if (group !== undefined) return group;
  } catch (error) {
    if ((error as { name?: string }).name !== 'ReplicationGroupNotFoundFault') throw explainAwsError(error, 'elasticache:DescribeReplicationGroups');
  }
  throw new OpsError(
    `The stack's replication group '${replicationGroupId}' does not exist (deleted outside CloudFormation, or another region?).`,
    ExitCode.ENVIRONMENT,
  );
}

async function describeReplicationGroup(elastiCache: ElastiCache, replicationGroupId: string): Promise<CacheStatus> {
  const group = await fetchReplicationGroup(elastiCache, replicationGroupId);
  const endpoint = group.ConfigurationEndpoint ?? group.NodeGroups?.[0]?.PrimaryEndpoint;
  const reader = group.ClusterEnabled ? undefined : group.NodeGroups?.[0]?.ReaderEndpoint;
  return {
    kind: CacheKind.REPLICATION_GROUP,
    id: replicationGroupId,
    status: group.Status ?? 'unknown',
    engine: group.Engine,
    engineVersion: await engineVersionOf(elastiCache, group.MemberClusters?.[0]),
    nodeType: group.CacheNodeType,
    clusterMode: group.ClusterEnabled,
    automaticFailover: group.AutomaticFailover,
    multiAz: group.MultiAZ,
    endpoint: endpoint?.Address ? `${endpoint.Address}:${endpoint.Port}` : undefined,
    readerEndpoint: reader?.Address ? `${reader.Address}:${reader.Port}` : undefined,
    shards: (group.NodeGroups ?? []).map((shard) => ({
      id: shard.NodeGroupId ?? '?',
      status: shard.Status ?? 'unknown',
      slots: shard.Slots,
      nodes: (shard.NodeGroupMembers ?? []).map((member) => ({
        id: member.CacheClusterId ?? '?',
        role: member.CurrentRole,
        availabilityZone: member.PreferredAvailabilityZone,
      })),
    })),
  };
}

/** Every member runs the same engine version; the first one's is the group's. */
async function engineVersionOf(elastiCache: ElastiCache, memberClusterId: string | undefined): Promise<string | undefined> {
  if (memberClusterId === undefined) return undefined;
  try {
    const response = await elastiCache.send(new DescribeCacheClustersCommand({ CacheClusterId: memberClusterId }));
    return response.CacheClusters?.[0]?.EngineVersion;
  } catch (error) {
    // A member replaced mid-call (failover, scaling) is not worth failing the whole status for.
    if ((error as { name?: string }).name === 'CacheClusterNotFoundFault') return undefined;
    throw explainAwsError(error, 'elasticache:DescribeCacheClusters');
  }
}

async function describeServerlessCache(elastiCache: ElastiCache, name: string): Promise<CacheStatus> {
  let cache;
  try {
    const response = await elastiCache.send(new DescribeServerlessCachesCommand({ ServerlessCacheName: name }));
    cache = response.ServerlessCaches?.[0];
  } catch (error) {
    if ((error as { name?: string }).name !== 'ServerlessCacheNotFoundFault') throw explainAwsError(error, 'elasticache:DescribeServerlessCaches');
  }
  if (cache === undefined) {
    throw new OpsError(`The stack's serverless cache '${name}' does not exist (deleted outside CloudFormation, or another region?).`, ExitCode.ENVIRONMENT);
  }
  return {
    kind: CacheKind.SERVERLESS,
    id: name,
    status: cache.Status ?? 'unknown',
    engine: cache.Engine,
    engineVersion: cache.FullEngineVersion ?? cache.MajorEngineVersion,
    clusterMode: true,
    endpoint: cache.Endpoint?.Address ? `${cache.Endpoint.Address}:${cache.Endpoint.Port}` : undefined,
    readerEndpoint: cache.ReaderEndpoint?.Address ? `${cache.ReaderEndpoint.Address}:${cache.ReaderEndpoint.Port}` : undefined,
    shards: [],
    limits: {
      dataStorageGb: cache.CacheUsageLimits?.DataStorage?.Maximum,
      ecpuPerSecond: cache.CacheUsageLimits?.ECPUPerSecond?.Maximum,
    },
  };
}

/** The human-readable form of {@link CacheStatus}. */
export function renderCacheStatus(stackName: string, cache: CacheStatus): string {
  const lines = [
    `Stack ${stackName}: ${cache.kind === CacheKind.SERVERLESS ? 'serverless cache' : 'replication group'} ${cache.id}`,
    `  status        ${cache.status}`,
    `  engine        ${[cache.engine, cache.engineVersion].filter(Boolean).join(' ') || '-'}`,
  ];
  if (cache.nodeType) lines.push(`  node type     ${cache.nodeType}`);
  if (cache.kind === CacheKind.REPLICATION_GROUP) {
    lines.push(`  cluster mode  ${cache.clusterMode ? 'enabled' : 'disabled'}`);
    lines.push(`  failover      automatic ${cache.automaticFailover ?? '-'}, Multi-AZ ${cache.multiAz ?? '-'}`);
  }
  if (cache.endpoint) lines.push(`  endpoint      ${cache.endpoint}`);
  if (cache.readerEndpoint) lines.push(`  reader        ${cache.readerEndpoint}`);
  if (cache.limits) {
    lines.push(`  limits        ${cache.limits.dataStorageGb ?? '-'} GB data, ${cache.limits.ecpuPerSecond ?? '-'} ECPU/s`);
  }
  for (const shard of cache.shards) {
    lines.push(`  shard ${shard.id}  ${shard.status}${shard.slots ? `  slots ${shard.slots}` : ''}`);
    for (const node of shard.nodes) {
      lines.push(`    ${node.id.padEnd(28)} ${(node.role ?? '-').padEnd(8)} ${node.availabilityZone ?? ''}`.trimEnd());
    }
  }
  return lines.join('\n');
}
