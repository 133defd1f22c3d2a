/**
 * Builds the API from an environment: the Redis client and read-through cache, the PostgreSQL pool
 * and repositories, the origin lock. The Lambda adapter calls it once per sandbox with `process.env`;
 * the local dev server calls it with its own environment.
 *
 * Environment (see README "Local development"): `REDIS_URL` or `CACHE_ENDPOINT`/`CACHE_TLS`/
 * `CACHE_CLUSTER_MODE`/`CACHE_AUTH_SECRET_ARN`; `DATABASE_URL` or `DB_HOST`/`DB_NAME`/`DB_SECRET_ARN`
 * (plus `DB_POOL_MAX`, `DB_CONNECT_TIMEOUT_MS`, `DB_STATEMENT_TIMEOUT_MS`); `CACHE_TTLS`;
 * `ORIGIN_VERIFY_SECRET_ARN`; `CACHE_L1_BUS` (`off`, `listen` or `sync`, see the runtime's `parseBusMode`);
 * for the write routes `WRITE_BEHIND_QUEUE_URL` and `INVALIDATION_EVENT_BUS_NAME`
 * (see lambda/api/write-runtime.ts).
 */
import type { Pool } from 'pg';
import { createApi, ApiHandler } from '../shop/api/api';
import { shopOrigin } from '../shop/api/read-bindings';
import { CacheClient, CacheKeys, CacheLogger, CacheMetrics, connectL1Bus, createPool, InvalidationBus, OriginVerifier, parseBusMode, parseTtlTable, ReadThroughCache, resolveCacheConfig, resolveDbPoolConfig, SecretReader } from 'cache-pyramid/runtime';
import { createWriteRuntime, WriteRuntime } from './write-runtime';

/** How long a cold start waits for the cache connection before serving without it. */
export const COLD_START_CACHE_WAIT_MS = 1000;

export interface ApiRuntimeOptions {
  /** The environment (the adapter passes `process.env`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads a Secrets Manager secret by ARN; only called when an `*_SECRET_ARN` variable is set. */
  readonly readSecret: SecretReader;
  readonly logger: CacheLogger;
  readonly cacheMetrics?: CacheMetrics;
  /** `application_name` of the PostgreSQL connections. @default 'cache-pyramid-api' */
  readonly applicationName?: string;
}

export interface ApiRuntime {
  readonly handle: ApiHandler;
  readonly cache: ReadThroughCache;
  readonly cacheClient: CacheClient;
  /** The L1 invalidation bus, unless `CACHE_L1_BUS` is `off`. */
  readonly bus?: InvalidationBus;
  readonly pool: Pool;
  /** The write routes' clients (lambda/api/write-runtime.ts). */
  readonly write: WriteRuntime;
  /**
   * Call at the start of each invocation, before `handle`: with `CACHE_L1_BUS=sync` it processes
   * every bus message that arrived while the sandbox was frozen (one round trip); otherwise a no-op.
   */
  beforeInvocation(): Promise<void>;
  /** Closes the Redis connection(s) and the pool (dev server shutdown, tests). */
  close(): Promise<void>;
}

export async function createApiRuntime(options: ApiRuntimeOptions): Promise<ApiRuntime> {
  const { env, readSecret, logger } = options;
  const ttls = parseTtlTable(env.CACHE_TTLS);
  const busMode = parseBusMode(env.CACHE_L1_BUS);
  const originVerifier = env.ORIGIN_VERIFY_SECRET_ARN ? new OriginVerifier(() => readSecret(env.ORIGIN_VERIFY_SECRET_ARN!)) : undefined;
  const [cacheConfig, poolConfig] = await Promise.all([
    resolveCacheConfig(env, readSecret),
    resolveDbPoolConfig({ env, readSecret, applicationName: options.applicationName ?? 'cache-pyramid-api' }),
    // Read at cold start, so that no request waits for Secrets Manager.
    originVerifier?.load(),
  ]);
  const cacheClient = CacheClient.connect(cacheConfig, { logger });
  const pool = createPool(poolConfig, (error) => logger.warn('idle PostgreSQL connection failed; the pool replaces it', { error: error.message }));
  const keys = new CacheKeys({ clusterMode: cacheClient.isCluster });
  const coldStartDeadline = Date.now() + COLD_START_CACHE_WAIT_MS;
  // The bus's own connection opens once the cluster's slot map is known; until it subscribes, L1 entries live ~1 s.
  const l1Bus = connectL1Bus(cacheClient, { mode: busMode, keys, logger });
  const bus = l1Bus.bus;
  const cache = new ReadThroughCache({ client: cacheClient, keys, ttls, logger, metrics: options.cacheMetrics, bus });
  // The first requests of a sandbox find the connection up instead of all going to the origin.
  // Bounded: with Redis unreachable a cold start costs at most this much more.
  await cacheClient.ready(COLD_START_CACHE_WAIT_MS);
  if (bus) await bus.subscribed(Math.max(1, coldStartDeadline - Date.now()));
  const write = createWriteRuntime({ env, logger, cacheMetrics: options.cacheMetrics, cacheClient, cache, keys, ttls, pool });
  const handle = createApi({
    cache,
    keys,
    ttls,
    origin: shopOrigin(pool),
    originVerifier,
    logger,
    personalCache: write.personalCache,
    tagIndex: write.tagIndex,
    writes: write.writes,
  });
  return {
    handle,
    cache,
    cacheClient,
    bus,
    pool,
    write,
    beforeInvocation: l1Bus.beforeInvocation,
    close: async () => {
      await write.close();
      await cache.drain();
      await bus?.close();
      await Promise.all([cacheClient.quit(), pool.end()]);
    },
  };
}
