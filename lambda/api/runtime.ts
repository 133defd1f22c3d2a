/**
 * Builds the API from an environment: `createPyramidRuntime` wires the Redis client and caches, the
 * PostgreSQL pool, the origin verifier and the L1 bus; this adds the shop's repositories and write
 * routes. The Lambda adapter calls it once per sandbox with `process.env`; the local dev server
 * calls it with its own environment.
 *
 * Environment: what `createPyramidRuntime` reads (docs/runtime.md: `REDIS_URL` or `CACHE_*`,
 * `DATABASE_URL` or `DB_*`, `CACHE_TTLS`, `CACHE_L1_BUS`, `ORIGIN_VERIFY_SECRET_ARN` or
 * `ORIGIN_VERIFY_SECRET`), and for the write routes `WRITE_BEHIND_QUEUE_URL` and
 * `INVALIDATION_EVENT_BUS_NAME` (see lambda/api/write-runtime.ts).
 */
import type { Pool } from 'pg';
import { createApi, ApiHandler } from '../shop/api/api';
import { shopOrigin } from '../shop/api/read-bindings';
import { CacheClient, CacheLogger, CacheMetrics, createPyramidRuntime, InvalidationBus, ReadThroughCache, SecretReader } from 'cache-pyramid/runtime';
import { createWriteRuntime, WriteRuntime } from './write-runtime';

export interface ApiRuntimeOptions {
  /** The environment (the adapter passes `process.env`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads a Secrets Manager secret by ARN; only called when an `*_SECRET_ARN` variable is set. */
  readonly readSecret: SecretReader;
  readonly logger: CacheLogger;
  readonly cacheMetrics?: CacheMetrics;
  /** `application_name` of the PostgreSQL connections. @default 'cache-pyramid-api' */
  readonly applicationName?: string;
  /** Refuse requests without CloudFront's `x-origin-verify` (see `createPyramidRuntime`). @default true */
  readonly originVerify?: boolean;
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
  const { env, logger } = options;
  const pyramid = createPyramidRuntime({
    env,
    readSecret: options.readSecret,
    logger,
    cacheMetrics: options.cacheMetrics,
    applicationName: options.applicationName ?? 'cache-pyramid-api',
    ...(options.originVerify === undefined ? {} : { originVerify: options.originVerify }),
  });
  const clients = await pyramid.ready();
  const { cache, cacheClient, keys, ttls, pool, bus } = clients;
  const write = createWriteRuntime({ env, logger, cacheClient, cache, personalCache: clients.personalCache, tagIndex: clients.tagIndex, keys, pool });
  const handle = createApi({
    cache,
    keys,
    ttls,
    origin: shopOrigin(pool),
    originVerifier: clients.originVerifier,
    logger,
    personalCache: clients.personalCache,
    tagIndex: clients.tagIndex,
    writes: write.writes,
  });
  return {
    handle,
    cache,
    cacheClient,
    bus,
    pool,
    write,
    beforeInvocation: clients.l1Bus.beforeInvocation,
    close: async () => {
      await write.close();
      await pyramid.close();
    },
  };
}
