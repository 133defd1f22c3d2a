import * as path from 'node:path';
import { Aspects, CfnOutput, RemovalPolicy, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as route53Targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import { SHOP_RESOURCES } from '../lambda/shop/resources';
import { CachePyramidFunction } from './api/api-function';
import { ApiUserPool } from './api/api-user-pool';
import { CacheApi, defaultApiRoutes } from './api/cache-api';
import { SecretRotator } from './api/secret-rotator';
import { ICacheCluster } from './cache/cache-cluster';
import { ClusterMode, RedisCache } from './cache/redis-cache';
import { ServerlessRedisCache } from './cache/serverless-redis-cache';
import { EdgeDistribution } from './cdn/edge-distribution';
import { DatabaseStage, OriginDatabase } from './database/origin-database';
import { InvalidationPipeline } from './invalidation/invalidation-pipeline';
import { CachePyramidMonitoring } from './monitoring/cache-pyramid-monitoring';
import { CachePyramidNetwork } from './network/cache-pyramid-network';
import { StageCacheKind, StageConfig } from './stages';
import { KmsGrantsForAwsServicesOnly } from './validation/kms-grants-for-aws-services-only';

/** Construct id of a node-based cache: `Cache`, the id every node-based stage had, so upgrading keeps its logical ids. */
export const NODE_BASED_CACHE_ID = 'Cache';
/** Construct id of a serverless cache: not `Cache`, where the logical id would change type on a switch of kind. */
export const SERVERLESS_CACHE_ID = 'ServerlessCache';

/**
 * Name of a stage's serverless cache (CloudFormation requires one). It differs from the
 * `cache-pyramid-<stage>` of earlier versions, whose serverless cache had another logical id: the
 * new cache is created before the old one is deleted, so the two names must not be the same.
 */
export function serverlessCacheName(stageName: string): string {
  return `cache-pyramid-sls-${stageName}`;
}

/** The project root, against which `staticAssetsPath` of a stage is resolved. */

/** Props for {@link CachePyramidStack}. */
export interface CachePyramidStackProps extends StackProps {
  /** The stage: sizes, TTLs, identity provider, domain (see `lib/stages.ts`). */
  readonly stage: StageConfig;
  /** Viewer certificate in us-east-1 for `stage.domain` (from {@link EdgeSecurityStack}). @default - imported from `stage.domain.certificateArn`, or none */
  readonly certificate?: acm.ICertificate;
  /** WAFv2 web ACL (CLOUDFRONT scope) for the distribution. @default - `stage.webAclArn`, or none */
  readonly webAclArn?: string;
}

/**
 * The reference stack: every layer of the caching pyramid for one stage, composed from this
 * package's constructs. CloudFront (edge) → HTTP API and functions (application cache, L1 + Redis)
 * → ElastiCache → Aurora PostgreSQL, in a VPC without internet egress.
 *
 * Add constructs (monitoring, invalidation) after the layers below; they are public for that.
 */
export class CachePyramidStack extends Stack {
  readonly stage: StageConfig;
  readonly network: CachePyramidNetwork;
  readonly cache: ICacheCluster;
  readonly database: OriginDatabase;
  readonly api: CacheApi;
  /** The Cognito user pool issuing the API's tokens, when the stage names no identity provider (`auth`). */
  readonly userPool?: ApiUserPool;
  /** The API function (cache-aside reads over ElastiCache and PostgreSQL). */
  readonly apiFunction: CachePyramidFunction;
  readonly edge: EdgeDistribution;
  /** App events → Redis and CloudFront purgers; the API publishes to its bus. */
  readonly invalidation: InvalidationPipeline;
  /** Rotates the x-origin-verify value and (node-based caches) the AUTH token without refusing a request. */
  readonly secretRotator: SecretRotator;
  /** Alarms on every layer (the seed's cache rules first), their topic, and the dashboard. */
  readonly monitoring: CachePyramidMonitoring;

  constructor(scope: Construct, id: string, props: CachePyramidStackProps) {
    super(scope, id, {
      crossRegionReferences: true,
      description: `cache-pyramid ${props.stage.name}: CloudFront, HTTP API + Lambda, ElastiCache, Aurora PostgreSQL`,
      ...props,
    });
    const stage = props.stage;
    this.stage = stage;
    const removalPolicy = stage.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.network = new CachePyramidNetwork(this, 'Network', { removalPolicy });
    const vpc = this.network.vpc;
    const vpcSubnets = this.network.subnetSelection;

    this.cache = this.createCache(stage, removalPolicy);
    this.database = new OriginDatabase(this, 'Database', {
      vpc,
      vpcSubnets,
      stage: stage.retainData ? DatabaseStage.PROD : DatabaseStage.DEV,
      minCapacityAcu: stage.database.minCapacityAcu,
      maxCapacityAcu: stage.database.maxCapacityAcu,
      readers: stage.database.readers,
    });

    // Without an identity provider of its own, a stage gets a user pool, so its JWT routes work
    // from the first deploy (a placeholder issuer would answer 401 to all of them).
    const routes = defaultApiRoutes();
    if (stage.auth === undefined) {
      this.userPool = new ApiUserPool(this, 'Auth', { scopes: routes.flatMap((route) => route.scopes ?? []), removalPolicy });
    }
    this.api = new CacheApi(this, 'Api', {
      vpc,
      vpcSubnets,
      cache: this.cache,
      database: this.database,
      routes,
      jwtIssuer: stage.auth?.issuer ?? this.userPool!.issuer,
      jwtAudience: stage.auth?.audience ?? this.userPool!.audience,
      cacheTtlSeconds: Object.keys(stage.ttlSeconds).length > 0 ? stage.ttlSeconds : undefined,
      flusherMaxConcurrency: stage.api.flusherMaxConcurrency,
      flusherReservedConcurrency: stage.api.flusherReservedConcurrency,
      throttlingRateLimitPerSecond: stage.api.throttlingRateLimitPerSecond,
      throttlingBurstLimit: stage.api.throttlingBurstLimit,
      removalPolicy,
    });
    this.apiFunction = this.api.apiFunction;

    const certificate =
      props.certificate ??
      (stage.domain?.certificateArn === undefined ? undefined : acm.Certificate.fromCertificateArn(this, 'Certificate', stage.domain.certificateArn));
    this.edge = new EdgeDistribution(this, 'Edge', {
      apiDomainName: this.api.apiDomainName,
      originVerifySecret: this.api.originVerifySecret,
      resources: SHOP_RESOURCES,
      originShieldRegion: stage.region,
      domainNames: stage.domain?.names,
      certificate,
      webAclArn: props.webAclArn ?? stage.webAclArn,
      priceClass: stage.priceClass,
      sourceAssetsPath: stage.staticAssetsPath === undefined ? undefined : path.resolve(stage.staticAssetsPath),
      removalPolicy,
      autoDeleteObjects: !stage.retainData,
    });
    if (stage.domain?.hostedZoneId !== undefined && stage.domain.hostedZoneName !== undefined) {
      this.addAliasRecords(stage.domain.names, { hostedZoneId: stage.domain.hostedZoneId, zoneName: stage.domain.hostedZoneName });
    }

    this.invalidation = new InvalidationPipeline(this, 'Invalidation', {
      cache: this.cache,
      vpc,
      vpcSubnets,
      distribution: this.edge.distribution,
      redisPurger: stage.invalidation.redisPurgerMaxConcurrency === undefined ? undefined : { maxConcurrency: stage.invalidation.redisPurgerMaxConcurrency },
      cdnPurger: stage.invalidation.cdnPurgerMaxConcurrency === undefined ? undefined : { maxConcurrency: stage.invalidation.cdnPurgerMaxConcurrency },
    });
    this.invalidation.grantPublish(this.api.apiFunction);

    // A serverless cache authenticates with RBAC user passwords, which this rotator does not rotate.
    const rotatableCache = this.cache instanceof RedisCache && this.cache.generatedAuthTokenSecret !== undefined ? this.cache : undefined;
    this.secretRotator = new SecretRotator(this, 'SecretRotator', {
      originVerify: { secret: this.api.originVerifySecret, distribution: this.edge.distribution },
      cacheAuth: rotatableCache && { secret: rotatableCache.generatedAuthTokenSecret!, replicationGroupId: rotatableCache.replicationGroup.ref },
    });

    // Last, so that it can watch every part above; the CloudFront alarms are in EdgeMonitoringStack.
    this.monitoring = new CachePyramidMonitoring(this, 'Monitoring', {
      alarmSubscribers: stage.alarmSubscribers,
      cache: this.cache,
      serviceName: 'api',
      functions: [
        { name: 'api', function: this.api.apiFunction },
        { name: 'flusher', function: this.api.flusherFunction },
        { name: 'redis-purger', function: this.invalidation.redisPurger },
        { name: 'cdn-purger', function: this.invalidation.cdnPurger },
        { name: 'secret-rotator', function: this.secretRotator.rotatorFunction },
      ],
      queues: [
        { name: 'write-behind', queue: this.api.writeBehindQueue, deadLetterQueue: this.api.writeBehindDlq, consumerDescription: 'the write-behind flusher' },
        { name: 'redis-purge', queue: this.invalidation.redisPurgeQueue, deadLetterQueue: this.invalidation.redisPurgeDeadLetterQueue, consumerDescription: 'the Redis purger' },
        { name: 'cdn-purge', queue: this.invalidation.cdnPurgeQueue, deadLetterQueue: this.invalidation.cdnPurgeDeadLetterQueue, consumerDescription: 'the CloudFront purger' },
      ],
      database:
        this.database.cluster === undefined ? undefined : { clusterIdentifier: this.database.cluster.clusterIdentifier, maxCapacityAcu: stage.database.maxCapacityAcu },
      distributionId: this.edge.distribution.distributionId,
    });

    Aspects.of(this).add(new KmsGrantsForAwsServicesOnly());
    this.addOutputs();
  }

  private createCache(stage: StageConfig, removalPolicy: RemovalPolicy): ICacheCluster {
    const vpc = this.network.vpc;
    const vpcSubnets = this.network.subnetSelection;
    if (stage.cache.kind === StageCacheKind.SERVERLESS) {
      // Its own construct id: switching a stage between the two kinds creates the new cache next to
      // the old one (a logical id never changes type), moves the functions, then deletes the old.
      return new ServerlessRedisCache(this, SERVERLESS_CACHE_ID, {
        vpc,
        vpcSubnets,
        cacheName: serverlessCacheName(stage.name),
        maxDataStorageGb: stage.cache.maxDataStorageGb,
        maxEcpuPerSecond: stage.cache.maxEcpuPerSecond,
        // CloudFormation takes no Snapshot deletion policy for a serverless cache: a stage that keeps
        // its data keeps the cache itself.
        removalPolicy,
      });
    }
    // No replicationGroupId: CloudFormation names the group, so the changes it applies by replacement
    // (replicas per shard in cluster mode, cluster mode on or off) deploy instead of rolling back.
    const cache = new RedisCache(this, NODE_BASED_CACHE_ID, {
      vpc,
      vpcSubnets,
      nodeType: stage.cache.nodeType,
      clusterMode: stage.cache.clusterMode ? ClusterMode.ENABLED : ClusterMode.DISABLED,
      numShards: stage.cache.shards,
      replicasPerShard: stage.cache.replicasPerShard,
      removalPolicy: stage.retainData ? RemovalPolicy.SNAPSHOT : removalPolicy,
    });
    if (stage.cache.replicasPerShard === 0) {
      Validations.of(cache).acknowledge({
        id: 'AwsSolutions-AEC4',
        reason: `Stage ${stage.name} runs its cache without replicas to keep its cost down; the cache is an optimisation (reads fall back to PostgreSQL when it is down). Stages with replicasPerShard ≥ 1 get Multi-AZ with automatic failover.`,
      });
    }
    return cache;
  }

  private addAliasRecords(names: string[], zone: route53.HostedZoneAttributes): void {
    const hostedZone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', zone);
    const target = route53.RecordTarget.fromAlias(new route53Targets.CloudFrontTarget(this.edge.distribution));
    names.forEach((name, i) => {
      new route53.ARecord(this, `AliasA${i}`, { zone: hostedZone, recordName: name, target });
      new route53.AaaaRecord(this, `AliasAaaa${i}`, { zone: hostedZone, recordName: name, target });
    });
  }

  private addOutputs(): void {
    const distribution = this.edge.distribution;
    new CfnOutput(this, 'DistributionDomainName', { value: distribution.distributionDomainName, description: 'CloudFront host name' });
    new CfnOutput(this, 'DistributionId', { value: distribution.distributionId, description: 'CloudFront distribution id (invalidations, metrics)' });
    new CfnOutput(this, 'SiteUrl', {
      value: `https://${this.stage.domain?.names[0] ?? distribution.distributionDomainName}`,
      description: 'Where viewers reach assets and the API (/api/*)',
    });
    new CfnOutput(this, 'ApiUrl', { value: this.api.httpApi.apiEndpoint, description: 'HTTP API endpoint; it answers only requests that come through CloudFront' });
    new CfnOutput(this, 'CacheEndpoint', { value: `${this.cache.endpointAddress}:${this.cache.endpointPort}`, description: 'ElastiCache primary/configuration endpoint' });
    new CfnOutput(this, 'DatabaseEndpoint', { value: `${this.database.endpointAddress}:${this.database.port}`, description: 'Aurora PostgreSQL writer endpoint' });
    if (this.cache instanceof RedisCache) {
      new CfnOutput(this, 'ReplicationGroupId', { value: this.cache.replicationGroupId, description: 'ElastiCache replication group' });
    } else if (this.cache instanceof ServerlessRedisCache) {
      new CfnOutput(this, 'ServerlessCacheName', { value: this.cache.cacheName, description: 'ElastiCache serverless cache' });
    }
    new CfnOutput(this, 'AlarmPrefix', { value: this.monitoring.alarmNamePrefix, description: 'Every alarm of the pyramid is named <AlarmPrefix>-<suffix>' });
    if (this.userPool !== undefined) {
      new CfnOutput(this, 'UserPoolId', { value: this.userPool.userPool.userPoolId, description: 'Cognito user pool issuing the API tokens (npm run token -- --stack …)' });
      new CfnOutput(this, 'UserPoolClientId', { value: this.userPool.userPoolClient.userPoolClientId, description: 'App client of the API tokens (their client_id)' });
    }
    new CfnOutput(this, 'EventBusName', { value: this.invalidation.bus.eventBusName, description: 'EventBridge bus of CacheInvalidation events (cache-pyramid invalidate)' });
  }
}
