import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { CachePyramidFunction } from './api-function';
import { ApiResource, ApiRouteProps, DeclaredApiRoute, declaredApiRoutes } from './api-routes';
import { addHttpApiFront, apiEncryptionKey, cacheTtlsJson, functionSecurityGroup, originVerifySecret, ORIGIN_VERIFY_ROTATION, ORIGIN_VERIFY_SECRET_ARN_ENV, PyramidApiProps } from './cache-api';
import { databaseEnvironment } from './database-environment';
import { checkJwtSettings } from './jwt-settings';
import { l1BusEnvironment } from './l1-bus';
import { checkInteger } from '../validation/check-integer';
import { DeclaredTtlClass, isDeclaredTtlClass } from '../../lambda/runtime/ttl';
import { checkDurationType, checkList, checkRequired, checkVpc, describeValue } from '../validation/check-props';

/** Props for {@link ResourceApi}. */
export interface ResourceApiProps extends PyramidApiProps {
  /** Absolute path of your handler file; it imports `cache-pyramid/runtime` (see {@link CachePyramidFunction}). */
  readonly entry: string;
  /** Name of the exported handler function in `entry`. @default 'handler' */
  readonly handler?: string;
  /** Your resource declarations (`defineResource`): each becomes a `GET` (and `HEAD`) route, behind the JWT authorizer when per subject. */
  readonly resources: readonly ApiResource[];
  /** Routes no resource declares (writes, health): JWT-guarded unless `jwt: false`, with optional scopes. @default - none */
  readonly routes?: readonly ApiRouteProps[];
  /** Extra environment variables of the function (they win over the ones the construct sets). @default - none */
  readonly environment?: Record<string, string>;
  /** Memory of the function. @default 512 */
  readonly memoryMiB?: number;
  /**
   * Timeout of the function (API Gateway gives up after 29 s). It also sets how long the function
   * retries connecting to a resuming database (`DB_CONNECT_RETRY_BUDGET_MS`, see {@link connectRetryBudgetMs}).
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;
  /** Key encrypting the access logs. @default - a new key with rotation */
  readonly encryptionKey?: kms.IKey;
  /** What happens to the access log group and the key when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Your own API on the pyramid: an API Gateway HTTP API whose routes come from your resource
 * declarations and your write routes, in front of one function built from your `entry`, with the
 * same bundling, VPC placement, grants, environment and log settings as the reference API.
 *
 * - `GET`/`HEAD` of every resource; the JWT authorizer on per-subject resources and on `routes`
 *   (unless `jwt: false`), with their scopes. The authorizer reads the token from
 *   `x-viewer-authorization`, where {@link EdgeDistribution} copies `Authorization`.
 * - The function gets `CACHE_*` and `DB_*` (docs/runtime.md), `DB_CONNECT_RETRY_BUDGET_MS` from its
 *   timeout (so the runtime's pool waits out a resuming Aurora, then the handler answers 503),
 *   `CACHE_TTLS`, `ORIGIN_VERIFY_SECRET_ARN` and `CACHE_L1_BUS` when `l1Bus` is given, reaches the
 *   cache and the database through their `grantConnect`, and AWS APIs through the VPC's interface
 *   endpoints. Put {@link EdgeDistribution} in front with the same `resources`.
 */
export class ResourceApi extends Construct {
  /** The HTTP API. */
  readonly httpApi: apigwv2.HttpApi;
  /** The API's `$default` stage (auto-deployed, throttled, access-logged). */
  readonly stage: apigwv2.HttpStage;
  /** The JWT authorizer. */
  readonly authorizer: HttpJwtAuthorizer;
  /** Your function. */
  readonly handlerFunction: CachePyramidFunction;
  /** Security group of the function: egress only to what grants open and HTTPS inside the VPC. */
  readonly securityGroup: ec2.SecurityGroup;
  /** Secret whose value CloudFront sends as `x-origin-verify`; the function refuses requests without it. */
  readonly originVerifySecret: secretsmanager.Secret;
  /** Host of the API's execute-api endpoint, the CloudFront origin. */
  readonly apiDomainName: string;
  /** Key of the access logs. */
  readonly encryptionKey: kms.IKey;
  /** Access logs of the `$default` stage. */
  readonly accessLogGroup: logs.LogGroup;
  /** The routes declared on the API, resources first. */
  readonly routes: readonly DeclaredApiRoute[];

  constructor(scope: Construct, id: string, props: ResourceApiProps) {
    super(scope, id);
    this.routes = validateProps(props);
    const cacheTtls = cacheTtlsJson('ResourceApi', props.cacheTtlSeconds, [...(props.ttlClasses ?? []), ...resourceTtlClasses(props.resources)]);
    const l1BusVariables = l1BusEnvironment('ResourceApi', props.l1Bus, 'environment', props.environment);
    const timeout = props.timeout ?? Duration.seconds(10);
    const stack = Stack.of(this);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.encryptionKey = apiEncryptionKey(this, props.encryptionKey, `cache-pyramid resource API (${stack.stackName}): access logs`, removalPolicy);
    this.originVerifySecret = originVerifySecret(this, ORIGIN_VERIFY_ROTATION);

    this.securityGroup = functionSecurityGroup(this, 'SecurityGroup', props.vpc, 'cache-pyramid resource API function');
    this.handlerFunction = new CachePyramidFunction(this, 'Function', {
      entry: props.entry,
      handler: props.handler ?? 'handler',
      description: `cache-pyramid resource API: ${props.resources.map((r) => r.name).join(', ')}`,
      memorySize: props.memoryMiB ?? 512,
      timeout,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [this.securityGroup],
      environment: {
        ...props.cache.clientEnvironment,
        ...databaseEnvironment(props.database, timeout),
        ...(cacheTtls === undefined ? {} : { CACHE_TTLS: cacheTtls }),
        [ORIGIN_VERIFY_SECRET_ARN_ENV]: this.originVerifySecret.secretArn,
        ...l1BusVariables,
        ...props.environment,
      },
    });
    props.cache.grantConnect(this.handlerFunction);
    props.database.grantConnect(this.handlerFunction);
    this.originVerifySecret.grantRead(this.handlerFunction);

    ({ accessLogGroup: this.accessLogGroup, httpApi: this.httpApi, stage: this.stage, authorizer: this.authorizer } = addHttpApiFront(this, {
      description: `cache-pyramid resource API (${stack.stackName}), reachable only through CloudFront`,
      encryptionKey: this.encryptionKey,
      accessLogRetention: props.accessLogRetention,
      removalPolicy,
      throttlingRateLimitPerSecond: props.throttlingRateLimitPerSecond,
      throttlingBurstLimit: props.throttlingBurstLimit,
      jwtIssuer: props.jwtIssuer,
      jwtAudience: props.jwtAudience,
      handler: this.handlerFunction,
      integrationId: 'Integration',
      routes: this.routes,
    }));
    this.apiDomainName = `${this.httpApi.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`;
  }
}

/** The app's own TTL classes the resources name, each once. */
function resourceTtlClasses(resources: readonly ApiResource[]): DeclaredTtlClass[] {
  const classes = new Map<string, DeclaredTtlClass>();
  for (const resource of resources) {
    const ttl = (resource as { ttl?: unknown }).ttl;
    if (isDeclaredTtlClass(ttl)) classes.set(`${ttl.name}:${ttl.defaultSeconds}`, ttl);
  }
  return [...classes.values()];
}

function validateProps(props: ResourceApiProps): DeclaredApiRoute[] {
  checkVpc('ResourceApi', 'vpc', props.vpc);
  checkRequired('ResourceApi', 'cache', props.cache, 'the cache its function reads (RedisCache, ServerlessRedisCache or an ICacheCluster)');
  checkRequired('ResourceApi', 'database', props.database, 'the database its function reads (OriginDatabase or an ICacheApiDatabase)');
  if (typeof props.entry !== 'string' || props.entry === '') throw new Error(`ResourceApi: \`entry\` must be the path of your handler file, got ${describeValue(props.entry)}`);
  checkList('ResourceApi', 'resources', props.resources, { what: 'resource declarations (defineResource)' });
  checkList('ResourceApi', 'routes', props.routes, { optional: true, what: 'routes ({ routeKey, jwt?, scopes? })' });
  checkDurationType('ResourceApi', 'timeout', props.timeout, 'Duration.seconds(10)');
  if (props.resources.length === 0 && (props.routes ?? []).length === 0) {
    throw new Error('ResourceApi: `resources` and `routes` are both empty; declare at least one resource or route');
  }
  const routes = declaredApiRoutes('ResourceApi', props.resources, props.routes ?? []);
  checkJwtSettings('ResourceApi', props.jwtIssuer, props.jwtAudience);
  checkInteger('ResourceApi', 'memoryMiB', props.memoryMiB, 128, 10_240);
  checkInteger('ResourceApi', 'throttlingRateLimitPerSecond', props.throttlingRateLimitPerSecond, 1, 10_000);
  checkInteger('ResourceApi', 'throttlingBurstLimit', props.throttlingBurstLimit, 1, 5_000);
  const timeout = props.timeout;
  if (timeout !== undefined && !timeout.isUnresolved() && (timeout.toMilliseconds() < 1000 || timeout.toMilliseconds() > 29_000)) {
    throw new Error(`ResourceApi: \`timeout\` must be between 1 and 29 seconds (API Gateway's integration limit), got ${timeout.toHumanString()}`);
  }
  return routes;
}
