import { RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { allowLogsToUseKey, vendedLogGroupName } from '../network/cache-pyramid-network';
import { restrictKmsGrantsToAwsServices } from '../validation/kms-grants-for-aws-services-only';
import { CacheEngine, ICacheCluster } from './cache-cluster';
import { CacheEngineVersion } from './cache-engine-version';
import { aggregateNodes, aggregationFor, hitRateOverNodes, NodeAggregation, nodeMetric } from './cache-metrics';
import { checkInteger } from '../validation/check-integer';
import { checkVpc } from '../validation/check-props';

/** Whether the replication group shards its keyspace (Valkey/Redis OSS cluster mode). */
export enum ClusterMode {
  /** Up to 500 shards; clients use the cluster protocol (the configuration endpoint). */
  ENABLED = 'enabled',
  /** One shard; clients use the primary endpoint. */
  DISABLED = 'disabled',
}

/** What the engine evicts when `maxmemory` is reached (`maxmemory-policy`). */
export enum MaxMemoryPolicy {
  /** Least recently used among all keys: the right policy for a pure cache. */
  ALLKEYS_LRU = 'allkeys-lru',
  /** Least frequently used among all keys. */
  ALLKEYS_LFU = 'allkeys-lfu',
  /** Random keys. */
  ALLKEYS_RANDOM = 'allkeys-random',
  /** Least recently used among keys with a TTL. */
  VOLATILE_LRU = 'volatile-lru',
  /** Least frequently used among keys with a TTL. */
  VOLATILE_LFU = 'volatile-lfu',
  /** Keys with a TTL, nearest expiry first. */
  VOLATILE_TTL = 'volatile-ttl',
  /** Random keys with a TTL. */
  VOLATILE_RANDOM = 'volatile-random',
  /** Nothing: writes fail with OOM when memory is full. */
  NOEVICTION = 'noeviction',
}

/** Props for {@link RedisCache}. */
export interface RedisCacheProps {
  /** The VPC of the cache. */
  readonly vpc: ec2.IVpc;
  /** Subnets of the cache's subnet group. @default - the VPC's private isolated subnets, else its private subnets with egress */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * The replication group id: 1-40 lowercase letters, digits and hyphens, starting with a letter,
   * no `--`, no trailing `-`. A custom id makes every change CloudFormation applies by replacement
   * (replicas per shard in cluster mode, cluster mode on or off, port, subnet group, key) fail the
   * update: CloudFormation cannot create the new group under the name the old one still holds.
   * Set it only to adopt a naming scheme you will replace by hand (new id, deploy, remove the old).
   * @default - CloudFormation generates a unique id, so every change can deploy (a replacing change gets a new, empty group)
   */
  readonly replicationGroupId?: string;
  /** Description of the replication group. @default - 'cache-pyramid cache <replicationGroupId or construct path>' */
  readonly description?: string;
  /** Engine and version. @default CacheEngineVersion.VALKEY_8_1 */
  readonly engineVersion?: CacheEngineVersion;
  /** Cluster mode. @default ClusterMode.DISABLED */
  readonly clusterMode?: ClusterMode;
  /** Shards (node groups); more than 1 needs `ClusterMode.ENABLED`. @default 1 */
  readonly numShards?: number;
  /** Read replicas per shard, 0-5. @default 1 */
  readonly replicasPerShard?: number;
  /** Node type. @default 'cache.t4g.small' */
  readonly nodeType?: string;
  /** Multi-AZ with automatic failover to a replica; needs `replicasPerShard` ≥ 1. @default - true when there are replicas */
  readonly multiAz?: boolean;
  /** TCP port, 1024-65535; not 6379 so that a scan of the default port finds nothing. @default 6380 */
  readonly port?: number;
  /** Eviction policy. @default MaxMemoryPolicy.ALLKEYS_LRU */
  readonly maxMemoryPolicy?: MaxMemoryPolicy;
  /** Further engine parameters (not `maxmemory-policy` or `cluster-enabled`, which have their own props). @default - none */
  readonly parameters?: Record<string, string>;
  /** Key for encryption at rest, the AUTH secret and the log groups. @default - a new key with rotation */
  readonly encryptionKey?: kms.IKey;
  /** Existing secret whose SecretString is the AUTH token (16-128 chars). @default - a 64-character token generated in Secrets Manager */
  readonly authTokenSecret?: secretsmanager.ISecret;
  /** RBAC user groups instead of an AUTH token (excludes `authTokenSecret`). @default - AUTH token */
  readonly userGroupIds?: string[];
  /** With `userGroupIds`: the secret (`{"username","password"}`) the functions connect with. @default - none, functions get no CACHE_AUTH_SECRET_ARN */
  readonly rbacUserSecret?: secretsmanager.ISecret;
  /** Days automatic snapshots are kept, 0 (off) to 35. @default 1 */
  readonly snapshotRetentionDays?: number;
  /** Daily snapshot window, UTC `hh:mm-hh:mm`, at least 60 minutes. @default '03:00-04:00' */
  readonly snapshotWindow?: string;
  /** Weekly maintenance window, UTC `ddd:hh:mm-ddd:hh:mm`. @default 'sun:05:00-sun:06:00' */
  readonly maintenanceWindow?: string;
  /** How long slow-log and engine-log entries are kept (Control Tower asks for at least a year). @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** What deleting the stack does: SNAPSHOT keeps a final snapshot (and the key and logs). @default RemovalPolicy.SNAPSHOT */
  readonly removalPolicy?: RemovalPolicy;
}

const ID_PATTERN = /^[a-z](?:[a-z0-9]|-(?!-))*$/;
const SNAPSHOT_WINDOW = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/;
const MAINTENANCE_WINDOW = /^(sun|mon|tue|wed|thu|fri|sat):([01]\d|2[0-3]):([0-5]\d)-(sun|mon|tue|wed|thu|fri|sat):([01]\d|2[0-3]):([0-5]\d)$/;
const RESERVED_PARAMETERS = ['maxmemory-policy', 'cluster-enabled'];

/**
 * A node-based ElastiCache Valkey / Redis OSS replication group, secure by default: TLS required
 * in transit, encrypted at rest with a KMS key, an AUTH token generated in Secrets Manager (or RBAC
 * user groups), private subnets, its own security group that only granted functions can reach,
 * Multi-AZ with automatic failover whenever there are replicas, slow and engine logs in encrypted
 * log groups. Implements {@link ICacheCluster}, so the API, the invalidation functions and the
 * alarms work the same over this or a {@link ServerlessRedisCache}.
 */
export class RedisCache extends Construct implements ICacheCluster {
  public readonly engine: CacheEngine;
  public readonly engineVersion: CacheEngineVersion;
  public readonly endpointAddress: string;
  public readonly endpointPort: number;
  public readonly clusterModeEnabled: boolean;
  public readonly authSecret?: secretsmanager.ISecret;
  public readonly memberClusterIds: string[];
  public readonly clientEnvironment: Record<string, string>;
  public readonly connections: ec2.Connections;
  /** The replication group. */
  public readonly replicationGroup: elasticache.CfnReplicationGroup;
  /** The replication group id (also the prefix of every member id). */
  public readonly replicationGroupId: string;
  /** Security group of the nodes: no ingress until `grantConnect`, no egress. */
  public readonly securityGroup: ec2.SecurityGroup;
  /** Key encrypting data at rest, snapshots, the AUTH secret and the logs. */
  public readonly encryptionKey: kms.IKey;
  /** The parameter group. */
  public readonly parameterGroup: elasticache.CfnParameterGroup;
  /** Slow-log destination. */
  public readonly slowLogGroup: logs.LogGroup;
  /** Engine-log destination. */
  public readonly engineLogGroup: logs.LogGroup;
  /** Shard count. */
  public readonly numShards: number;
  /** Replicas per shard. */
  public readonly replicasPerShard: number;
  /**
   * The AUTH token secret this construct generated (JSON `{"current": …}`), which a `SecretRotator`
   * can rotate. Undefined with RBAC or a given `authTokenSecret`.
   */
  public readonly generatedAuthTokenSecret?: secretsmanager.Secret;
  /** How descriptions name the group: its custom id, else the construct path. */
  private readonly label: string;

  constructor(scope: Construct, id: string, props: RedisCacheProps) {
    super(scope, id);
    checkVpc('RedisCache', 'vpc', props.vpc);
    const engineVersion = props.engineVersion ?? CacheEngineVersion.VALKEY_8_1;
    const clusterMode = props.clusterMode ?? ClusterMode.DISABLED;
    const numShards = props.numShards ?? 1;
    const replicasPerShard = props.replicasPerShard ?? 1;
    const port = props.port ?? 6380;
    const multiAz = props.multiAz ?? replicasPerShard > 0;
    validateProps(props, { clusterMode, numShards, replicasPerShard, multiAz });

    const subnets = props.vpc.selectSubnets(props.vpcSubnets ?? defaultSubnets(props.vpc));
    if (multiAz && subnets.subnetIds.length < 2) {
      throw new Error(`\`multiAz\` needs \`vpcSubnets\` in at least 2 availability zones, got ${subnets.subnetIds.length} subnet(s)`);
    }

    this.engine = engineVersion.engine;
    this.engineVersion = engineVersion;
    this.clusterModeEnabled = clusterMode === ClusterMode.ENABLED;
    this.numShards = numShards;
    this.replicasPerShard = replicasPerShard;
    this.endpointPort = port;
    // Descriptions name the group without its (possibly generated) id: the key and the security
    // group exist before the group, which refers to them.
    const label = props.replicationGroupId ?? this.node.path;
    this.label = label;

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.SNAPSHOT;
    // Keys and logs outlive a SNAPSHOT/RETAIN deletion: the final snapshot is encrypted with the key.
    const supportingRemovalPolicy = removalPolicy === RemovalPolicy.DESTROY ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    if (props.encryptionKey) {
      this.encryptionKey = props.encryptionKey;
    } else {
      const key = new kms.Key(this, 'Key', {
        description: `Encrypts ElastiCache ${label}: data at rest, snapshots, AUTH token, logs`,
        enableKeyRotation: true,
        removalPolicy: supportingRemovalPolicy,
      });
      restrictKmsGrantsToAwsServices(key);
      this.encryptionKey = key;
    }
    allowLogsToUseKey(this, this.encryptionKey);

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `ElastiCache ${label}: port ${port} from granted functions only`,
      allowAllOutbound: false,
    });
    this.connections = new ec2.Connections({ securityGroups: [this.securityGroup], defaultPort: ec2.Port.tcp(port) });

    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'SubnetGroup', {
      description: `Subnets of ElastiCache ${label}`,
      subnetIds: subnets.subnetIds,
    });

    this.parameterGroup = new elasticache.CfnParameterGroup(this, 'ParameterGroup', {
      cacheParameterGroupFamily: engineVersion.parameterGroupFamily,
      description: `ElastiCache ${label}: ${props.maxMemoryPolicy ?? MaxMemoryPolicy.ALLKEYS_LRU}, cluster mode ${clusterMode}`,
      properties: {
        ...props.parameters,
        'maxmemory-policy': props.maxMemoryPolicy ?? MaxMemoryPolicy.ALLKEYS_LRU,
        'cluster-enabled': this.clusterModeEnabled ? 'yes' : 'no',
      },
    });

    const useRbac = props.userGroupIds !== undefined;
    let authToken: string | undefined;
    if (useRbac) {
      this.authSecret = props.rbacUserSecret;
    } else {
      if (props.authTokenSecret) {
        this.authSecret = props.authTokenSecret;
        authToken = props.authTokenSecret.secretValue.unsafeUnwrap();
      } else {
        const generated = new secretsmanager.Secret(this, 'AuthToken', {
          description: `AUTH token of ElastiCache ${label}`,
          encryptionKey: this.encryptionKey,
          removalPolicy: supportingRemovalPolicy,
          // JSON, so that a rotation can keep the previous token next to the current one. ElastiCache
          // accepts only printable characters other than / " @ and spaces in AUTH tokens: letters and
          // digits are always safe, and 64 of them carry 380 bits.
          generateSecretString: { secretStringTemplate: '{}', generateStringKey: 'current', passwordLength: 64, excludePunctuation: true, includeSpace: false },
        });
        Validations.of(generated).acknowledge({
          id: 'AwsSolutions-SMG4',
          reason:
            'An ElastiCache AUTH token is rotated with ModifyReplicationGroup (AuthTokenUpdateStrategy ROTATE, then SET) while clients accept both tokens; a Secrets Manager rotation schedule runs its steps back to back and cannot wait between them. SecretRotator (lib/api/secret-rotator.ts) rotates it on its own schedule.',
        });
        this.generatedAuthTokenSecret = generated;
        this.authSecret = generated;
        // Read when the replication group is created or replaced; the rotator keeps "current" what ElastiCache accepts.
        authToken = generated.secretValueFromJson('current').unsafeUnwrap();
      }
    }

    this.slowLogGroup = this.logGroup('SlowLog', 'slow-log', props.logRetention, supportingRemovalPolicy);
    this.engineLogGroup = this.logGroup('EngineLog', 'engine-log', props.logRetention, supportingRemovalPolicy);

    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'Resource', {
      replicationGroupId: props.replicationGroupId,
      replicationGroupDescription: props.description ?? `cache-pyramid cache ${label}`,
      engine: engineVersion.engine,
      engineVersion: engineVersion.version,
      cacheNodeType: props.nodeType ?? 'cache.t4g.small',
      port,
      clusterMode,
      ...(this.clusterModeEnabled
        ? { numNodeGroups: numShards, replicasPerNodeGroup: replicasPerShard }
        : { numCacheClusters: 1 + replicasPerShard }),
      // Cluster mode enabled requires automatic failover even without replicas (shards then fail over by replacement).
      automaticFailoverEnabled: multiAz || this.clusterModeEnabled,
      multiAzEnabled: multiAz,
      cacheParameterGroupName: this.parameterGroup.ref,
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [this.securityGroup.securityGroupId],
      atRestEncryptionEnabled: true,
      kmsKeyId: this.encryptionKey.keyArn,
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      authToken,
      userGroupIds: props.userGroupIds,
      autoMinorVersionUpgrade: true,
      snapshotRetentionLimit: props.snapshotRetentionDays ?? 1,
      snapshotWindow: props.snapshotWindow ?? '03:00-04:00',
      preferredMaintenanceWindow: props.maintenanceWindow ?? 'sun:05:00-sun:06:00',
      logDeliveryConfigurations: [
        logDelivery('slow-log', this.slowLogGroup),
        logDelivery('engine-log', this.engineLogGroup),
      ],
    });
    this.replicationGroup.applyRemovalPolicy(removalPolicy);
    this.replicationGroup.node.addDependency(this.slowLogGroup, this.engineLogGroup);
    if (this.clusterModeEnabled) {
      // Without it, a change of NumNodeGroups (adding or removing a shard) replaces the group.
      this.replicationGroup.cfnOptions.updatePolicy = { useOnlineResharding: true };
    }
    // A generated id is known once the group exists; member ids (the metric dimensions) follow from it.
    this.replicationGroupId = props.replicationGroupId ?? this.replicationGroup.ref;
    this.memberClusterIds = memberClusterIds(this.replicationGroupId, clusterMode, numShards, replicasPerShard);

    this.endpointAddress = this.clusterModeEnabled
      ? this.replicationGroup.attrConfigurationEndPointAddress
      : this.replicationGroup.attrPrimaryEndPointAddress;
    this.clientEnvironment = {
      CACHE_ENDPOINT: `${this.endpointAddress}:${port}`,
      CACHE_TLS: 'true',
      CACHE_CLUSTER_MODE: String(this.clusterModeEnabled),
      ...(this.authSecret ? { CACHE_AUTH_SECRET_ARN: this.authSecret.secretArn } : {}),
    };
  }

  /**
   * Lets `grantee` open connections to the cache port (an ingress rule from its security groups,
   * and the matching egress rule on theirs when they restrict egress) and read the AUTH secret.
   */
  public grantConnect(grantee: ec2.IConnectable & iam.IGrantable): void {
    this.connections.allowDefaultPortFrom(grantee, `Granted client of ElastiCache ${this.label}`);
    this.authSecret?.grantRead(grantee);
  }

  /**
   * `metricName` of every node: the per-node `statistic` (props.statistic, default Average),
   * combined with SUM for Sum/SampleCount statistics and MAX otherwise. Period 5 minutes.
   */
  public metric(metricName: string, props: cloudwatch.MetricOptions = {}): cloudwatch.IMetric {
    const statistic = props.statistic ?? 'Average';
    return aggregateNodes(this.memberClusterIds, metricName, statistic, aggregationFor(statistic), props);
  }

  /** Hit rate in percent over all nodes (see `hitRateOverNodes` for caches of more than 5 nodes). Period 5 minutes. */
  public metricCacheHitRate(props: cloudwatch.MetricOptions = {}): cloudwatch.IMetric {
    return hitRateOverNodes(this.memberClusterIds, props);
  }

  /** DatabaseMemoryUsagePercentage, per-node Maximum, MAX over nodes. Period 5 minutes. */
  public metricDatabaseMemoryUsagePercentage(props: cloudwatch.MetricOptions = {}): cloudwatch.IMetric {
    return aggregateNodes(this.memberClusterIds, 'DatabaseMemoryUsagePercentage', 'Maximum', NodeAggregation.MAX, props);
  }

  /** Evictions, per-node Sum over the period, MAX over nodes (the cache total beyond 10 nodes). Period 5 minutes. */
  public metricEvictions(props: cloudwatch.MetricOptions = {}): cloudwatch.IMetric {
    const aggregation = this.memberClusterIds.length > 10 ? NodeAggregation.SUM : NodeAggregation.MAX;
    return aggregateNodes(this.memberClusterIds, 'Evictions', 'Sum', aggregation, props);
  }

  /** EngineCPUUtilization (the engine's thread, the real limit of a Valkey/Redis node), per-node Average, MAX over nodes. Period 5 minutes. */
  public metricEngineCpuUtilization(props: cloudwatch.MetricOptions = {}): cloudwatch.IMetric {
    return aggregateNodes(this.memberClusterIds, 'EngineCPUUtilization', 'Average', NodeAggregation.MAX, props);
  }

  /** CurrConnections, per-node Average, SUM over nodes. Period 5 minutes. */
  public metricCurrConnections(props: cloudwatch.MetricOptions = {}): cloudwatch.IMetric {
    return aggregateNodes(this.memberClusterIds, 'CurrConnections', 'Average', NodeAggregation.SUM, props);
  }

  /**
   * ReplicationLag in seconds, per-node Maximum, MAX over nodes; only replicas publish it, so
   * whichever node is primary after a failover simply contributes nothing. Undefined without replicas.
   */
  public metricReplicationLag(props: cloudwatch.MetricOptions = {}): cloudwatch.IMetric | undefined {
    if (this.replicasPerShard === 0) return undefined;
    return aggregateNodes(this.memberClusterIds, 'ReplicationLag', 'Maximum', NodeAggregation.MAX, props);
  }

  /** One node's `metricName` (for per-node alarms and dashboards). */
  public metricForNode(memberClusterId: string, metricName: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    if (!this.memberClusterIds.includes(memberClusterId)) {
      throw new Error(`\`memberClusterId\` must be one of ${this.memberClusterIds.join(', ')}, got ${JSON.stringify(memberClusterId)}`);
    }
    return nodeMetric(memberClusterId, metricName, props.statistic ?? 'Average', props);
  }

  private logGroup(id: string, logType: string, retention: logs.RetentionDays | undefined, removalPolicy: RemovalPolicy): logs.LogGroup {
    return new logs.LogGroup(this, id, {
      logGroupName: vendedLogGroupName(this, 'elasticache', logType),
      retention: retention ?? logs.RetentionDays.ONE_YEAR,
      encryptionKey: this.encryptionKey,
      removalPolicy,
    });
  }
}

/**
 * The member cache-cluster ids ElastiCache gives the nodes of a new replication group: with cluster
 * mode disabled `<id>-001`, `<id>-002`, ... (primary first); with cluster mode enabled
 * `<id>-<shard>-<node>` with 4-digit shard (node group) ids `0001`... and 3-digit node numbers,
 * e.g. `<id>-0001-001`. Sources: the ElastiCache API reference, `NodeGroup.NodeGroupId` ("a
 * cluster mode disabled replication group contains only 1 node group ... 0001; cluster mode enabled
 * ... numbered 0001 to 0090"); hashicorp/terraform-provider-aws PR #17296, whose acceptance test
 * expects member `<name>-001` and notes that which member a later scale-in removes is not
 * deterministic. So the ids are exact for the topology CloudFormation creates; replicas added or
 * removed outside this construct can change them.
 */
export function memberClusterIds(replicationGroupId: string, clusterMode: ClusterMode, numShards: number, replicasPerShard: number): string[] {
  const nodes = Array.from({ length: 1 + replicasPerShard }, (_, i) => String(i + 1).padStart(3, '0'));
  if (clusterMode === ClusterMode.DISABLED) return nodes.map((node) => `${replicationGroupId}-${node}`);
  const shards = Array.from({ length: numShards }, (_, i) => String(i + 1).padStart(4, '0'));
  return shards.flatMap((shard) => nodes.map((node) => `${replicationGroupId}-${shard}-${node}`));
}

function logDelivery(logType: 'slow-log' | 'engine-log', group: logs.ILogGroup): elasticache.CfnReplicationGroup.LogDeliveryConfigurationRequestProperty {
  return {
    logType,
    logFormat: 'json',
    destinationType: 'cloudwatch-logs',
    destinationDetails: { cloudWatchLogsDetails: { logGroup: group.logGroupName } },
  };
}

function defaultSubnets(vpc: ec2.IVpc): ec2.SubnetSelection {
  return vpc.isolatedSubnets.length > 0 ? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } : { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
}

function validateProps(
  props: RedisCacheProps,
  resolved: { clusterMode: ClusterMode; numShards: number; replicasPerShard: number; multiAz: boolean },
): void {
  const id = props.replicationGroupId;
  if (id !== undefined && !Token.isUnresolved(id) && (id.length < 1 || id.length > 40 || !ID_PATTERN.test(id) || id.endsWith('-'))) {
    throw new Error(
      `\`replicationGroupId\` must be 1-40 lowercase letters, digits or hyphens, start with a letter, and contain no '--' and no trailing '-', got ${JSON.stringify(id)}`,
    );
  }
  checkInteger(undefined, 'numShards', props.numShards, 1, 500);
  checkInteger(undefined, 'replicasPerShard', props.replicasPerShard, 0, 5);
  checkInteger(undefined, 'port', props.port, 1024, 65535);
  checkInteger(undefined, 'snapshotRetentionDays', props.snapshotRetentionDays, 0, 35);
  if (resolved.clusterMode === ClusterMode.DISABLED && resolved.numShards !== 1) {
    throw new Error(`\`numShards\` must be 1 when \`clusterMode\` is DISABLED (one shard holds the whole keyspace), got ${resolved.numShards}; use ClusterMode.ENABLED to shard`);
  }
  if (props.multiAz === true && resolved.replicasPerShard === 0) {
    throw new Error('`multiAz` (automatic failover) needs `replicasPerShard` of at least 1: there is no replica to fail over to, got 0');
  }
  const nodes = resolved.numShards * (1 + resolved.replicasPerShard);
  if (nodes > 500) {
    throw new Error(`\`numShards\` × (1 + \`replicasPerShard\`) must be at most 500 nodes per replication group, got ${nodes}`);
  }
  if (props.nodeType !== undefined && !Token.isUnresolved(props.nodeType) && !/^cache\.[a-z0-9-]+\.[a-z0-9]+$/.test(props.nodeType)) {
    throw new Error(`\`nodeType\` must be an ElastiCache node type such as 'cache.r7g.large', got ${JSON.stringify(props.nodeType)}`);
  }
  if (props.userGroupIds !== undefined) {
    if (props.authTokenSecret) {
      throw new Error('`userGroupIds` and `authTokenSecret` are mutually exclusive: a replication group authenticates with RBAC user groups or with an AUTH token, not both');
    }
    if (props.userGroupIds.length === 0) {
      throw new Error('`userGroupIds` must name at least one user group, got an empty list');
    }
  } else if (props.rbacUserSecret) {
    throw new Error('`rbacUserSecret` needs `userGroupIds`: without RBAC user groups the cache authenticates with its AUTH token');
  }
  if (props.parameters) {
    const reserved = Object.keys(props.parameters).filter((name) => RESERVED_PARAMETERS.includes(name));
    if (reserved.length > 0) {
      throw new Error(`\`parameters\` must not set ${reserved.join(', ')}: use the \`maxMemoryPolicy\` and \`clusterMode\` props`);
    }
  }
  const snapshotWindow = props.snapshotWindow;
  if (snapshotWindow !== undefined && !Token.isUnresolved(snapshotWindow)) {
    const match = SNAPSHOT_WINDOW.exec(snapshotWindow);
    if (!match) throw new Error(`\`snapshotWindow\` must be UTC 'hh:mm-hh:mm', got ${JSON.stringify(snapshotWindow)}`);
    const start = Number(match[1]) * 60 + Number(match[2]);
    const end = Number(match[3]) * 60 + Number(match[4]);
    if ((end - start + 1440) % 1440 < 60) {
      throw new Error(`\`snapshotWindow\` must be at least 60 minutes long, got ${JSON.stringify(snapshotWindow)}`);
    }
  }
  const maintenanceWindow = props.maintenanceWindow;
  if (maintenanceWindow !== undefined && !Token.isUnresolved(maintenanceWindow) && !MAINTENANCE_WINDOW.test(maintenanceWindow)) {
    throw new Error(`\`maintenanceWindow\` must be UTC 'ddd:hh:mm-ddd:hh:mm' with ddd one of sun..sat, got ${JSON.stringify(maintenanceWindow)}`);
  }
}
