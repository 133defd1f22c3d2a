import { RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { restrictKmsGrantsToAwsServices } from '../validation/kms-grants-for-aws-services-only';
import { CacheEngine, ICacheCluster } from './cache-cluster';
import { CacheEngineVersion } from './cache-engine-version';
import { DEFAULT_METRIC_PERIOD, ELASTICACHE_NAMESPACE } from './cache-metrics';
import { checkInteger } from '../validation/check-integer';
import { checkVpc } from '../validation/check-props';

/** Props for {@link ServerlessRedisCache}. */
export interface ServerlessRedisCacheProps {
  /** The VPC of the cache. */
  readonly vpc: ec2.IVpc;
  /** Subnets of the cache's endpoints, in 2 or 3 availability zones. @default - the VPC's private isolated subnets, else its private subnets with egress */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Name of the serverless cache (also the `clusterId` metric dimension): 1-40 lowercase letters, digits, hyphens, starting with a letter, no `--`, no trailing `-`. */
  readonly cacheName: string;
  /** Description. @default - 'cache-pyramid serverless cache <cacheName>' */
  readonly description?: string;
  /** Engine; serverless caches take the major version and follow its minor releases. @default CacheEngineVersion.VALKEY_8_1 */
  readonly engineVersion?: CacheEngineVersion;
  /** Most data the cache may hold, in GB (1-5000): a cost ceiling; beyond it the cache evicts. @default 10 */
  readonly maxDataStorageGb?: number;
  /** Most ElastiCache Processing Units per second (1000-15000000): a cost ceiling; beyond it requests are throttled. @default 100000 */
  readonly maxEcpuPerSecond?: number;
  /** Key for encryption at rest, snapshots and the user password. @default - a new key with rotation */
  readonly encryptionKey?: kms.IKey;
  /** Existing RBAC user group; excludes the generated one. @default - a user group whose only enabled user's password is generated in Secrets Manager */
  readonly userGroupId?: string;
  /** With `userGroupId`: the secret (`{"username","password"}`) the functions connect with. @default - none, functions get no CACHE_AUTH_SECRET_ARN */
  readonly rbacUserSecret?: secretsmanager.ISecret;
  /** ACL access string of the generated user. @default 'on ~* +@all -keys -flushall -flushdb' (KEYS and flushes are never needed by the pyramid) */
  readonly accessString?: string;
  /** Days daily snapshots are kept, 0 (off) to 35. @default 1 */
  readonly snapshotRetentionDays?: number;
  /** UTC time of the daily snapshot, `hh:mm`. @default '03:00' */
  readonly dailySnapshotTime?: string;
  /** What deleting the stack does to the cache; SNAPSHOT keeps a final snapshot, and the key and secret. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** Serverless Valkey/Redis OSS listen on 6379 (primary endpoint) and 6380 (reader endpoint). */
const SERVERLESS_PORT = 6379;
const SERVERLESS_READER_PORT = 6380;
const NAME_PATTERN = /^[a-z](?:[a-z0-9]|-(?!-))*$/;
const BYTES_PER_GB = 1024 ** 3;

/**
 * An ElastiCache Serverless Valkey / Redis OSS cache behind the same {@link ICacheCluster}
 * contract as {@link RedisCache}: TLS (always on for serverless), encryption at rest with a KMS
 * key, RBAC (the only access control serverless caches have) with a generated password in Secrets
 * Manager, usage limits as cost ceilings, private subnets and its own security group.
 *
 * Metrics use the `clusterId` dimension (the cache name) that serverless caches publish under.
 */
export class ServerlessRedisCache extends Construct implements ICacheCluster {
  public readonly engine: CacheEngine;
  public readonly endpointAddress: string;
  public readonly endpointPort = SERVERLESS_PORT;
  public readonly clusterModeEnabled = true;
  public readonly authSecret?: secretsmanager.ISecret;
  public readonly memberClusterIds: string[] = [];
  public readonly clientEnvironment: Record<string, string>;
  public readonly connections: ec2.Connections;
  /** The serverless cache. */
  public readonly serverlessCache: elasticache.CfnServerlessCache;
  /** The cache name. */
  public readonly cacheName: string;
  /** Security group of the endpoints: no ingress until `grantConnect`, no egress. */
  public readonly securityGroup: ec2.SecurityGroup;
  /** Key encrypting data at rest, snapshots and the generated password. */
  public readonly encryptionKey: kms.IKey;
  /** The RBAC user group the cache uses. */
  public readonly userGroupId: string;
  /** The data storage ceiling in GB. */
  public readonly maxDataStorageGb: number;
  /** The ECPU per second ceiling. */
  public readonly maxEcpuPerSecond: number;

  constructor(scope: Construct, id: string, props: ServerlessRedisCacheProps) {
    super(scope, id);
    validateProps(props);
    const engineVersion = props.engineVersion ?? CacheEngineVersion.VALKEY_8_1;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    // A key or secret cannot be snapshotted: with SNAPSHOT (a final snapshot of the cache) they are
    // retained, since that snapshot is encrypted with the key.
    const supportingRemovalPolicy = removalPolicy === RemovalPolicy.DESTROY ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const subnets = props.vpc.selectSubnets(props.vpcSubnets ?? defaultSubnets(props.vpc));
    if (!Token.isUnresolved(subnets.subnetIds) && (subnets.subnetIds.length < 2 || subnets.subnetIds.length > 3)) {
      throw new Error(`\`vpcSubnets\` must select 2 or 3 subnets (one per availability zone) for a serverless cache, got ${subnets.subnetIds.length}`);
    }

    this.engine = engineVersion.engine;
    this.cacheName = props.cacheName;
    this.maxDataStorageGb = props.maxDataStorageGb ?? 10;
    this.maxEcpuPerSecond = props.maxEcpuPerSecond ?? 100_000;

    if (props.encryptionKey) {
      this.encryptionKey = props.encryptionKey;
    } else {
      const key = new kms.Key(this, 'Key', {
        description: `Encrypts ElastiCache Serverless ${props.cacheName}: data at rest, snapshots, user password`,
        enableKeyRotation: true,
        removalPolicy: supportingRemovalPolicy,
      });
      restrictKmsGrantsToAwsServices(key);
      this.encryptionKey = key;
    }

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `ElastiCache Serverless ${props.cacheName}: ports ${SERVERLESS_PORT}-${SERVERLESS_READER_PORT} from granted functions only`,
      allowAllOutbound: false,
    });
    this.connections = new ec2.Connections({
      securityGroups: [this.securityGroup],
      defaultPort: ec2.Port.tcpRange(SERVERLESS_PORT, SERVERLESS_READER_PORT),
    });

    let generatedGroup: elasticache.CfnUserGroup | undefined;
    if (props.userGroupId !== undefined) {
      this.userGroupId = props.userGroupId;
      this.authSecret = props.rbacUserSecret;
    } else {
      const generated = this.generatedUserGroup(props, supportingRemovalPolicy);
      generatedGroup = generated.userGroup;
      this.userGroupId = generated.userGroup.userGroupId;
      this.authSecret = generated.secret;
    }

    this.serverlessCache = new elasticache.CfnServerlessCache(this, 'Resource', {
      serverlessCacheName: props.cacheName,
      description: props.description ?? `cache-pyramid serverless cache ${props.cacheName}`,
      engine: engineVersion.engine,
      majorEngineVersion: engineVersion.majorVersion,
      cacheUsageLimits: {
        dataStorage: { maximum: this.maxDataStorageGb, unit: 'GB' },
        ecpuPerSecond: { maximum: this.maxEcpuPerSecond },
      },
      kmsKeyId: this.encryptionKey.keyArn,
      securityGroupIds: [this.securityGroup.securityGroupId],
      subnetIds: subnets.subnetIds,
      userGroupId: this.userGroupId,
      snapshotRetentionLimit: props.snapshotRetentionDays ?? 1,
      dailySnapshotTime: props.dailySnapshotTime ?? '03:00',
    });
    this.serverlessCache.applyRemovalPolicy(removalPolicy);
    // The group is named by a literal id, not a reference, so CloudFormation needs the order spelled out.
    if (generatedGroup) this.serverlessCache.addResourceDependency(generatedGroup);

    this.endpointAddress = this.serverlessCache.attrEndpointAddress;
    this.clientEnvironment = {
      CACHE_ENDPOINT: `${this.endpointAddress}:${SERVERLESS_PORT}`,
      CACHE_TLS: 'true',
      CACHE_CLUSTER_MODE: 'true',
      ...(this.authSecret ? { CACHE_AUTH_SECRET_ARN: this.authSecret.secretArn } : {}),
    };
  }

  /** Lets `grantee` reach ports 6379-6380 and read the user's secret. */
  public grantConnect(grantee: ec2.IConnectable & iam.IGrantable): void {
    this.connections.allowDefaultPortFrom(grantee, `Granted client of ElastiCache Serverless ${this.cacheName}`);
    this.authSecret?.grantRead(grantee);
  }

  /** Any `AWS/ElastiCache` metric of this cache (dimension `clusterId`), statistic default Average, period 5 minutes. */
  public metric(metricName: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: ELASTICACHE_NAMESPACE,
      metricName,
      dimensionsMap: { clusterId: this.cacheName },
      ...props,
      statistic: props.statistic ?? 'Average',
      period: props.period ?? DEFAULT_METRIC_PERIOD,
    });
  }

  /** Hit rate in percent: 100 * CacheHits / (CacheHits + CacheMisses), both Sum. Period 5 minutes. */
  public metricCacheHitRate(props: cloudwatch.MetricOptions = {}): cloudwatch.IMetric {
    const period = props.period ?? DEFAULT_METRIC_PERIOD;
    return new cloudwatch.MathExpression({
      expression: '100 * hits / (hits + misses)',
      usingMetrics: {
        hits: this.metric('CacheHits', { ...props, statistic: 'Sum', period }),
        misses: this.metric('CacheMisses', { ...props, statistic: 'Sum', period }),
      },
      period,
      label: props.label ?? 'Cache hit rate %',
      color: props.color,
    });
  }

  /** BytesUsedForCache (Maximum) as a percent of `maxDataStorageGb`. Period 5 minutes. */
  public metricDatabaseMemoryUsagePercentage(props: cloudwatch.MetricOptions = {}): cloudwatch.IMetric {
    const period = props.period ?? DEFAULT_METRIC_PERIOD;
    return new cloudwatch.MathExpression({
      expression: `100 * bytes / ${this.maxDataStorageGb * BYTES_PER_GB}`,
      usingMetrics: { bytes: this.metric('BytesUsedForCache', { ...props, statistic: 'Maximum', period }) },
      period,
      label: props.label ?? `Data stored, % of ${this.maxDataStorageGb} GB limit`,
      color: props.color,
    });
  }

  /** Evictions, Sum. Period 5 minutes. */
  public metricEvictions(props: cloudwatch.MetricOptions = {}): cloudwatch.IMetric {
    return this.metric('Evictions', { ...props, statistic: 'Sum' });
  }

  /** ElastiCacheProcessingUnits consumed as a percent of `maxEcpuPerSecond` over the period (5 minutes). */
  public metricEngineCpuUtilization(props: cloudwatch.MetricOptions = {}): cloudwatch.IMetric {
    const period = props.period ?? DEFAULT_METRIC_PERIOD;
    return new cloudwatch.MathExpression({
      expression: `100 * ecpu / (${this.maxEcpuPerSecond} * PERIOD(ecpu))`,
      usingMetrics: { ecpu: this.metric('ElastiCacheProcessingUnits', { ...props, statistic: 'Sum', period }) },
      period,
      label: props.label ?? `ECPUs, % of ${this.maxEcpuPerSecond}/s limit`,
      color: props.color,
    });
  }

  /** CurrConnections, Average. Period 5 minutes. */
  public metricCurrConnections(props: cloudwatch.MetricOptions = {}): cloudwatch.IMetric {
    return this.metric('CurrConnections', { ...props, statistic: props.statistic ?? 'Average' });
  }

  /** Serverless caches replicate internally and publish no ReplicationLag. */
  public metricReplicationLag(): undefined {
    return undefined;
  }

  /** ThrottledCmds, Sum: requests refused because the ECPU limit (or scaling speed) was hit. Period 5 minutes. */
  public metricThrottledCommands(props: cloudwatch.MetricOptions = {}): cloudwatch.IMetric {
    return this.metric('ThrottledCmds', { ...props, statistic: 'Sum' });
  }

  private generatedUserGroup(props: ServerlessRedisCacheProps, removalPolicy: RemovalPolicy): { secret: secretsmanager.Secret; userGroup: elasticache.CfnUserGroup } {
    // User and group ids are account-wide and at most 40 characters.
    const prefix = props.cacheName.slice(0, 30).replace(/-+$/, '');
    const secret = new secretsmanager.Secret(this, 'UserSecret', {
      description: `RBAC user of ElastiCache Serverless ${props.cacheName}`,
      encryptionKey: this.encryptionKey,
      removalPolicy,
      // RBAC passwords are 16-128 printable characters without / " @ or spaces: letters and digits only.
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username: 'app' }),
        generateStringKey: 'password',
        passwordLength: 64,
        excludePunctuation: true,
        includeSpace: false,
      },
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'An ElastiCache RBAC password changes through ModifyUser (a user may hold two passwords during the switch); Secrets Manager has no rotation function for that, and rotating only the secret would lock every client out. Rotate by updating the secret and redeploying.',
    });
    // A "redis" engine user group (usable by Valkey and Redis OSS caches) must contain a user named
    // "default"; this one is switched off so that only the app user can authenticate.
    const defaultUser = new elasticache.CfnUser(this, 'DefaultUser', {
      engine: 'redis',
      userId: `${prefix}-default`,
      userName: 'default',
      accessString: 'off -@all',
      noPasswordRequired: true,
    });
    const appUser = new elasticache.CfnUser(this, 'AppUser', {
      engine: 'redis',
      userId: `${prefix}-app`,
      userName: 'app',
      accessString: props.accessString ?? 'on ~* +@all -keys -flushall -flushdb',
      authenticationMode: { Type: 'password', Passwords: [secret.secretValueFromJson('password').unsafeUnwrap()] },
    });
    const userGroup = new elasticache.CfnUserGroup(this, 'UserGroup', {
      engine: 'redis',
      userGroupId: `${prefix}-users`,
      userIds: [defaultUser.userId, appUser.userId],
    });
    userGroup.addResourceDependency(defaultUser);
    userGroup.addResourceDependency(appUser);
    return { secret, userGroup };
  }
}

function defaultSubnets(vpc: ec2.IVpc): ec2.SubnetSelection {
  return vpc.isolatedSubnets.length > 0 ? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } : { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
}

function validateProps(props: ServerlessRedisCacheProps): void {
  checkVpc('ServerlessRedisCache', 'vpc', props.vpc);
  const name = props.cacheName;
  if (!Token.isUnresolved(name) && (name.length < 1 || name.length > 40 || !NAME_PATTERN.test(name) || name.endsWith('-'))) {
    throw new Error(`\`cacheName\` must be 1-40 lowercase letters, digits or hyphens, start with a letter, and contain no '--' and no trailing '-', got ${JSON.stringify(name)}`);
  }
  checkInteger(undefined, 'maxDataStorageGb', props.maxDataStorageGb, 1, 5000);
  checkInteger(undefined, 'maxEcpuPerSecond', props.maxEcpuPerSecond, 1000, 15_000_000);
  checkInteger(undefined, 'snapshotRetentionDays', props.snapshotRetentionDays, 0, 35);
  if (props.rbacUserSecret && props.userGroupId === undefined) {
    throw new Error('`rbacUserSecret` needs `userGroupId`: without one the construct generates the user and its secret');
  }
  if (props.accessString !== undefined && props.userGroupId !== undefined) {
    throw new Error('`accessString` and `userGroupId` are mutually exclusive: the access string applies to the generated user only');
  }
  const time = props.dailySnapshotTime;
  if (time !== undefined && !Token.isUnresolved(time) && !/^([01]\d|2[0-3]):[0-5]\d$/.test(time)) {
    throw new Error(`\`dailySnapshotTime\` must be UTC 'hh:mm', got ${JSON.stringify(time)}`);
  }
}
