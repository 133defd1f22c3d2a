import { DescribeEventsCommand, ElastiCacheClient, ReplicationGroup, TestFailoverCommand } from '@aws-sdk/client-elasticache';
import { AVAILABLE, fetchReplicationGroup } from './cache-status';
import { ExitCode, OpsError, UsageError, explainAwsError } from './errors';

/** Time and waiting, injected so tests run a whole drill without real delays. */
export interface DrillClock {
  now(): Date;
  sleep(milliseconds: number): Promise<void>;
}

export const REAL_CLOCK: DrillClock = {
  now: () => new Date(),
  sleep: (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds)),
};

/** One observation while the drill runs. */
export interface DrillProgress {
  readonly elapsedSeconds: number;
  readonly groupStatus: string;
  readonly shardStatus: string;
  /** The shard's primary member, when ElastiCache reports roles (cluster mode disabled). */
  readonly primary?: string;
  /** ElastiCache events on the group since the drill started, new since the last observation. */
  readonly events: readonly string[];
}

export interface FailoverDrillOptions {
  readonly replicationGroupId: string;
  /** The shard (node group) to fail over. @default - the first shard, `0001` */
  readonly shardId?: string;
  /** Nothing happens without it: the drill interrupts writes to the shard for seconds. */
  readonly confirmed: boolean;
  /** Time between two observations, in milliseconds. */
  readonly pollIntervalMs: number;
  /** Longest wait for the group to be available again, in milliseconds. */
  readonly timeoutMs: number;
  readonly clock: DrillClock;
  /** Called once ElastiCache has accepted the TestFailover. */
  readonly onStart?: (shardId: string) => void;
  /** Called with every observation (the CLI prints them as they come). */
  readonly onProgress?: (progress: DrillProgress) => void;
}

/** What `failover-drill` did. */
export interface FailoverDrillResult {
  readonly replicationGroupId: string;
  readonly shardId: string;
  readonly primaryBefore?: string;
  readonly primaryAfter?: string;
  readonly durationSeconds: number;
  readonly progress: readonly DrillProgress[];
}

type ElastiCache = Pick<ElastiCacheClient, 'send'>;

/**
 * Runs ElastiCache `TestFailover` on one shard and follows it until the group is `available`
 * again: the promoted replica takes over and the old primary comes back as a replica. Refuses to
 * start unless the group is available, has automatic failover enabled (so replicas), and the
 * operator confirmed with `--yes`.
 */
export async function runFailoverDrill(elastiCache: ElastiCache, options: FailoverDrillOptions): Promise<FailoverDrillResult> {
  const group = await fetchReplicationGroup(elastiCache, options.replicationGroupId);
  const shardId = options.shardId ?? group.NodeGroups?.[0]?.NodeGroupId ?? '0001';
  checkDrillable(group, options.replicationGroupId, shardId);
  const primaryBefore = primaryOf(group, shardId);
  if (!options.confirmed) {
    throw new UsageError(
      `failover-drill would fail over shard ${shardId} of ${options.replicationGroupId}${primaryBefore ? ` (primary ${primaryBefore})` : ''}: ` +
        'writes to that shard fail for some seconds while a replica is promoted. Run it again with --yes to start.',
    );
  }

  const started = options.clock.now();
  let response;
  try {
    response = await elastiCache.send(new TestFailoverCommand({ ReplicationGroupId: options.replicationGroupId, NodeGroupId: shardId }));
  } catch (error) {
    throw explainFailoverError(error, options.replicationGroupId, shardId);
  }
  options.onStart?.(shardId);

  const progress: DrillProgress[] = [];
  const seenEvents = new Set<string>();
  // The group leaves `available` while the replica is promoted; until it has been seen doing so
  // (or an event says the failover completed), `available` means "not started yet", not "done".
  let failoverObserved = (response.ReplicationGroup?.Status ?? AVAILABLE) !== AVAILABLE;
  for (;;) {
    const elapsedMs = options.clock.now().getTime() - started.getTime();
    if (elapsedMs > options.timeoutMs) {
      throw new OpsError(
        `Replication group ${options.replicationGroupId} was not available again ${Math.round(options.timeoutMs / 1000)} s after TestFailover on shard ${shardId}. ` +
          'Check its events in the ElastiCache console; the drill itself cannot be cancelled.',
        ExitCode.TIMED_OUT,
      );
    }
    await options.clock.sleep(options.pollIntervalMs);
    const current = await fetchReplicationGroup(elastiCache, options.replicationGroupId);
    const events = await newEvents(elastiCache, options.replicationGroupId, started, seenEvents);
    const observation: DrillProgress = {
      elapsedSeconds: Math.round((options.clock.now().getTime() - started.getTime()) / 1000),
      groupStatus: current.Status ?? 'unknown',
      shardStatus: current.NodeGroups?.find((shard) => shard.NodeGroupId === shardId)?.Status ?? 'unknown',
      primary: primaryOf(current, shardId),
      events,
    };
    progress.push(observation);
    options.onProgress?.(observation);
    if (observation.groupStatus !== AVAILABLE || events.some((event) => /failover/i.test(event) && /complete/i.test(event))) failoverObserved = true;
    if (failoverObserved && observation.groupStatus === AVAILABLE && observation.shardStatus === AVAILABLE) {
      return {
        replicationGroupId: options.replicationGroupId,
        shardId,
        primaryBefore,
        primaryAfter: observation.primary,
        durationSeconds: observation.elapsedSeconds,
        progress,
      };
    }
  }
}

function checkDrillable(group: ReplicationGroup, replicationGroupId: string, shardId: string): void {
  if (group.Status !== AVAILABLE) {
    throw new OpsError(
      `Replication group ${replicationGroupId} is '${group.Status}', not '${AVAILABLE}': wait until it is (see \`cache-pyramid status\`) before a failover drill.`,
      ExitCode.CACHE_NOT_AVAILABLE,
    );
  }
  const shard = group.NodeGroups?.find((candidate) => candidate.NodeGroupId === shardId);
  if (shard === undefined) {
    const shards = (group.NodeGroups ?? []).map((candidate) => candidate.NodeGroupId).join(', ');
    throw new UsageError(`Replication group ${replicationGroupId} has no shard '${shardId}'; its shards are ${shards}.`);
  }
  if (group.AutomaticFailover !== 'enabled' || (shard.NodeGroupMembers ?? []).length < 2) {
    throw new OpsError(
      `Replication group ${replicationGroupId} cannot fail over: automatic failover is '${group.AutomaticFailover ?? 'disabled'}' and shard ${shardId} has ` +
        `${(shard.NodeGroupMembers ?? []).length} node(s). A drill needs at least one replica per shard (RedisCache replicasPerShard ≥ 1).`,
      ExitCode.CACHE_NOT_AVAILABLE,
    );
  }
  if (shard.Status !== AVAILABLE) {
    throw new OpsError(`Shard ${shardId} of ${replicationGroupId} is '${shard.Status}', not '${AVAILABLE}'.`, ExitCode.CACHE_NOT_AVAILABLE);
  }
}

function primaryOf(group: ReplicationGroup, shardId: string): string | undefined {
  const shard = group.NodeGroups?.find((candidate) => candidate.NodeGroupId === shardId);
  return shard?.NodeGroupMembers?.find((member) => member.CurrentRole === 'primary')?.CacheClusterId;
}

async function newEvents(elastiCache: ElastiCache, replicationGroupId: string, since: Date, seen: Set<string>): Promise<string[]> {
  let response;
  try {
    response = await elastiCache.send(new DescribeEventsCommand({ SourceIdentifier: replicationGroupId, SourceType: 'replication-group', StartTime: since }));
  } catch (error) {
    throw explainAwsError(error, 'elasticache:DescribeEvents');
  }
  const fresh: string[] = [];
  for (const event of response.Events ?? []) {
    const key = `${event.Date?.toISOString()} ${event.Message}`;
    if (event.Message === undefined || seen.has(key)) continue;
    seen.add(key);
    fresh.push(event.Message);
  }
  return fresh;
}

function explainFailoverError(error: unknown, replicationGroupId: string, shardId: string): OpsError {
  switch ((error as { name?: string }).name) {
    case 'TestFailoverNotAvailableFault':
      return new OpsError(
        `ElastiCache refused the drill on shard ${shardId}: ${(error as Error).message} (at most 15 shards may be tested in 24 hours, and one at a time).`,
        ExitCode.CACHE_NOT_AVAILABLE,
      );
    case 'InvalidReplicationGroupStateFault':
      return new OpsError(`Replication group ${replicationGroupId} cannot fail over in its current state: ${(error as Error).message}`, ExitCode.CACHE_NOT_AVAILABLE);
    case 'NodeGroupNotFoundFault':
      return new UsageError(`Replication group ${replicationGroupId} has no shard '${shardId}'.`);
    default:
      return explainAwsError(error, 'elasticache:TestFailover');
  }
}

/** The human-readable form of one observation. */
export function renderDrillProgress(progress: DrillProgress): string {
  const lines = [
    `  +${String(progress.elapsedSeconds).padStart(4)} s  group ${progress.groupStatus}, shard ${progress.shardStatus}${progress.primary ? `, primary ${progress.primary}` : ''}`,
  ];
  for (const event of progress.events) lines.push(`           event: ${event}`);
  return lines.join('\n');
}

/** The human-readable summary of a finished drill. */
export function renderDrillResult(stackName: string, result: FailoverDrillResult): string {
  const primaries =
    result.primaryBefore && result.primaryAfter ? ` Primary ${result.primaryBefore} -> ${result.primaryAfter}.` : ' (ElastiCache reports no roles for cluster-mode-enabled groups.)';
  return `Stack ${stackName}: failover drill on shard ${result.shardId} of ${result.replicationGroupId} finished in ${result.durationSeconds} s; the group is available.${primaries}`;
}
