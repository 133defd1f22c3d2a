/**
 * `createPyramidRuntime`: one call that wires a function from the environment the constructs set
 * (`ResourceApi`, `CacheApi`): the Redis client, keys, TTL table, the read-through caches, the tag
 * index, the PostgreSQL pool, the origin verifier, the L1 bus and the invalidation publisher; and
 * `runtime.handler({ bindings })`, the Lambda handler of your resources.
 *
 * Nothing connects when it is called: it is meant for module scope. The clients are built once, at
 * the first invocation (secrets are read then, in parallel), and reused by every later one; a
 * failed start is retried by the next invocation.
 *
 * | variable | what the runtime does with it |
 * | --- | --- |
 * | `REDIS_URL`, or `CACHE_ENDPOINT`, `CACHE_TLS`, `CACHE_CLUSTER_MODE`, `CACHE_AUTH_SECRET_ARN` | the Redis client (`resolveCacheConfig`) |
 * | `DATABASE_URL`, or `DB_HOST`, `DB_PORT`, `DB_NAME`, `DB_SECRET_ARN`; `DB_POOL_MAX`, `DB_CONNECT_TIMEOUT_MS`, `DB_STATEMENT_TIMEOUT_MS`, `DB_CONNECT_RETRY_BUDGET_MS` | the pool (`resolveDbPoolConfig`, `createPool`) |
 * | `CACHE_TTLS` | the TTL table, with your declared classes (`parseTtlTable`) |
 * | `CACHE_L1_BUS` | the L1 bus (`connectL1Bus`) |
 * | `ORIGIN_VERIFY_SECRET_ARN`, or `ORIGIN_VERIFY_SECRET` (local runs) | the `x-origin-verify` check (`OriginVerifier`), on unless `originVerify: false` |
 * | `INVALIDATION_EVENT_BUS_NAME`, `INVALIDATION_SOURCE` | the invalidation publisher (`EventBridgeInvalidationPublisher`) |
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Pool } from 'pg';
import { CacheClient, CacheLogger, CacheMetrics, connectL1Bus, InvalidationBus, L1_BUS_ENV, L1BusConnection, parseBusMode, ReadThroughCache, resolveCacheConfig, secretFromSecretsManager, TagIndex } from './cache';
import { toOriginError } from './db/origin-errors';
import { createPool, resolveDbPoolConfig, SecretReader } from './db/pool';
import { ApiResponse, errorResponse, responseForError } from './http/response';
import { OriginVerifier, ORIGIN_VERIFY_HEADER } from './http/origin-verify';
import { headerValue } from './http/request';
import { EventBridgeInvalidationPublisher, InvalidationPublisher } from './invalidation/publisher';
import { CacheKeys } from './keys';
import { createResourceApi, ResourceBinding, ResourceEvent, ResourceApiOptions } from './resources/resource-api';
import { DeclaredTtlClass, isDeclaredTtlClass, parseTtlTable, TtlTable } from './ttl';

/** A function's environment (`process.env`). */
export type PyramidEnvironment = Readonly<Record<string, string | undefined>>;

/** Environment variable the constructs set: the ARN of the secret CloudFront sends as `x-origin-verify`. */
export const ORIGIN_VERIFY_SECRET_ARN_ENV = 'ORIGIN_VERIFY_SECRET_ARN';
/** Environment variable for local runs (`cache-pyramid dev`, tests): the `x-origin-verify` value itself. Never set in AWS, where the ARN is. */
export const ORIGIN_VERIFY_SECRET_ENV = 'ORIGIN_VERIFY_SECRET';

/** How long a cold start waits for the cache connection (and the bus's subscription) before serving without them. */
export const DEFAULT_COLD_START_CACHE_WAIT_MS = 1000;
/** `Retry-After` of a 503 when PostgreSQL cannot be reached (after the pool's own connection retries). */
export const DEFAULT_ORIGIN_RETRY_AFTER_SECONDS = 5;

export interface PyramidRuntimeOptions {
  /** The environment the constructs set. @default process.env */
  readonly env?: PyramidEnvironment;
  /** Reads the `*_SECRET_ARN` secrets. @default - Secrets Manager (the SDK loaded at the first read) */
  readonly readSecret?: SecretReader;
  /** Where the runtime logs. @default - a Powertools Logger (JSON lines; level from `POWERTOOLS_LOG_LEVEL`, else INFO) with `service` = `applicationName` */
  readonly logger?: CacheLogger;
  /** Cache counters (hits, misses, origin loads), e.g. `createObservability(...).cacheMetrics`. @default - not counted */
  readonly cacheMetrics?: CacheMetrics;
  /** `application_name` of the PostgreSQL connections (`pg_stat_activity`). @default 'cache-pyramid' */
  readonly applicationName?: string;
  /**
   * Refuse (403) every request whose `x-origin-verify` header is not the secret CloudFront sends, so
   * that calls that bypass the distribution (and its WAF) are not served. The secret comes from
   * `ORIGIN_VERIFY_SECRET_ARN` (set by the constructs) or `ORIGIN_VERIFY_SECRET` (local runs); with
   * neither, the runtime refuses to start. `false` serves every caller: only for an API that is not
   * behind `EdgeDistribution`, a choice to make explicitly.
   * @default true
   */
  readonly originVerify?: boolean;
  /**
   * Your TTL classes (`ttlClass`, `defineTtlClasses`) that `CACHE_TTLS` may override. The classes of
   * the resources given to {@link PyramidRuntime.handler} are added on their own.
   * @default - the classes of the bound resources
   */
  readonly ttlClasses?: readonly DeclaredTtlClass[] | Readonly<Record<string, DeclaredTtlClass>>;
  /** `Retry-After` of the 503 answered when PostgreSQL stays unreachable. @default 5 */
  readonly originRetryAfterSeconds?: number;
  /** How long a cold start waits for Redis before serving without it. @default 1000 */
  readonly coldStartCacheWaitMs?: number;
}

/** PostgreSQL as loaders use it: a failure that means "unreachable" becomes an `OriginUnavailableError` (503 with `Retry-After`, or the stale value when one is cached). */
export interface PyramidDb {
  query<TRow = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<{ rows: TRow[]; rowCount: number | null }>;
}

/** The clients the runtime built from the environment, once per sandbox. */
export interface PyramidClients {
  readonly env: PyramidEnvironment;
  readonly cacheClient: CacheClient;
  readonly keys: CacheKeys;
  readonly ttls: TtlTable;
  /** Public values: L1 + Redis (L1 invalidated across instances by the bus when `CACHE_L1_BUS` is on). */
  readonly cache: ReadThroughCache;
  /** Per-subject values: Redis only, so that a subject reads their own writes on any instance. */
  readonly personalCache: ReadThroughCache;
  /** The tag sets of tagged resources (`invalidate([tag])` purges every key and CDN path carrying one). */
  readonly tagIndex: TagIndex;
  /** The pool itself (transactions: `pool.connect()`); errors are not mapped. */
  readonly pool: Pool;
  /** The pool, with unreachable-database errors mapped to 503 (see {@link PyramidDb}). */
  readonly db: PyramidDb;
  /** The `x-origin-verify` check; undefined only with `originVerify: false`. */
  readonly originVerifier?: OriginVerifier;
  readonly l1Bus: L1BusConnection;
  /** The L1 invalidation bus, unless `CACHE_L1_BUS` is off. */
  readonly bus?: InvalidationBus;
  /** Publishes `CacheInvalidation` events (CDN purges) when `INVALIDATION_EVENT_BUS_NAME` is set (`InvalidationPipeline.grantPublish`). */
  readonly publisher?: InvalidationPublisher;
  readonly logger: CacheLogger;
}

/** Your own routes (writes, health): an answer, or `undefined` to leave the request to the next. */
export type PyramidRoute = (event: ResourceEvent) => Promise<ApiResponse | undefined>;

export interface PyramidHandlerOptions {
  /** Your resources, each with its loader (`bindResource`): `GET`/`HEAD` read through the pyramid. @default - none */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each binding keeps its own value type
  readonly bindings?: readonly ResourceBinding<any>[];
  /** Builds your other routes once the clients exist; they are tried before the resources. @default - none */
  readonly routes?: (clients: PyramidClients) => PyramidRoute;
  /** Stale windows granted to CDNs and browsers on public answers. @default DEFAULT_STALE_WINDOWS */
  readonly staleWindows?: ResourceApiOptions['staleWindows'];
  /** The caller's verified subject for per-subject resources. @default - the JWT `sub` claim */
  readonly subjectOf?: ResourceApiOptions['subjectOf'];
}

/** A Lambda handler for API Gateway HTTP API (payload v2) events. It never throws: every failure is an answer. */
export type PyramidHandler = (event: ResourceEvent) => Promise<ApiResponse>;

export interface PyramidRuntime {
  /** The clients, built at the first call (later calls share them); rejects when the start failed (the next call retries). */
  ready(): Promise<PyramidClients>;
  /** PostgreSQL for loaders, usable at module scope: each query waits for the runtime to be ready. See {@link PyramidDb}. */
  readonly db: PyramidDb;
  /**
   * The Lambda handler: at each invocation, the L1 bus sync (`CACHE_L1_BUS=sync`), the origin check
   * (403), your `routes`, your resources, then 404 for anything else. A bad request is a 4xx, an
   * unreachable database a 503 with `Retry-After`, a failed start a 503 (logged), a bug a 500 (logged).
   */
  handler(options: PyramidHandlerOptions): PyramidHandler;
  /** Drains background refreshes and closes the bus, Redis and the pool (tests, local servers). */
  close(): Promise<void>;
}

/** Powertools' Logger (JSON lines, which Lambda sends to the function's log group) as the runtime's narrow logger. */
function powertoolsLogger(serviceName: string): CacheLogger {
  const logger = new Logger({ serviceName });
  return {
    debug: (message, ...attributes) => logger.debug(message, ...attributes),
    info: (message, ...attributes) => logger.info(message, ...attributes),
    warn: (message, ...attributes) => logger.warn(message, ...attributes),
    error: (message, ...attributes) => logger.error(message, ...attributes),
  };
}

function declaredClasses(option: PyramidRuntimeOptions['ttlClasses']): DeclaredTtlClass[] {
  if (option === undefined) return [];
  const list = Array.isArray(option) ? option : Object.values(option as Record<string, DeclaredTtlClass>);
  for (const declared of list) {
    if (!isDeclaredTtlClass(declared)) throw new RangeError(`createPyramidRuntime: \`ttlClasses\` must hold classes from ttlClass() or defineTtlClasses(), got ${JSON.stringify(declared)}`);
  }
  return list;
}

function checkOptions(options: PyramidRuntimeOptions): void {
  if (typeof options !== 'object' || options === null) throw new RangeError(`createPyramidRuntime: the options must be an object, got ${JSON.stringify(options)}`);
  if (options.originVerify !== undefined && typeof options.originVerify !== 'boolean') {
    throw new RangeError(`createPyramidRuntime: \`originVerify\` must be true or false, got ${JSON.stringify(options.originVerify)}`);
  }
  for (const name of ['originRetryAfterSeconds', 'coldStartCacheWaitMs'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isInteger(value) && value >= 0 && value <= 600_000)) {
      throw new RangeError(`createPyramidRuntime: \`${name}\` must be a non-negative integer, got ${JSON.stringify(value)}`);
    }
  }
}

/**
 * Wires the pyramid from the environment; call it once, at module scope. See the module comment
 * for the variables it reads, and docs/runtime.md for the options and their defaults.
 */
export function createPyramidRuntime(options: PyramidRuntimeOptions = {}): PyramidRuntime {
  checkOptions(options);
  const env = options.env ?? process.env;
  const logger = options.logger ?? powertoolsLogger(options.applicationName ?? 'cache-pyramid');
  const originVerify = options.originVerify ?? true;
  const retryAfterSeconds = options.originRetryAfterSeconds ?? DEFAULT_ORIGIN_RETRY_AFTER_SECONDS;
  const coldStartWaitMs = options.coldStartCacheWaitMs ?? DEFAULT_COLD_START_CACHE_WAIT_MS;
  const ttlClasses = declaredClasses(options.ttlClasses);
  let readSecret = options.readSecret;
  let starting: Promise<PyramidClients> | undefined;
  let started = false;

  async function start(): Promise<PyramidClients> {
    started = true;
    readSecret ??= secretFromSecretsManager();
    const secrets = readSecret;
    const ttls = parseTtlTable(env.CACHE_TTLS, undefined, ttlClasses);
    const busMode = parseBusMode(env[L1_BUS_ENV]);
    const originVerifier = originVerify ? verifierFrom(env, secrets) : undefined;
    const [cacheConfig, poolConfig] = await Promise.all([
      resolveCacheConfig(env, secrets),
      // With DB_CONNECT_RETRY_BUDGET_MS, every checkout retries a database that is not accepting connections yet.
      resolveDbPoolConfig({ env, readSecret: secrets, applicationName: options.applicationName ?? 'cache-pyramid' }),
      // Read at cold start, so that no request waits for Secrets Manager.
      originVerifier?.load(),
    ]);
    const cacheClient = CacheClient.connect(cacheConfig, { logger });
    const pool = createPool(poolConfig, (error) => logger.warn('idle PostgreSQL connection failed; the pool replaces it', { error: error.message }));
    const keys = new CacheKeys({ clusterMode: cacheClient.isCluster });
    const coldStartDeadline = Date.now() + coldStartWaitMs;
    // The bus's own connection opens once the cluster's slot map is known; until it subscribes, L1 entries live ~1 s.
    const l1Bus = connectL1Bus(cacheClient, { mode: busMode, keys, logger });
    const cache = new ReadThroughCache({ client: cacheClient, keys, ttls, logger, metrics: options.cacheMetrics, bus: l1Bus.bus });
    const personalCache = new ReadThroughCache({ client: cacheClient, keys, ttls, logger, metrics: options.cacheMetrics, l1: false });
    const tagIndex = new TagIndex(cacheClient, keys, { staleTtlSeconds: cache.staleTtlSeconds });
    const publisher = env.INVALIDATION_EVENT_BUS_NAME
      ? new EventBridgeInvalidationPublisher({ eventBusName: env.INVALIDATION_EVENT_BUS_NAME, source: env.INVALIDATION_SOURCE || undefined, cacheKeys: keys })
      : undefined;
    // The first requests of a sandbox find the connection up instead of all going to the origin.
    // Bounded: with Redis unreachable a cold start costs at most this much more.
    await cacheClient.ready(coldStartWaitMs);
    if (l1Bus.bus) await l1Bus.bus.subscribed(Math.max(1, coldStartDeadline - Date.now()));
    return { env, cacheClient, keys, ttls, cache, personalCache, tagIndex, pool, db: mappedDb(async () => pool, retryAfterSeconds), originVerifier, l1Bus, bus: l1Bus.bus, publisher, logger };
  }

  function ready(): Promise<PyramidClients> {
    starting ??= start().catch((error: unknown) => {
      // A failed start (Secrets Manager throttled, a bad variable) is retried by the next call.
      starting = undefined;
      throw error;
    });
    return starting;
  }

  function handler(handlerOptions: PyramidHandlerOptions): PyramidHandler {
    const bindings = handlerOptions.bindings ?? [];
    if (!Array.isArray(bindings)) throw new RangeError(`runtime.handler: \`bindings\` must be an array of bindResource(...), got ${JSON.stringify(bindings)}`);
    if (handlerOptions.routes !== undefined && typeof handlerOptions.routes !== 'function') {
      throw new RangeError(`runtime.handler: \`routes\` must be a function of the clients returning a route, got ${JSON.stringify(handlerOptions.routes)}`);
    }
    if (bindings.length === 0 && handlerOptions.routes === undefined) throw new RangeError('runtime.handler: `bindings` and `routes` are both empty; give at least one');
    for (const binding of bindings) {
      if (typeof binding !== 'object' || binding === null || typeof binding.load !== 'function' || typeof binding.resource?.matchesPath !== 'function') {
        throw new RangeError(`runtime.handler: each binding must be bindResource({ resource: defineResource(...), load }), got ${JSON.stringify(binding)}`);
      }
      const ttl = binding.resource.ttl;
      if (isDeclaredTtlClass(ttl) && !ttlClasses.some((c) => c.name === ttl.name && c.defaultSeconds === ttl.defaultSeconds)) {
        if (started) throw new RangeError(`runtime.handler: resource ${binding.resource.name} has the TTL class ${ttl.name}, unknown to the runtime already started; call handler() before ready(), or pass it in \`ttlClasses\``);
        ttlClasses.push(ttl);
      }
    }
    let api: Promise<PyramidRoute> | undefined;
    async function build(): Promise<PyramidRoute> {
      const clients = await ready();
      const own = handlerOptions.routes?.(clients);
      const resources =
        bindings.length === 0
          ? undefined
          : createResourceApi({
              bindings,
              cache: clients.cache,
              personalCache: clients.personalCache,
              tagIndex: clients.tagIndex,
              keys: clients.keys,
              ttls: clients.ttls,
              logger,
              ...(handlerOptions.staleWindows ? { staleWindows: handlerOptions.staleWindows } : {}),
              ...(handlerOptions.subjectOf ? { subjectOf: handlerOptions.subjectOf } : {}),
            });
      return async (event) => (await own?.(event)) ?? (await resources?.handle(event));
    }
    return async (event) => {
      const method = event.requestContext?.http?.method?.toUpperCase() ?? 'GET';
      let route: PyramidRoute;
      let clients: PyramidClients;
      try {
        api ??= build().catch((error: unknown) => {
          api = undefined;
          throw error;
        });
        [route, clients] = await Promise.all([api, ready()]);
      } catch (error) {
        logger.error('the runtime failed to start; the next request retries', { error: error instanceof Error ? error.message : String(error) });
        return errorResponse(503, 'unavailable', 'the service is starting or misconfigured, retry later', { method, headers: { 'retry-after': String(retryAfterSeconds) } });
      }
      try {
        await clients.l1Bus.beforeInvocation();
        if (clients.originVerifier && !(await clients.originVerifier.verify(headerValue(event.headers, ORIGIN_VERIFY_HEADER)))) {
          return errorResponse(403, 'forbidden', 'requests must come through CloudFront', { method });
        }
        const answer = await route(event);
        return answer ?? errorResponse(404, 'not_found', `no route for ${method} ${(event.rawPath ?? '/').slice(0, 128)}`, { method });
      } catch (error) {
        const mapped = toOriginError(error, retryAfterSeconds);
        const { response, unexpected } = responseForError(mapped, method);
        if (unexpected) logger.error('unexpected error answering a request', { path: event.rawPath, error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error) });
        return response;
      }
    };
  }

  return {
    ready,
    db: mappedDb(async () => (await ready()).pool, retryAfterSeconds),
    handler,
    close: async () => {
      if (!starting) return;
      const clients = await starting.catch(() => undefined);
      starting = undefined;
      if (!clients) return;
      await Promise.all([clients.cache.drain(), clients.personalCache.drain()]);
      await clients.bus?.close();
      await Promise.all([clients.cacheClient.quit(), clients.pool.end()]);
    },
  };
}

/** The origin check `originVerify` asks for: the ARN's secret, else the local value, else a start error naming both variables. */
function verifierFrom(env: PyramidEnvironment, readSecret: SecretReader): OriginVerifier {
  const arn = env[ORIGIN_VERIFY_SECRET_ARN_ENV];
  if (arn) return new OriginVerifier(() => readSecret(arn));
  const value = env[ORIGIN_VERIFY_SECRET_ENV];
  if (value) return new OriginVerifier(async () => value);
  throw new Error(
    `the origin check is on (originVerify) but neither ${ORIGIN_VERIFY_SECRET_ARN_ENV} (set by ResourceApi and CacheApi) nor ${ORIGIN_VERIFY_SECRET_ENV} (local runs) is set; ` +
      'pass originVerify: false to serve requests that bypass CloudFront',
  );
}

function mappedDb(pool: () => Promise<Pool>, retryAfterSeconds: number): PyramidDb {
  return {
    async query<TRow>(text: string, values?: readonly unknown[]) {
      try {
        const result = await (await pool()).query(text, values as unknown[] | undefined);
        return { rows: result.rows as TRow[], rowCount: result.rowCount };
      } catch (error) {
        throw toOriginError(error, retryAfterSeconds);
      }
    },
  };
}
