import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { API_ROUTES, ApiRoute } from '../../lambda/shop/api/routes';
import { WRITE_API_ROUTES } from '../../lambda/shop/api/write-routes';
import { SHOP_RESOURCES } from '../../lambda/shop/resources';
import { DeclaredTtlClass, isDeclaredTtlClass, parseTtlTable, TtlClass } from '../../lambda/runtime/ttl';
import { ICacheCluster } from '../cache/cache-cluster';
import { VIEWER_AUTHORIZATION_HEADER } from '../cdn/edge-distribution';
import { restrictKmsGrantsToAwsServices } from '../validation/kms-grants-for-aws-services-only';
import { CachePyramidFunction } from './api-function';
import { addApiRoute, DeclaredApiRoute, declaredApiRoutes } from './api-routes';
import { databaseEnvironment } from './database-environment';
import { checkJwtSettings } from './jwt-settings';
import { L1Bus, l1BusEnvironment } from './l1-bus';
import { allowLogsToUseKey, vendedLogGroupName } from '../network/cache-pyramid-network';
import { checkInteger } from '../validation/check-integer';
import { checkList, checkRequired, checkVpc } from '../validation/check-props';

/** What the API needs from the origin database ({@link OriginDatabase} or your own). */
export interface ICacheApiDatabase {
  /** Environment variables (`DB_HOST`, `DB_NAME`, `DB_SECRET_ARN`, ...) of a function that uses the database. */
  readonly clientEnvironment: Record<string, string>;
  /** Lets `grantee` reach the database port and read its credentials. */
  grantConnect(grantee: ec2.IConnectable & iam.IGrantable): void;
}

/** A route of the HTTP API. */
export interface CacheApiRoute extends ApiRoute {
  /** OAuth scopes the JWT must carry (API Gateway answers 403 otherwise); only with `jwt`. @default - none */
  readonly scopes?: readonly string[];
}

/** Environment variable holding the ARN of the origin-verify secret. */
export const ORIGIN_VERIFY_SECRET_ARN_ENV = 'ORIGIN_VERIFY_SECRET_ARN';
/** How the origin-verify secret is rotated, for its SMG4 acknowledgement. */
export const ORIGIN_VERIFY_ROTATION =
  'Rotate it with SecretRotator (lib/api/secret-rotator.ts; CachePyramidStack creates one), on its own schedule: the new value first, CloudFront once every function accepts it, the previous value accepted for a window (docs/deploying.md, Rotating secrets).';
/** Environment variable holding the write-behind queue's URL. */
export const WRITE_BEHIND_QUEUE_URL_ENV = 'WRITE_BEHIND_QUEUE_URL';

/**
 * Props both API constructs ({@link CacheApi}, {@link ResourceApi}) take: where the function runs, the
 * cache and database it reads (their `clientEnvironment` is set on it and `grantConnect` opens them),
 * who may call its guarded routes, and how the stage is throttled and logged.
 */
export interface PyramidApiProps {
  /** VPC the functions run in (the cache's and the database's). */
  readonly vpc: ec2.IVpc;
  /** Subnets of the functions. @default - the VPC's private isolated subnets */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** The ElastiCache cache; its `clientEnvironment` (`CACHE_*`) is set on the functions and `grantConnect` opens it. */
  readonly cache: ICacheCluster;
  /** The origin database; its `clientEnvironment` (`DB_*`) is set on the functions and `grantConnect` opens it. */
  readonly database: ICacheApiDatabase;
  /** Issuer (`iss`) of the JWTs the authorizer accepts: an https URL serving `/.well-known/openid-configuration`. */
  readonly jwtIssuer: string;
  /** Accepted audiences (`aud`, or `client_id` for Cognito access tokens). */
  readonly jwtAudience: string[];
  /**
   * TTL overrides per class, passed to the API function as `CACHE_TTLS`: built-in classes
   * (`product`, `config`…) and your own (`ttlClass('recipe', 600)`: those of `resources`, and of `ttlClasses`).
   * An unknown class name is an error at synth.
   * @default - the seed's TTL table (`DEFAULT_TTL_SECONDS`) and your classes' defaults
   */
  readonly cacheTtlSeconds?: Readonly<Record<string, number>>;
  /**
   * TTL classes of your own that no declared resource's `ttl` names (a loader's `setTtl`, your own
   * routes), so that `cacheTtlSeconds` may override them. The classes of `resources` are known already.
   * @default - none
   */
  readonly ttlClasses?: readonly DeclaredTtlClass[];
  /**
   * How the API function's L1 learns of other instances' writes (`CACHE_L1_BUS`, read by the
   * runtime's `parseBusMode`/`connectL1Bus`). Off by default, as the function's own default: the bus
   * costs one more Redis connection per sandbox, and without it the L1 TTL still bounds how long
   * another instance's write stays unseen.
   * @default L1Bus.OFF
   */
  readonly l1Bus?: L1Bus;
  /** Steady-state request rate of the API's default stage. @default 500 */
  readonly throttlingRateLimitPerSecond?: number;
  /** Burst of requests above the rate the stage absorbs. @default 1000 */
  readonly throttlingBurstLimit?: number;
  /** How long the HTTP API access logs are kept. @default logs.RetentionDays.ONE_YEAR */
  readonly accessLogRetention?: logs.RetentionDays;
}

/** Props for {@link CacheApi}. */
export interface CacheApiProps extends PyramidApiProps {
  /** The routes. @default - {@link defaultApiRoutes}: the read and write route tables the handler and the dev server share */
  readonly routes?: CacheApiRoute[];
  /** Memory of the API function. @default 512 */
  readonly apiMemoryMiB?: number;
  /**
   * Most flusher invocations the write-behind queue's event source runs at once (its
   * `maxConcurrency`, 2 to 1000), which bounds the flusher's database connections. @default 5
   */
  readonly flusherMaxConcurrency?: number;
  /**
   * Concurrency reserved for the flusher, at least `flusherMaxConcurrency`. A reservation takes
   * capacity from the account's unreserved pool and fails to deploy in accounts on the reduced
   * quota new accounts get, so none is made unless asked. @default - no reservation
   */
  readonly flusherReservedConcurrency?: number;
  /** Profile changes per flusher invocation (1 to 10, the FIFO event source limit). @default 10 */
  readonly flusherBatchSize?: number;
  /** Receives of a change before it moves to the dead-letter queue. @default 5 */
  readonly writeBehindMaxReceiveCount?: number;
  /** Key encrypting the write-behind queues and the access logs. @default - a new key with rotation */
  readonly encryptionKey?: kms.IKey;
  /** Extra environment variables of the API function. @default - none */
  readonly apiEnvironment?: Record<string, string>;
  /** What happens to the queues, the access log group and the key when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The application layer: an API Gateway HTTP API in front of the API function (cache-aside reads,
 * write-through and write-behind writes), the write-behind FIFO queue with its dead-letter queue,
 * and the flusher that drains it into PostgreSQL.
 *
 * - Per-user and write routes carry a JWT authorizer (issuer and audience as props); public reads
 *   do not, so CloudFront can cache them.
 * - The API accepts only CloudFront: a generated secret ({@link originVerifySecret}) is sent by the
 *   distribution as `x-origin-verify` and checked by the function (`ORIGIN_VERIFY_SECRET_ARN`).
 * - Both functions run in the VPC with their own security groups, reaching the cache and the
 *   database through `grantConnect` and AWS APIs through the VPC's interface endpoints (HTTPS).
 */
export class CacheApi extends Construct {
  /** The HTTP API. */
  readonly httpApi: apigwv2.HttpApi;
  /** The API's `$default` stage (auto-deployed, throttled, access-logged). */
  readonly stage: apigwv2.HttpStage;
  /** The JWT authorizer on per-user and write routes. */
  readonly authorizer: HttpJwtAuthorizer;
  /** The API function. */
  readonly apiFunction: CachePyramidFunction;
  /** The write-behind flusher function. */
  readonly flusherFunction: CachePyramidFunction;
  /** The write-behind FIFO queue (message group per user; the sender sets deduplication ids). */
  readonly writeBehindQueue: sqs.Queue;
  /** Where profile changes land after `writeBehindMaxReceiveCount` receives or when the flusher rejects them. */
  readonly writeBehindDlq: sqs.Queue;
  /** Secret whose value CloudFront sends as `x-origin-verify`. */
  readonly originVerifySecret: secretsmanager.Secret;
  /** Host of the API's execute-api endpoint, the CloudFront origin. */
  readonly apiDomainName: string;
  /** Key of the queues and the access logs. */
  readonly encryptionKey: kms.IKey;
  /** Access logs of the `$default` stage. */
  readonly accessLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: CacheApiProps) {
    super(scope, id);
    const routes = props.routes ?? defaultApiRoutes();
    validateProps(props, routes);
    const l1BusVariables = l1BusEnvironment('CacheApi', props.l1Bus, 'apiEnvironment', props.apiEnvironment);
    const cacheTtls = cacheTtlsJson('CacheApi', props.cacheTtlSeconds, props.ttlClasses);
    // The flusher is the package's own code, which knows the built-in classes only.
    const flusherTtls = builtInTtlsJson(props.cacheTtlSeconds);
    const stack = Stack.of(this);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const vpcSubnets = props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    const maxReceiveCount = props.writeBehindMaxReceiveCount ?? 5;
    const flusherConcurrency = props.flusherMaxConcurrency ?? 5;

    this.encryptionKey = apiEncryptionKey(this, props.encryptionKey, `cache-pyramid API (${stack.stackName}): write-behind queues and access logs`, removalPolicy);
    this.originVerifySecret = originVerifySecret(this, ORIGIN_VERIFY_ROTATION);

    this.writeBehindDlq = new sqs.Queue(this, 'WriteBehindDlq', {
      fifo: true,
      contentBasedDeduplication: false,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    Validations.of(this.writeBehindDlq).acknowledge(
      { id: 'AwsSolutions-SQS3', reason: 'This queue is the dead-letter queue of the write-behind queue; a dead-letter queue of its own would only move the records again.' },
      {
        id: 'cdk-validator-cfnguard::sqs_dlq_check',
        reason: 'This queue is the dead-letter queue of the write-behind queue; a dead-letter queue of its own would only move the records again.',
      },
    );

    const flusherTimeout = Duration.seconds(30);
    this.writeBehindQueue = new sqs.Queue(this, 'WriteBehindQueue', {
      fifo: true,
      // The sender derives deduplication ids from the change, so a retried send is dropped and two
      // different changes with equal bodies are not.
      contentBasedDeduplication: false,
      deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.encryptionKey,
      dataKeyReuse: Duration.minutes(5),
      enforceSSL: true,
      // AWS's guidance for Lambda event sources: at least six times the function timeout, so a
      // throttled or retried batch is not redelivered while it is still being written.
      visibilityTimeout: Duration.seconds(flusherTimeout.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.writeBehindDlq, maxReceiveCount },
      removalPolicy,
    });

    const apiTimeout = Duration.seconds(10);
    const apiSecurityGroup = functionSecurityGroup(this, 'ApiSecurityGroup', props.vpc, 'cache-pyramid API function');
    this.apiFunction = new CachePyramidFunction(this, 'ApiFunction', {
      codeDir: 'api',
      description: 'cache-pyramid API: cache-aside reads, write-through and write-behind writes',
      memorySize: props.apiMemoryMiB ?? 512,
      timeout: apiTimeout,
      vpc: props.vpc,
      vpcSubnets,
      securityGroups: [apiSecurityGroup],
      environment: {
        ...props.cache.clientEnvironment,
        ...databaseEnvironment(props.database, apiTimeout),
        ...(cacheTtls === undefined ? {} : { CACHE_TTLS: cacheTtls }),
        [ORIGIN_VERIFY_SECRET_ARN_ENV]: this.originVerifySecret.secretArn,
        [WRITE_BEHIND_QUEUE_URL_ENV]: this.writeBehindQueue.queueUrl,
        ...l1BusVariables,
        ...props.apiEnvironment,
      },
    });
    acknowledgeQueueKeyGrant(this.apiFunction);
    props.cache.grantConnect(this.apiFunction);
    props.database.grantConnect(this.apiFunction);
    this.originVerifySecret.grantRead(this.apiFunction);
    this.writeBehindQueue.grantSendMessages(this.apiFunction);

    const flusherSecurityGroup = functionSecurityGroup(this, 'FlusherSecurityGroup', props.vpc, 'cache-pyramid write-behind flusher');
    this.flusherFunction = new CachePyramidFunction(this, 'FlusherFunction', {
      codeDir: 'flusher',
      description: 'cache-pyramid write-behind flusher: profile changes from the FIFO queue into PostgreSQL',
      timeout: flusherTimeout,
      memorySize: 256,
      reservedConcurrentExecutions: props.flusherReservedConcurrency,
      vpc: props.vpc,
      vpcSubnets,
      securityGroups: [flusherSecurityGroup],
      environment: {
        // With the cache the flusher refreshes the cached profiles from the rows it just wrote.
        ...props.cache.clientEnvironment,
        ...databaseEnvironment(props.database, flusherTimeout),
        ...(flusherTtls === undefined ? {} : { CACHE_TTLS: flusherTtls }),
        WRITE_BEHIND_DLQ_URL: this.writeBehindDlq.queueUrl,
        WRITE_BEHIND_MAX_RECEIVE_COUNT: String(maxReceiveCount),
      },
    });
    acknowledgeQueueKeyGrant(this.flusherFunction);
    props.cache.grantConnect(this.flusherFunction);
    props.database.grantConnect(this.flusherFunction);
    // The flusher dead-letters a poison change itself, with the reason, instead of retrying it.
    this.writeBehindDlq.grantSendMessages(this.flusherFunction);
    this.flusherFunction.addEventSource(
      new SqsEventSource(this.writeBehindQueue, {
        batchSize: props.flusherBatchSize ?? 10,
        reportBatchItemFailures: true,
        // The bound on concurrent flushers (and database connections) without reserving capacity:
        // the event source stops scaling out here instead of being throttled, so a batch is never
        // counted as a receive it did not get (which could move it to the dead-letter queue).
        maxConcurrency: flusherConcurrency,
      }),
    );

    ({ accessLogGroup: this.accessLogGroup, httpApi: this.httpApi, stage: this.stage, authorizer: this.authorizer } = addHttpApiFront(this, {
      description: `cache-pyramid API (${stack.stackName}), reachable only through CloudFront`,
      encryptionKey: this.encryptionKey,
      accessLogRetention: props.accessLogRetention,
      removalPolicy,
      throttlingRateLimitPerSecond: props.throttlingRateLimitPerSecond,
      throttlingBurstLimit: props.throttlingBurstLimit,
      jwtIssuer: props.jwtIssuer,
      jwtAudience: props.jwtAudience,
      handler: this.apiFunction,
      integrationId: 'ApiIntegration',
      routes,
    }));

    this.apiDomainName = `${this.httpApi.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`;
  }
}

/** One JSON object per request, with the fields an operator filters on first. */
export const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    time: '$context.requestTime',
    ip: '$context.identity.sourceIp',
    routeKey: '$context.routeKey',
    path: '$context.path',
    status: '$context.status',
    protocol: '$context.protocol',
    responseLength: '$context.responseLength',
    responseLatencyMs: '$context.responseLatency',
    integrationLatencyMs: '$context.integrationLatency',
    integrationError: '$context.integrationErrorMessage',
    authorizerError: '$context.authorizer.error',
    userAgent: '$context.identity.userAgent',
  }),
);

/**
 * The shop's declared resources (`lambda/shop/resources.ts`: GET and HEAD, a JWT on per-subject
 * ones), its write routes (`write-routes.ts`, which the dev server checks tokens on too: every one
 * needs a JWT, `PUT /api/products/{id}` also a scope) and `/health`, so API Gateway declares exactly
 * the routes the function serves, derived as {@link ResourceApi} derives a user's.
 */
export function defaultApiRoutes(): CacheApiRoute[] {
  return declaredApiRoutes('CacheApi', SHOP_RESOURCES, [
    { routeKey: API_ROUTES.health.routeKey, jwt: false },
    ...Object.values(WRITE_API_ROUTES).map((route) => ({ routeKey: route.routeKey, scopes: route.scopes.length > 0 ? route.scopes : undefined })),
  ]);
}

function validateProps(props: CacheApiProps, routes: CacheApiRoute[]): void {
  checkVpc('CacheApi', 'vpc', props.vpc);
  checkRequired('CacheApi', 'cache', props.cache, 'the cache its functions read (RedisCache, ServerlessRedisCache or an ICacheCluster)');
  checkRequired('CacheApi', 'database', props.database, 'the database its functions read (OriginDatabase or an ICacheApiDatabase)');
  checkList('CacheApi', 'routes', routes, { what: 'routes ({ routeKey, jwt?, scopes? })' });
  checkJwtSettings('CacheApi', props.jwtIssuer, props.jwtAudience);
  const keys = new Set<string>();
  for (const route of routes) {
    if (!/^(GET|POST|PUT|PATCH|DELETE) \/[\w{}/.-]*$/.test(route.routeKey)) {
      throw new Error(`CacheApi: every route key of \`routes\` must be "<METHOD> /path", got ${JSON.stringify(route.routeKey)}`);
    }
    if (keys.has(route.routeKey)) throw new Error(`CacheApi: \`routes\` declares ${route.routeKey} twice`);
    keys.add(route.routeKey);
    if (route.scopes !== undefined && !route.jwt) {
      throw new Error(`CacheApi: route ${route.routeKey} has \`scopes\` but no JWT authorizer (jwt: false); scopes are checked by the authorizer`);
    }
  }
  checkInteger('CacheApi', 'throttlingRateLimitPerSecond', props.throttlingRateLimitPerSecond, 1, 10_000);
  checkInteger('CacheApi', 'throttlingBurstLimit', props.throttlingBurstLimit, 1, 5_000);
  checkInteger('CacheApi', 'apiMemoryMiB', props.apiMemoryMiB, 128, 10_240);
  // maxConcurrency of an SQS event source starts at 2.
  checkInteger('CacheApi', 'flusherMaxConcurrency', props.flusherMaxConcurrency, 2, 1000);
  checkInteger('CacheApi', 'flusherReservedConcurrency', props.flusherReservedConcurrency, 2, 1000);
  const maxConcurrency = props.flusherMaxConcurrency ?? 5;
  if (props.flusherReservedConcurrency !== undefined && !Token.isUnresolved(props.flusherReservedConcurrency) && props.flusherReservedConcurrency < maxConcurrency) {
    throw new Error(
      `CacheApi: \`flusherReservedConcurrency\` must be at least \`flusherMaxConcurrency\` (${maxConcurrency}), got ${props.flusherReservedConcurrency}: a throttled batch would count as a receive and could reach the dead-letter queue unprocessed`,
    );
  }
  checkInteger('CacheApi', 'flusherBatchSize', props.flusherBatchSize, 1, 10);
  checkInteger('CacheApi', 'writeBehindMaxReceiveCount', props.writeBehindMaxReceiveCount, 1, 1000);
}

/**
 * The `CACHE_TTLS` value of `cacheTtlSeconds` (undefined when not given), checked at synth as the
 * function will parse it: every class built in or declared (`classes`: `ttlClasses` and the classes
 * the resources name), every value an integer number of seconds from 1 to 30 days.
 */
export function cacheTtlsJson(owner: string, ttls: Readonly<Record<string, number>> | undefined, classes: readonly DeclaredTtlClass[] = []): string | undefined {
  for (const declared of classes) {
    if (!isDeclaredTtlClass(declared)) throw new Error(`${owner}: \`ttlClasses\` must hold classes from ttlClass() or defineTtlClasses(), got ${JSON.stringify(declared)}`);
  }
  if (ttls === undefined) return undefined;
  const json = JSON.stringify(ttls);
  try {
    parseTtlTable(json, undefined, classes);
  } catch (error) {
    throw new Error(`${owner}: \`cacheTtlSeconds\` is invalid: ${(error as Error).message.replace(/^CACHE_TTLS/, 'cacheTtlSeconds')}`);
  }
  return json;
}

/** The overrides of built-in classes only (undefined when there are none), for the package's own functions. */
function builtInTtlsJson(ttls: Readonly<Record<string, number>> | undefined): string | undefined {
  if (ttls === undefined) return undefined;
  const builtIn = Object.entries(ttls).filter(([name]) => (Object.values(TtlClass) as string[]).includes(name));
  return builtIn.length === 0 ? undefined : JSON.stringify(Object.fromEntries(builtIn));
}

/** `grantSendMessages`/`grantConsumeMessages` on a KMS-encrypted queue add these key actions, on that one key. */
function acknowledgeQueueKeyGrant(fn: CachePyramidFunction): void {
  Validations.of(fn.role!).acknowledge(
    ...['kms:GenerateDataKey*', 'kms:ReEncrypt*'].map((action) => ({
      id: `AwsSolutions-IAM5[Action::${action}]`,
      reason: `${action} comes from the SQS grants on the KMS-encrypted write-behind queues and applies to their one key only (SQS encrypts and decrypts messages with the caller's rights).`,
    })),
  );
}

/**
 * No egress but what grants open (cache, database) and HTTPS to the VPC's interface endpoints. The
 * CIDR rule is inline: a group created without inline egress keeps EC2's default allow-all rule
 * next to any separate egress rules.
 */
export function functionSecurityGroup(scope: Construct, id: string, vpc: ec2.IVpc, description: string): ec2.SecurityGroup {
  const securityGroup = new ec2.SecurityGroup(scope, id, { vpc, description, allowAllOutbound: false });
  securityGroup.addEgressRule(ec2.Peer.ipv4(vpc.vpcCidrBlock), ec2.Port.tcp(443), 'AWS APIs (Secrets Manager, SQS, EventBridge, X-Ray) through interface endpoints');
  return securityGroup;
}

/**
 * The API's key: the one given, or a new one with rotation whose grants are restricted to AWS
 * services; either way CloudWatch Logs may use it for the access logs.
 */
export function apiEncryptionKey(scope: Construct, given: kms.IKey | undefined, description: string, removalPolicy: RemovalPolicy): kms.IKey {
  let key = given;
  if (key === undefined) {
    const created = new kms.Key(scope, 'Key', { description, enableKeyRotation: true, removalPolicy });
    restrictKmsGrantsToAwsServices(created);
    key = created;
  }
  allowLogsToUseKey(scope, key);
  return key;
}

/**
 * The generated secret CloudFront sends as `x-origin-verify` and the API function checks, with the
 * reason it has no scheduled rotation (`rotation` says how to rotate it).
 */
export function originVerifySecret(scope: Construct, rotation: string): secretsmanager.Secret {
  const secret = new secretsmanager.Secret(scope, 'OriginVerifySecret', {
    description: 'Value CloudFront sends as x-origin-verify; the API rejects requests without it',
    // JSON {"current", "previous", "rotatedAt"}: during a rotation the function accepts both values.
    generateSecretString: { secretStringTemplate: '{}', generateStringKey: 'current', passwordLength: 48, excludePunctuation: true },
    removalPolicy: RemovalPolicy.DESTROY,
  });
  Validations.of(secret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason: `CloudFront reads this value only when the distribution is updated (a dynamic reference in the origin headers), and a Secrets Manager rotation schedule runs its steps back to back, so it would switch CloudFront before every function accepts the new value. ${rotation}`,
  });
  return secret;
}

/** What {@link addHttpApiFront} needs: the API's description, logs, throttling, JWT settings, handler and routes. */
export interface HttpApiFrontProps {
  readonly description: string;
  readonly encryptionKey: kms.IKey;
  readonly accessLogRetention?: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly throttlingRateLimitPerSecond?: number;
  readonly throttlingBurstLimit?: number;
  readonly jwtIssuer: string;
  readonly jwtAudience: string[];
  readonly handler: lambda.IFunction;
  /** Construct id of the Lambda integration (kept per construct, so that templates stay stable). */
  readonly integrationId: string;
  readonly routes: readonly DeclaredApiRoute[];
}

/** The parts of the HTTP API that {@link CacheApi} and {@link ResourceApi} expose. */
export interface HttpApiFront {
  readonly accessLogGroup: logs.LogGroup;
  readonly httpApi: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly authorizer: HttpJwtAuthorizer;
}

/**
 * The HTTP API in front of one function, as both API constructs build it: encrypted JSON access
 * logs, a throttled `$default` stage, the JWT authorizer reading the token CloudFront copies into
 * {@link VIEWER_AUTHORIZATION_HEADER}, one Lambda integration (payload v2) and the routes.
 */
export function addHttpApiFront(scope: Construct, props: HttpApiFrontProps): HttpApiFront {
  const accessLogGroup = new logs.LogGroup(scope, 'AccessLogs', {
    logGroupName: vendedLogGroupName(scope, 'apigateway', 'access-logs'),
    encryptionKey: props.encryptionKey,
    retention: props.accessLogRetention ?? logs.RetentionDays.ONE_YEAR,
    removalPolicy: props.removalPolicy,
  });
  const httpApi = new apigwv2.HttpApi(scope, 'HttpApi', { description: props.description, createDefaultStage: false });
  const stage = new apigwv2.HttpStage(scope, 'DefaultStage', {
    httpApi,
    stageName: '$default',
    autoDeploy: true,
    throttle: { rateLimit: props.throttlingRateLimitPerSecond ?? 500, burstLimit: props.throttlingBurstLimit ?? 1000 },
    accessLogSettings: { destination: new apigwv2.LogGroupLogDestination(accessLogGroup), format: ACCESS_LOG_FORMAT },
  });
  const authorizer = new HttpJwtAuthorizer('JwtAuthorizer', props.jwtIssuer, {
    jwtAudience: props.jwtAudience,
    // CloudFront cannot forward Authorization outside the cache key; its viewer-request function
    // copies the token into this header on every API behaviour (see EdgeDistribution).
    identitySource: [`$request.header.${VIEWER_AUTHORIZATION_HEADER}`],
  });
  const integration = new HttpLambdaIntegration(props.integrationId, props.handler, {
    payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
    timeout: Duration.seconds(29),
    // One invoke permission for the whole API instead of one per route: the function serves them all.
    scopePermissionToRoute: false,
  });
  for (const route of props.routes) addApiRoute(httpApi, route, integration, authorizer);
  for (const permission of httpApi.node.findAll().filter((c) => c instanceof lambda.CfnPermission)) {
    Validations.of(permission).acknowledge({
      id: 'cdk-validator-cfnguard::lambda_function_public_access_prohibited_check',
      reason:
        'Only apigateway.amazonaws.com may invoke, and only for this API (SourceArn arn:…:execute-api:<region>:<account>:<api-id>/*/*/*); the rule accepts a literal or a plain Ref as SourceArn, not the Fn::Join CloudFormation needs to build it.',
    });
  }
  return { accessLogGroup, httpApi, stage, authorizer };
}
