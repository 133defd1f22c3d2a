import * as path from 'node:path';
import { RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import {
  ApiUserPool,
  CachePyramidMonitoring,
  CachePyramidNetwork,
  DatabaseStage,
  EdgeDistribution,
  InvalidationPipeline,
  OriginDatabase,
  RedisCache,
  ResourceApi,
} from 'cache-pyramid';
import { Construct } from 'constructs';
import { ARTICLE_RESOURCES, POST_COMMENT_ROUTE } from './resources';

/** Props for {@link ArticlesStack}. */
export interface ArticlesStackProps extends StackProps {
  /** Issuer of the readers' and authors' JWTs (an https URL serving OpenID discovery). @default - a Cognito user pool of this stack (ApiUserPool) */
  readonly jwtIssuer?: string;
  /** Accepted audiences of those JWTs. @default - the user pool's app client (with no `jwtIssuer`); required with one */
  readonly jwtAudience?: string[];
}

/**
 * The articles app on the pyramid, composed from the package's constructs: the resource
 * declarations drive the API routes (ResourceApi) and the CloudFront behaviours (EdgeDistribution);
 * the handler is this folder's `handler.ts`.
 */
export class ArticlesStack extends Stack {
  readonly api: ResourceApi;
  readonly edge: EdgeDistribution;
  /** The identity provider created when no `jwtIssuer` is given. */
  readonly userPool?: ApiUserPool;

  constructor(scope: Construct, id: string, props: ArticlesStackProps) {
    super(scope, id, props);
    if ((props.jwtIssuer === undefined) !== (props.jwtAudience === undefined)) {
      throw new Error('ArticlesStack: `jwtIssuer` and `jwtAudience` go together: give both, or neither for a Cognito user pool');
    }
    const removalPolicy = RemovalPolicy.DESTROY;
    // Without an identity provider of your own, a user pool makes the JWT routes usable at once.
    if (props.jwtIssuer === undefined) this.userPool = new ApiUserPool(this, 'Auth', { removalPolicy });
    const network = new CachePyramidNetwork(this, 'Network', { removalPolicy });
    const cache = new RedisCache(this, 'Cache', { vpc: network.vpc, replicationGroupId: 'articles', replicasPerShard: 1, removalPolicy });
    const database = new OriginDatabase(this, 'Database', { vpc: network.vpc, stage: DatabaseStage.DEV });

    this.api = new ResourceApi(this, 'Api', {
      entry: path.join(__dirname, 'handler.ts'),
      resources: ARTICLE_RESOURCES,
      routes: [{ routeKey: POST_COMMENT_ROUTE }],
      vpc: network.vpc,
      cache,
      database,
      jwtIssuer: props.jwtIssuer ?? this.userPool!.issuer,
      jwtAudience: props.jwtAudience ?? this.userPool!.audience,
      removalPolicy,
    });
    this.edge = new EdgeDistribution(this, 'Edge', {
      apiDomainName: this.api.apiDomainName,
      originVerifySecret: this.api.originVerifySecret,
      resources: ARTICLE_RESOURCES,
      removalPolicy,
      autoDeleteObjects: true,
    });
    // A new comment's CDN paths (from its tag) reach CloudFront through the pipeline's purger.
    const invalidation = new InvalidationPipeline(this, 'Invalidation', { cache, vpc: network.vpc, distribution: this.edge.distribution });
    invalidation.grantPublish(this.api.handlerFunction);

    new CachePyramidMonitoring(this, 'Monitoring', {
      cache,
      functions: [
        { name: 'articles', function: this.api.handlerFunction },
        { name: 'redis-purger', function: invalidation.redisPurger },
        { name: 'cdn-purger', function: invalidation.cdnPurger },
      ],
      queues: [
        { name: 'redis-purge', queue: invalidation.redisPurgeQueue, deadLetterQueue: invalidation.redisPurgeDeadLetterQueue, consumerDescription: 'the Redis purger' },
        { name: 'cdn-purge', queue: invalidation.cdnPurgeQueue, deadLetterQueue: invalidation.cdnPurgeDeadLetterQueue, consumerDescription: 'the CloudFront purger' },
      ],
      distributionId: this.edge.distribution.distributionId,
    });
  }
}
