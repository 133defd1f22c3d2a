/**
 * Helpers of the API tests: payload-v2 events as API Gateway builds them, a pool wrapper that
 * counts the SQL statements that reach PostgreSQL, and an API wired to real Redis and PostgreSQL.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import type { Pool, QueryResult, QueryResultRow } from 'pg';
import { CacheClient, DEFAULT_TTL_SECONDS, ReadThroughCache, TagIndex, type CacheKeys, type ReadThroughCacheDeps, type TtlTable } from 'cache-pyramid/runtime';
import type { SeedOptions } from '../../../db/seed/seed';
import { ApiDependencies, ApiEvent, ApiHandler, createApi } from '../../../lambda/shop/api/api';
import { shopOrigin } from '../../../lambda/shop/api/read-bindings';
import type { Queryable } from '../../../lambda/shop/repositories';
import { PostgresServer } from '../../support/servers';
import type { TopologyHandle } from '../../support/topologies';
import { connectClient, inspector } from '../runtime/cache/support';
import { seededDatabase } from '../runtime/db/support';

/** The servers an API suite runs against, started before its tests and stopped after them. */
export interface ApiServers {
  /** The seeded database (valid inside tests and hooks). */
  readonly pool: Pool;
  /** A plain client for inspecting what the API stored (valid inside tests and hooks). */
  readonly redis: Redis | Cluster;
  /** A new cache client of its own, as another process would have; closed with the suite. */
  client(): Promise<CacheClient>;
}

/**
 * The one setup of the API suites: a PostgreSQL server seeded with `seed`, an inspector on the
 * running Redis topology, and the cache clients the tests open, all closed after the suite.
 */
export function useApiServers(topology: TopologyHandle, seed: SeedOptions): ApiServers {
  let server: PostgresServer | undefined;
  let pool: Pool | undefined;
  let redis: Redis | Cluster | undefined;
  const clients: CacheClient[] = [];
  beforeAll(async () => {
    server = await PostgresServer.start();
    ({ pool } = await seededDatabase(server, seed));
    redis = await inspector(topology.current());
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit()));
    redis?.disconnect();
    await pool?.end();
    await server?.stop();
  });
  return {
    get pool() {
      if (!pool) throw new Error('the API servers are not started yet');
      return pool;
    },
    get redis() {
      if (!redis) throw new Error('the API servers are not started yet');
      return redis;
    },
    async client() {
      const client = await connectClient(topology.current());
      clients.push(client);
      return client;
    },
  };
}

export interface EventOptions {
  readonly method?: string;
  readonly query?: string;
  readonly headers?: Record<string, string>;
  readonly cookies?: string[];
  /** Verified JWT claims, as the authorizer passes them. */
  readonly claims?: Record<string, string>;
  readonly body?: string;
}

export function apiEvent(path: string, options: EventOptions = {}): ApiEvent {
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: options.query ?? '',
    headers: { host: 'api.example.test', ...options.headers },
    ...(options.cookies ? { cookies: options.cookies } : {}),
    requestContext: {
      accountId: '111122223333',
      apiId: 'test',
      domainName: 'api.example.test',
      domainPrefix: 'api',
      http: { method: options.method ?? 'GET', path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'jest' },
      requestId: 'req',
      routeKey: '$default',
      stage: '$default',
      time: '26/Nov/2026:00:00:00 +0000',
      timeEpoch: 0,
    },
    isBase64Encoded: false,
    ...(options.body !== undefined ? { body: options.body } : {}),
  };
  if (!options.claims) return event;
  const authorized: APIGatewayProxyEventV2WithJWTAuthorizer = {
    ...event,
    requestContext: { ...event.requestContext, authorizer: { principalId: '', integrationLatency: 0, jwt: { claims: options.claims, scopes: [] } } },
  };
  return authorized;
}

/** A pool whose every statement is counted: the number of origin queries a request caused. */
export class CountingPool implements Queryable {
  statements = 0;
  /** The text of every statement, in order, to tell one kind of query from another. */
  readonly texts: string[] = [];

  constructor(private readonly pool: Pool) {}

  query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>> {
    this.statements += 1;
    this.texts.push(text);
    return this.pool.query<R>(text, values);
  }

  /** Statements that read a page by `OFFSET`: the cold scans a page of a listing costs. */
  get offsetScans(): number {
    return this.texts.filter((text) => /\boffset\b/i.test(text)).length;
  }
}

export interface TestApi {
  readonly handle: ApiHandler;
  readonly cache: ReadThroughCache;
  /** The cache of per-user resources (no L1), as the runtime builds it. */
  readonly personalCache: ReadThroughCache;
  readonly db: CountingPool;
}

export const TEST_TTLS: TtlTable = DEFAULT_TTL_SECONDS;

/**
 * The caches the runtime builds over `client`: the shared one, the personal one (no L1) and the tag
 * index. Without a client, the tag index has no store: tagged values are then answered uncached.
 */
export function testCaches(keys: CacheKeys, client: CacheClient | undefined, options: Partial<ReadThroughCacheDeps> = {}) {
  const cache = new ReadThroughCache({ client, keys, ttls: TEST_TTLS, earlyRefreshBeta: 0, ...options });
  const personalCache = new ReadThroughCache({ client, keys, ttls: TEST_TTLS, earlyRefreshBeta: 0, ...options, l1: false });
  const unavailable = async (): Promise<never> => {
    throw new Error('no Redis');
  };
  const tagIndex = new TagIndex(client ?? { eval: unavailable, unlink: unavailable }, keys, { staleTtlSeconds: cache.staleTtlSeconds });
  return { cache, personalCache, tagIndex };
}

/** The API over `client` (or no Redis at all) and `pool`, with the production TTL table. */
export function buildApi(
  pool: Pool,
  keys: CacheKeys,
  client: CacheClient | undefined,
  options: { cache?: Partial<ReadThroughCacheDeps>; api?: Partial<ApiDependencies>; retryAfterSeconds?: number } = {},
): TestApi {
  const db = new CountingPool(pool);
  const { cache, personalCache, tagIndex } = testCaches(keys, client, options.cache);
  const handle = createApi({
    cache,
    personalCache,
    tagIndex,
    keys,
    ttls: TEST_TTLS,
    origin: shopOrigin(db, { retryAfterSeconds: options.retryAfterSeconds ?? 5 }),
    ...options.api,
  });
  return { handle, cache, personalCache, db };
}

export function json(body: string): unknown {
  return JSON.parse(body);
}
