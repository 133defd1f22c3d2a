/**
 * Helpers of the API tests: payload-v2 events as API Gateway builds them, a pool wrapper that
 * counts the SQL statements that reach PostgreSQL, and an API wired to real Redis and PostgreSQL.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import type { Pool, QueryResult, QueryResultRow } from 'pg';
import { ApiDependencies, ApiEvent, ApiHandler, createApi } from '../../../lambda/shop/api/api';
import { CacheClient, ReadThroughCache, ReadThroughCacheDeps } from '../../../lambda/runtime/cache';
import { ConfigRepository, ProductRepository, Queryable, UserRepository } from '../../../lambda/shop/repositories';
import type { CacheKeys } from '../../../lambda/runtime/keys';
import { DEFAULT_TTL_SECONDS, TtlTable } from '../../../lambda/runtime/ttl';

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

  constructor(private readonly pool: Pool) {}

  query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>> {
    this.statements += 1;
    return this.pool.query<R>(text, values);
  }
}

export interface TestApi {
  readonly handle: ApiHandler;
  readonly cache: ReadThroughCache;
  readonly db: CountingPool;
}

export const TEST_TTLS: TtlTable = DEFAULT_TTL_SECONDS;

/** The API over `client` (or no Redis at all) and `pool`, with the production TTL table. */
export function buildApi(
  pool: Pool,
  keys: CacheKeys,
  client: CacheClient | undefined,
  options: { cache?: Partial<ReadThroughCacheDeps>; api?: Partial<ApiDependencies>; retryAfterSeconds?: number } = {},
): TestApi {
  const db = new CountingPool(pool);
  const cache = new ReadThroughCache({ client, keys, ttls: TEST_TTLS, earlyRefreshBeta: 0, ...options.cache });
  const repo = { retryAfterSeconds: options.retryAfterSeconds ?? 5 };
  const handle = createApi({
    cache,
    keys,
    ttls: TEST_TTLS,
    origin: { products: new ProductRepository(db, repo), users: new UserRepository(db, repo), config: new ConfigRepository(db, repo) },
    ...options.api,
  });
  return { handle, cache, db };
}

export function json(body: string): unknown {
  return JSON.parse(body);
}
