/**
 * Aurora Serverless v2 at 0 ACU pauses when idle and takes about 15 s to accept connections again.
 * These tests stand a real PostgreSQL in for it: its port is held by a listener that resets every
 * connection (a database not accepting yet) and the server starts on it late. The pool retries
 * connecting with backoff within its budget; past the budget the API answers 503 with Retry-After.
 */
import type { Pool } from 'pg';
import { createPool, DbPoolConfig, resolveDbPoolConfig } from '../../../lambda/runtime/db/pool';
import { isOriginUnavailable } from '../../../lambda/runtime/db/origin-errors';
import { CacheKeys } from '../../../lambda/runtime/keys';
import { PostgresServer } from '../../support/servers';
import { seededDatabase } from '../runtime/db/support';
import { apiEvent, buildApi } from './support';

jest.setTimeout(180_000);

describe('surviving a database resume', () => {
  let server: PostgresServer;
  let url: string;
  const pools: Pool[] = [];

  beforeAll(async () => {
    server = await PostgresServer.start();
    const seeded = await seededDatabase(server, { products: 20, users: 2 });
    url = seeded.url;
    await seeded.pool.end();
  });

  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.end()));
    // Every test leaves the server up for the next one.
    if (server.pid === undefined) await server.startOnHeldPort();
  });

  afterAll(async () => server.stop());

  /** A pool as the functions make it from their environment, counting the retries it makes. */
  async function poolWith(env: Record<string, string>): Promise<{ pool: Pool; retries: () => number }> {
    let retries = 0;
    const config: DbPoolConfig = await resolveDbPoolConfig({ env: { DATABASE_URL: url, DB_CONNECT_TIMEOUT_MS: '2000', ...env } });
    const pool = createPool(config.connectRetry === undefined ? config : { ...config, connectRetry: { ...config.connectRetry, onRetry: () => (retries += 1) } });
    pools.push(pool);
    return { pool, retries: () => retries };
  }

  async function untilRetried(retries: () => number, atLeast: number): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (retries() < atLeast) {
      if (Date.now() > deadline) throw new Error(`only ${retries()} retries in 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  test('without a retry budget (the old pool), a query during the resume fails', async () => {
    const { pool } = await poolWith({ DB_CONNECT_RETRY_BUDGET_MS: '0' });
    await server.stopAndHoldPort();
    const error = await pool.query('select 1').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeDefined();
    expect(isOriginUnavailable(error)).toBe(true);
  });

  test('a query waits for the database that accepts connections only later, within the budget', async () => {
    const { pool, retries } = await poolWith({ DB_CONNECT_RETRY_BUDGET_MS: '120000' });
    await server.stopAndHoldPort();
    const query = pool.query<{ n: string }>('select count(*) as n from products');
    // The server refused at least three times before it came up: the retries are what served it.
    await untilRetried(retries, 3);
    await server.startOnHeldPort();
    await expect(query).resolves.toMatchObject({ rows: [{ n: '20' }] });
  });

  test('a connection that hangs (a paused server) is retried after its connect timeout, and the query completes once it answers', async () => {
    const { pool, retries } = await poolWith({ DB_CONNECT_TIMEOUT_MS: '500', DB_CONNECT_RETRY_BUDGET_MS: '120000' });
    server.pause();
    const query = pool.query<{ one: number }>('select 1 as one');
    try {
      await untilRetried(retries, 1);
    } finally {
      server.resume();
    }
    await expect(query).resolves.toMatchObject({ rows: [{ one: 1 }] });
  });

  test('the API serves the first request after a resume when the database comes up within the budget', async () => {
    const { pool, retries } = await poolWith({ DB_CONNECT_RETRY_BUDGET_MS: '120000' });
    const api = buildApi(pool, new CacheKeys(), undefined, { retryAfterSeconds: 7 });
    await server.stopAndHoldPort();
    const response = api.handle(apiEvent('/api/products/3'));
    await untilRetried(retries, 2);
    await server.startOnHeldPort();
    await expect(response).resolves.toMatchObject({ statusCode: 200, headers: { 'x-cache': 'origin' } });
  });

  test('a request that still cannot reach the database when the budget is spent answers 503 with Retry-After', async () => {
    const { pool, retries } = await poolWith({ DB_CONNECT_TIMEOUT_MS: '300', DB_CONNECT_RETRY_BUDGET_MS: '1500' });
    const api = buildApi(pool, new CacheKeys(), undefined, { retryAfterSeconds: 7 });
    await server.stopAndHoldPort();
    const response = await api.handle(apiEvent('/api/products/4'));
    expect(response).toMatchObject({ statusCode: 503, headers: { 'retry-after': '7', 'cache-control': 'no-store' } });
    expect(retries()).toBeGreaterThanOrEqual(1);
  });
});
