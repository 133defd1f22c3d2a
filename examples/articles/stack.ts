import * as path from 'node:path';
import { RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import {
  ApiUserPool,
  CachePyramidMonitoring,
  CachePyramidNetwork,
  DatabaseStage,
  EdgeDistribution,
  InvalidationPipeline,
  L1Bus,
  OriginDatabase,
  RedisCache,
  ResourceApi,
} from 'cache-pyramid';
import { Construct } from 'constructs';
import { ARTICLE_RESOURCES, POST_COMMENT_ROUTE } from './resources';

/** The app's SQL migrations (`NNN_name.sql`), applied at deploy time by {@link OriginDatabase} and by the tests. */
export const ARTICLES_MIGRATIONS_DIR = path.join(__dirname, 'migrations');

/** Props for {@link ArticlesStack}. */
export interface ArticlesStackProps extends StackProps {
  /** Issuer of the readers' and authors' JWTs (an https URL serving OpenID discovery). @default - a Cognito user pool of this stack (ApiUserPool) */
  readonly jwtIssuer?: string;
  /** Accepted audiences of those JWTs. @default - the user pool's app client (with no `jwtIssuer`); required with one */
  readonly jwtAudience?: string[];
  /** How the handler's L1 learns of other sandboxes' writes, e.g. a new comment (ResourceApi's `l1Bus`). @default L1Bus.OFF: within the L1 TTL */
  readonly l1Bus?: L1Bus;
}

/**
 * The articles app on the pyramid, composed from the package's constructs: the resource
 * declarations drive the API routes (ResourceApi) and the CloudFront behaviours (EdgeDistribution);
 * the handler is this folder's `handler.ts`; the database gets this folder's `migrations` at deploy.
 */
export class ArticlesStack extends Stack {
  readonly api: ResourceApi;
  readonly edge: EdgeDistribution;
  /** The database, migrated from {@link ARTICLES_MIGRATIONS_DIR} at deploy time. */
  readonly database: OriginDatabase;
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
    // The app's own tables, applied at every deploy that adds or changes a file (the shop's are not).
    const database = (this.database = new OriginDatabase(this, 'Database', { vpc: network.vpc, stage: DatabaseStage.DEV, migrationsDirectory: ARTICLES_MIGRATIONS_DIR }));

    this.api = new ResourceApi(this, 'Api', {
      entry: path.join(__dirname, 'handler.ts'),
      resources: ARTICLE_RESOURCES,
      routes: [{ routeKey: POST_COMMENT_ROUTE }],
      vpc: network.vpc,
      cache,
      database,
      jwtIssuer: props.jwtIssuer ?? this.userPool!.issuer,
      jwtAudience: props.jwtAudience ?? this.userPool!.audience,
      l1Bus: props.l1Bus,
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
