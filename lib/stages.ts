import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { Construct } from 'constructs';
import { DeclaredTtlClass, parseTtlTable } from '../lambda/runtime/ttl';

/** Context key of the stage table in `cdk.json`. */
export const STAGES_CONTEXT_KEY = 'cache-pyramid:stages';
/** The stage `cdk synth` builds without `-c stage=…`. */
export const DEFAULT_STAGE = 'dev';

/** Which ElastiCache offering holds the cache. */
export enum StageCacheKind {
  /** A replication group ({@link RedisCache}): fixed nodes, per-node metrics, cluster mode optional. */
  NODE_BASED = 'node-based',
  /** A serverless cache ({@link ServerlessRedisCache}): scales itself within usage limits. */
  SERVERLESS = 'serverless',
}

export interface NodeBasedCacheStageConfig {
  readonly kind: StageCacheKind.NODE_BASED;
  /** e.g. `cache.t4g.micro`. */
  readonly nodeType: string;
  /** Shard the keyspace (the cluster protocol). */
  readonly clusterMode: boolean;
  /** Shards (more than 1 needs cluster mode). */
  readonly shards: number;
  /** Read replicas per shard (Multi-AZ failover from 1). */
  readonly replicasPerShard: number;
}

export interface ServerlessCacheStageConfig {
  readonly kind: StageCacheKind.SERVERLESS;
  /** Cost ceiling: most data the cache holds. */
  readonly maxDataStorageGb: number;
  /** Cost ceiling: most ElastiCache Processing Units per second. */
  readonly maxEcpuPerSecond: number;
}

/** A custom domain for the distribution. */
export interface DomainStageConfig {
  /** Host names viewers use, e.g. `shop.example.com`. */
  readonly names: string[];
  /** An existing ACM certificate in us-east-1 covering `names` (excludes `hostedZoneId`). */
  readonly certificateArn?: string;
  /** A Route 53 public zone for the names: a DNS-validated certificate and alias records are created. */
  readonly hostedZoneId?: string;
  /** The zone's domain name (with `hostedZoneId`). */
  readonly hostedZoneName?: string;
}

/** Everything that differs between stages, read from `cdk.json` (`cache-pyramid:stages.<name>`). */
export interface StageConfig {
  /** The stage name (`dev`, `prod`, ...): stack names and resource names derive from it. */
  readonly name: string;
  /** AWS account; undefined leaves the stacks account-agnostic (synth needs no credentials). */
  readonly account?: string;
  /** Region of the main stack (the edge companions are always in us-east-1). */
  readonly region: string;
  /**
   * The region the stage table names. A stage deployed to another one (`-c region=…`) gives its
   * us-east-1 companion stacks, web ACL and CloudFront alarms names with its region, so they do not
   * collide with those of the stage in its own region. @default - `region`
   */
  readonly homeRegion?: string;
  readonly cache: NodeBasedCacheStageConfig | ServerlessCacheStageConfig;
  readonly database: {
    /** Lowest Aurora capacity (0 pauses when idle). */
    readonly minCapacityAcu: number;
    readonly maxCapacityAcu: number;
    /** Serverless v2 readers. */
    readonly readers: number;
  };
  readonly api: {
    /** Most concurrent flusher invocations the write-behind queue starts (the SQS event source's maximum concurrency, 2 or more): bounds its database connections. */
    readonly flusherMaxConcurrency: number;
    /**
     * Concurrency reserved for the flusher, at least `flusherMaxConcurrency`; undefined reserves
     * none (a reservation fails to deploy in accounts on the reduced concurrency quota of new accounts).
     */
    readonly flusherReservedConcurrency?: number;
    readonly throttlingRateLimitPerSecond: number;
    readonly throttlingBurstLimit: number;
  };
  /**
   * The identity provider whose JWTs the API accepts; undefined makes the stack create a Cognito
   * user pool for the API ({@link ApiUserPool}), so a fresh account works out of the box.
   */
  readonly auth?: { readonly issuer: string; readonly audience: string[] };
  /** TTL overrides per class (`CACHE_TTLS`), over the seed's table: built-in classes, and the app's own given to {@link loadStageConfig} as `ttlClasses`. */
  readonly ttlSeconds: Readonly<Record<string, number>>;
  /**
   * Who alarms notify: emails and chat webhooks (SNS https). Empty lists notify nobody: synth warns,
   * and refuses a stage that keeps its data (`retainData`) unless `alarmsWithoutSubscribers` says so.
   */
  readonly alarmSubscribers: { readonly emails: string[]; readonly webhookUrls: string[] };
  /**
   * Deploy alarms that notify nobody even though the stage keeps its data (`-c alarmsWithoutSubscribers=true`
   * wins over the table: the repository's CI synthesizes prod that way, deploying nothing).
   */
  readonly alarmsWithoutSubscribers: boolean;
  /** The purgers' event-source concurrency (SQS `maxConcurrency`, 2-1000). */
  readonly invalidation: {
    /** @default - InvalidationPipeline's (10) */
    readonly redisPurgerMaxConcurrency?: number;
    /** @default - InvalidationPipeline's (2) */
    readonly cdnPurgerMaxConcurrency?: number;
  };
  readonly domain?: DomainStageConfig;
  /** Create a WAF web ACL (AWS managed rules and a rate limit) for the distribution, in us-east-1. */
  readonly waf: boolean;
  /** Attach this existing WAFv2 web ACL (CLOUDFRONT scope) instead (excludes `waf`). */
  readonly webAclArn?: string;
  readonly priceClass: cloudfront.PriceClass;
  /** Keep data on stack deletion (buckets, queues, logs, database snapshot, deletion protection). */
  readonly retainData: boolean;
  /** Folder of static files uploaded to the distribution's bucket, relative to the folder `cdk` runs in (the app's root). */
  readonly staticAssetsPath?: string;
}

/** `-c region=…`, `-c account=…` and `-c alarmsWithoutSubscribers=true` win over the stage table; `CDK_DEFAULT_ACCOUNT` fills in the account. */
export interface StageOverrides {
  readonly region?: string;
  readonly account?: string;
  readonly alarmsWithoutSubscribers?: boolean;
}

/** What the app declares that a stage table may refer to. */
export interface StageDeclarations {
  /** Your TTL classes (`ttlClass`, `defineTtlClasses`): `ttlSeconds` may override them like the built-in ones. @default - none: only built-in classes */
  readonly ttlClasses?: readonly DeclaredTtlClass[];
}

/** Context key acknowledging alarms without subscribers for one synth (`-c alarmsWithoutSubscribers=true`). */
export const ALARMS_WITHOUT_SUBSCRIBERS_CONTEXT_KEY = 'alarmsWithoutSubscribers';

/** Reads the stage named by `-c stage=…` (default `dev`) from the app's context and checks it. */
export function loadStageConfig(scope: Construct, declarations: StageDeclarations = {}): StageConfig {
  const node = scope.node;
  const name = (node.tryGetContext('stage') as string | undefined) ?? DEFAULT_STAGE;
  const table = node.tryGetContext(STAGES_CONTEXT_KEY) as unknown;
  if (!isObject(table)) {
    throw new StageConfigError(`cdk.json context '${STAGES_CONTEXT_KEY}' must be an object of stages, got ${describe(table)}`);
  }
  if (!Object.prototype.hasOwnProperty.call(table, name)) {
    throw new StageConfigError(`unknown stage ${JSON.stringify(name)} (-c stage=…); '${STAGES_CONTEXT_KEY}' defines: ${Object.keys(table).join(', ')}`);
  }
  return parseStageConfig(name, table[name], {
    region: node.tryGetContext('region') as string | undefined,
    account: (node.tryGetContext('account') as string | undefined) ?? process.env.CDK_DEFAULT_ACCOUNT,
    alarmsWithoutSubscribers: contextFlag(node.tryGetContext(ALARMS_WITHOUT_SUBSCRIBERS_CONTEXT_KEY), ALARMS_WITHOUT_SUBSCRIBERS_CONTEXT_KEY),
  }, declarations);
}

function contextFlag(flag: unknown, key: string): boolean | undefined {
  if (flag === undefined) return undefined;
  if (flag === true || flag === 'true') return true;
  if (flag === false || flag === 'false') return false;
  throw new StageConfigError(`context '${key}' must be true or false, got ${describe(flag)}`);
}

/** Context key that turns the cfn-guard Control Tower rules on (`-c guard=true`) or off (`false`). */
export const GUARD_CONTEXT_KEY = 'guard';

/**
 * Whether a synth runs cfn-guard's Control Tower rules: `-c guard=true|false` when given, else on
 * for the `prod` stage and when `CI` is set, off for a developer's dev synth (they take most of its
 * time; cdk-nag still runs on every synth).
 */
export function guardRulesEnabled(scope: Construct, stage: Pick<StageConfig, 'name'>, env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  const flag = contextFlag(scope.node.tryGetContext(GUARD_CONTEXT_KEY), GUARD_CONTEXT_KEY);
  if (flag !== undefined) return flag;
  return stage.name === 'prod' || (env.CI !== undefined && env.CI !== '' && env.CI !== 'false');
}

/** A stage configuration that cannot be used, with the path of the bad value in the message. */
export class StageConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StageConfigError';
  }
}

const STAGE_NAME = /^[a-z][a-z0-9-]{0,19}$/;
const REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
const ACCOUNT = /^\d{12}$/;
const NODE_TYPE = /^cache\.[a-z0-9]+\.[a-z0-9]+$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const HOST_NAME = /^(?=.{1,253}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[\w-]+$/;
const WEB_ACL_ARN = /^arn:aws[a-z-]*:wafv2:us-east-1:\d{12}:global\/webacl\/[\w-]+\/[\w-]+$/;
const PRICE_CLASSES = Object.values(cloudfront.PriceClass) as string[];

/** Checks one stage's raw configuration; every error names the path of the value, the rule and what it got. */
export function parseStageConfig(name: string, raw: unknown, overrides: StageOverrides = {}, declarations: StageDeclarations = {}): StageConfig {
  const at = new ConfigPath(`${STAGES_CONTEXT_KEY}.${name}`);
  if (!STAGE_NAME.test(name)) {
    throw new StageConfigError(`stage name ${JSON.stringify(name)} must be 1-20 lowercase letters, digits or hyphens, starting with a letter (it names stacks and caches)`);
  }
  const stage = at.object(raw);

  // A table without a region, always deployed with -c region=…, is at home wherever it goes.
  const homeRegion = stage.region === undefined && overrides.region !== undefined ? overrides.region : at.child('region').string(stage.region);
  const region = overrides.region ?? homeRegion;
  if (!REGION.test(region)) throw at.child('region').error('must be an AWS region code like eu-west-1', region);
  const account = overrides.account ?? at.child('account').optionalString(stage.account);
  if (account !== undefined && !ACCOUNT.test(account)) throw at.child('account').error('must be a 12-digit AWS account id', account);

  const cache = parseCache(at.child('cache'), stage.cache);
  const databasePath = at.child('database');
  const database = databasePath.object(stage.database);
  const minCapacityAcu = databasePath.child('minCapacityAcu').number(database.minCapacityAcu, 0, 256, 0.5);
  const maxCapacityAcu = databasePath.child('maxCapacityAcu').number(database.maxCapacityAcu, 1, 256, 0.5);
  if (maxCapacityAcu < minCapacityAcu) throw databasePath.child('maxCapacityAcu').error(`must not be below minCapacityAcu (${minCapacityAcu})`, maxCapacityAcu);
  const readers = databasePath.child('readers').number(database.readers, 0, 15, 1);

  const apiPath = at.child('api');
  const api = apiPath.object(stage.api);
  const auth = stage.auth === undefined || stage.auth === null ? undefined : parseAuth(at.child('auth'), stage.auth);
  const flusherMaxConcurrency = apiPath.child('flusherMaxConcurrency').number(api.flusherMaxConcurrency, 2, 1000, 1);
  const flusherReservedConcurrency =
    api.flusherReservedConcurrency === undefined || api.flusherReservedConcurrency === null
      ? undefined
      : apiPath.child('flusherReservedConcurrency').number(api.flusherReservedConcurrency, 2, 1000, 1);
  if (flusherReservedConcurrency !== undefined && flusherReservedConcurrency < flusherMaxConcurrency) {
    throw apiPath.child('flusherReservedConcurrency').error(`must not be below flusherMaxConcurrency (${flusherMaxConcurrency}): a throttled batch counts as a receive and can reach the DLQ unprocessed`, flusherReservedConcurrency);
  }

  const ttlSeconds = parseTtls(at.child('ttlSeconds'), stage.ttlSeconds, declarations.ttlClasses ?? []);
  const alarmSubscribers = parseAlarmSubscribers(at.child('alarmSubscribers'), stage.alarmSubscribers);
  const alarmsWithoutSubscribers =
    overrides.alarmsWithoutSubscribers ??
    (stage.alarmsWithoutSubscribers === undefined || stage.alarmsWithoutSubscribers === null ? false : at.child('alarmsWithoutSubscribers').boolean(stage.alarmsWithoutSubscribers));
  const retainData = at.child('retainData').boolean(stage.retainData);
  if (retainData && !alarmsWithoutSubscribers && alarmSubscribers.emails.length + alarmSubscribers.webhookUrls.length === 0) {
    throw at
      .child('alarmSubscribers')
      .error(
        'must name at least one email or webhook URL for a stage that keeps its data (retainData: true): its alarms would notify nobody. Add a subscriber, or acknowledge with alarmsWithoutSubscribers: true in the stage (or -c alarmsWithoutSubscribers=true for one synth)',
        alarmSubscribers,
      );
  }
  const invalidation = parseInvalidation(at.child('invalidation'), stage.invalidation);

  const domain = stage.domain === undefined || stage.domain === null ? undefined : parseDomain(at.child('domain'), stage.domain);
  const waf = at.child('waf').boolean(stage.waf);
  const webAclArn = at.child('webAclArn').optionalString(stage.webAclArn);
  if (webAclArn !== undefined && !WEB_ACL_ARN.test(webAclArn)) {
    throw at.child('webAclArn').error('must be the ARN of a WAFv2 web ACL with CLOUDFRONT scope (arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>)', webAclArn);
  }
  if (waf && webAclArn !== undefined) throw at.child('webAclArn').error('excludes waf: true (create a web ACL or attach one, not both)', webAclArn);
  const priceClass = at.child('priceClass').string(stage.priceClass);
  if (!PRICE_CLASSES.includes(priceClass)) throw at.child('priceClass').error(`must be one of ${PRICE_CLASSES.join(', ')}`, priceClass);

  return {
    name,
    account,
    region,
    homeRegion,
    cache,
    database: { minCapacityAcu, maxCapacityAcu, readers },
    api: {
      flusherMaxConcurrency,
      flusherReservedConcurrency,
      throttlingRateLimitPerSecond: apiPath.child('throttlingRateLimitPerSecond').number(api.throttlingRateLimitPerSecond, 1, 10_000, 1),
      throttlingBurstLimit: apiPath.child('throttlingBurstLimit').number(api.throttlingBurstLimit, 1, 5000, 1),
    },
    auth,
    ttlSeconds,
    alarmSubscribers,
    alarmsWithoutSubscribers,
    invalidation,
    domain,
    waf,
    webAclArn,
    priceClass: priceClass as cloudfront.PriceClass,
    retainData,
    staticAssetsPath: at.child('staticAssetsPath').optionalString(stage.staticAssetsPath),
  };
}

function parseAuth(at: ConfigPath, raw: unknown): { issuer: string; audience: string[] } {
  const auth = at.object(raw);
  const issuer = at.child('issuer').string(auth.issuer);
  if (!/^https:\/\/[^/\s]+/.test(issuer)) throw at.child('issuer').error('must be the https URL of the identity provider (the tokens\' iss)', issuer);
  // RFC 2606 names (example.com, auth.example.org, …) only stand in for a real provider: no JWKS there.
  if (issuer.toLowerCase().includes('example.')) {
    throw at.child('issuer').error(
      'is a placeholder (example.*): API Gateway would answer 401 to every JWT route. Set your identity provider\'s issuer, or remove `auth` and the stack creates a Cognito user pool',
      issuer,
    );
  }
  const audience = at.child('audience').stringList(auth.audience);
  if (audience.length === 0) throw at.child('audience').error('must list at least one audience', audience);
  return { issuer, audience };
}

function parseAlarmSubscribers(at: ConfigPath, raw: unknown): { emails: string[]; webhookUrls: string[] } {
  if (raw === undefined || raw === null) return { emails: [], webhookUrls: [] };
  const table = at.object(raw);
  const emails = table.emails === undefined ? [] : at.child('emails').stringList(table.emails);
  emails.forEach((email, i) => {
    if (!EMAIL.test(email)) throw at.child(`emails[${i}]`).error('must be an email address', email);
  });
  const webhookUrls = table.webhookUrls === undefined ? [] : at.child('webhookUrls').stringList(table.webhookUrls);
  webhookUrls.forEach((url, i) => {
    if (!/^https:\/\/[^/\s]+/.test(url)) throw at.child(`webhookUrls[${i}]`).error('must be an https URL (SNS https subscription)', url);
  });
  return { emails, webhookUrls };
}

function parseInvalidation(at: ConfigPath, raw: unknown): StageConfig['invalidation'] {
  if (raw === undefined || raw === null) return {};
  const table = at.object(raw);
  const concurrency = (key: 'redisPurgerMaxConcurrency' | 'cdnPurgerMaxConcurrency') =>
    table[key] === undefined || table[key] === null ? undefined : at.child(key).number(table[key], 2, 1000, 1);
  return { redisPurgerMaxConcurrency: concurrency('redisPurgerMaxConcurrency'), cdnPurgerMaxConcurrency: concurrency('cdnPurgerMaxConcurrency') };
}

function parseCache(at: ConfigPath, raw: unknown): NodeBasedCacheStageConfig | ServerlessCacheStageConfig {
  const cache = at.object(raw);
  const kind = at.child('kind').string(cache.kind);
  if (kind === StageCacheKind.SERVERLESS) {
    return {
      kind: StageCacheKind.SERVERLESS,
      maxDataStorageGb: at.child('maxDataStorageGb').number(cache.maxDataStorageGb, 1, 5000, 1),
      maxEcpuPerSecond: at.child('maxEcpuPerSecond').number(cache.maxEcpuPerSecond, 1000, 15_000_000, 1),
    };
  }
  if (kind !== StageCacheKind.NODE_BASED) throw at.child('kind').error(`must be ${StageCacheKind.NODE_BASED} or ${StageCacheKind.SERVERLESS}`, kind);
  const nodeType = at.child('nodeType').string(cache.nodeType);
  if (!NODE_TYPE.test(nodeType)) throw at.child('nodeType').error('must be an ElastiCache node type like cache.t4g.micro', nodeType);
  const clusterMode = at.child('clusterMode').boolean(cache.clusterMode);
  const shards = at.child('shards').number(cache.shards, 1, 500, 1);
  if (shards > 1 && !clusterMode) throw at.child('shards').error('must be 1 unless clusterMode is true', shards);
  return { kind: StageCacheKind.NODE_BASED, nodeType, clusterMode, shards, replicasPerShard: at.child('replicasPerShard').number(cache.replicasPerShard, 0, 5, 1) };
}

function parseDomain(at: ConfigPath, raw: unknown): DomainStageConfig {
  const domain = at.object(raw);
  const names = at.child('names').stringList(domain.names);
  if (names.length === 0) throw at.child('names').error('must list at least one host name', names);
  names.forEach((n, i) => {
    if (!HOST_NAME.test(n)) throw at.child(`names[${i}]`).error('must be a lowercase host name', n);
  });
  const certificateArn = at.child('certificateArn').optionalString(domain.certificateArn);
  const hostedZoneId = at.child('hostedZoneId').optionalString(domain.hostedZoneId);
  const hostedZoneName = at.child('hostedZoneName').optionalString(domain.hostedZoneName);
  if (certificateArn !== undefined && !CERTIFICATE_ARN.test(certificateArn)) {
    throw at.child('certificateArn').error('must be an ACM certificate ARN in us-east-1 (CloudFront reads viewer certificates only there)', certificateArn);
  }
  if ((certificateArn === undefined) === (hostedZoneId === undefined)) {
    throw at.error('needs exactly one of certificateArn (an existing certificate) or hostedZoneId (a certificate validated in that zone)', domain);
  }
  if ((hostedZoneId === undefined) !== (hostedZoneName === undefined)) {
    throw at.error('needs hostedZoneName together with hostedZoneId', domain);
  }
  if (hostedZoneName !== undefined && names.some((n) => n !== hostedZoneName && !n.endsWith(`.${hostedZoneName}`))) {
    throw at.child('names').error(`must all be in the hosted zone ${hostedZoneName}`, names);
  }
  return { names, certificateArn, hostedZoneId, hostedZoneName };
}

function parseTtls(at: ConfigPath, raw: unknown, classes: readonly DeclaredTtlClass[]): Readonly<Record<string, number>> {
  if (raw === undefined || raw === null) return {};
  const table = at.object(raw);
  try {
    parseTtlTable(JSON.stringify(table), undefined, classes);
  } catch (error) {
    throw new StageConfigError(`${at.path}: ${(error as Error).message.replace(/^CACHE_TTLS\.? ?/, '')}`);
  }
  return table as Readonly<Record<string, number>>;
}

/** Reads typed values at a path of the configuration, failing with the path in the message. */
class ConfigPath {
  constructor(readonly path: string) {}

  child(key: string): ConfigPath {
    return new ConfigPath(key.startsWith('[') ? `${this.path}${key}` : `${this.path}.${key}`);
  }

  error(rule: string, got: unknown): StageConfigError {
    return new StageConfigError(`${this.path} ${rule}, got ${describe(got)}`);
  }

  object(value: unknown): Record<string, unknown> {
    if (!isObject(value)) throw this.error('must be an object', value);
    return value;
  }

  string(value: unknown): string {
    if (typeof value !== 'string' || value.trim() === '') throw this.error('must be a non-empty string', value);
    return value;
  }

  optionalString(value: unknown): string | undefined {
    return value === undefined || value === null ? undefined : this.string(value);
  }

  stringList(value: unknown): string[] {
    if (!Array.isArray(value)) throw this.error('must be a list of strings', value);
    return value.map((item, i) => this.child(`[${i}]`).string(item));
  }

  boolean(value: unknown): boolean {
    if (typeof value !== 'boolean') throw this.error('must be true or false', value);
    return value;
  }

  number(value: unknown, min: number, max: number, step: number): number {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || Math.round(value / step) * step !== value) {
      throw this.error(`must be a number from ${min} to ${max}${step === 1 ? ' (whole)' : ` in steps of ${step}`}`, value);
    }
    return value;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}
