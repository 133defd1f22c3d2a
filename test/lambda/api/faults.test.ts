/**
 * The cache is an optimisation, never a single point of failure: Redis killed, hung or restarted
 * while requests are in flight costs no request its 200; PostgreSQL down leaves cached keys served
 * and turns only uncached ones into 503 with Retry-After.
 */
import { Pool } from 'pg';
import { CacheClient } from '../../../lambda/runtime/cache';
import { createPool, resolveDbPoolConfig } from '../../../lambda/runtime/db/pool';
import type { ApiResponse } from '../../../lambda/runtime/http/response';
import { PostgresServer, RedisServer } from '../../support/servers';
import { describeEachTopology, Topology } from '../../support/topologies';
import { connectClient, freshKeys, SCHEDULER_SLACK_MS, untilAccepted } from '../runtime/cache/support';
import { seededDatabase } from '../runtime/db/support';
import { apiEvent, buildApi, TestApi } from './support';

/** The production timeouts: a hung Redis may cost a request at most these. */
const COMMAND_TIMEOUT_MS = 50;
const CONNECT_TIMEOUT_MS = 100;

async function timed(api: TestApi, path: string): Promise<{ res: ApiResponse; ms: number }> {
  const started = performance.now();
  const res = await api.handle(apiEvent(path));
  return { res, ms: performance.now() - started };
}

/** Polls (real time: a restarted server needs real seconds to be reconnected) until `check` holds. */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** The Redis node holding `key` (the standalone server, or the cluster master of its slot). */
function nodeFor(topology: Topology, key: string): RedisServer {
  return topology.kind === 'standalone' ? topology.server : topology.cluster.masterFor(key);
}

async function restartNode(topology: Topology, node: RedisServer): Promise<void> {
  await node.restart();
  if (topology.kind === 'cluster') await topology.cluster.waitUntilHealthy();
}

describeEachTopology('API under faults', (topology) => {
  let server: PostgresServer;
  let pool: Pool;
  const clients: CacheClient[] = [];
  let now = Date.now();
  const clock = () => now;

  beforeAll(async () => {
    server = await PostgresServer.start();
    ({ pool } = await seededDatabase(server, { products: 40, users: 5 }));
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit()));
    await pool?.end();
    await server?.stop();
  });

  /** The API as deployed (production Redis timeouts, circuit breaker on an injected clock), L1 off so every read asks Redis. */
  async function apiWithoutL1() {
    const keys = freshKeys(topology.current());
    const client = await connectClient(topology.current(), { commandTimeoutMs: COMMAND_TIMEOUT_MS, connectTimeoutMs: CONNECT_TIMEOUT_MS, clock });
    clients.push(client);
    return { ...buildApi(pool, keys, client, { cache: { l1: false } }), keys };
  }

  test('Redis killed while requests are in flight: every request is 200 from the origin; after a restart hits return', async () => {
    const api = await apiWithoutL1();
    // Precondition: every product cached. A 50 ms command timeout may fire on a busy machine; retry until it holds.
    for (let id = 1; id <= 5; id++) {
      await untilAccepted(`product ${id} is served from Redis`, () => api.handle(apiEvent(`/api/products/${id}`)), (res) => res.headers['x-cache'] === 'redis');
    }
    const node = nodeFor(topology.current(), api.keys.product(1));

    const inFlight = Promise.all(Array.from({ length: 40 }, (_, i) => api.handle(apiEvent(`/api/products/${(i % 5) + 1}`))));
    await node.kill();
    const during = await inFlight;
    expect(during.map((r) => r.statusCode)).toEqual(Array(40).fill(200));

    const after = await timed(api, '/api/products/1');
    expect(after.res).toMatchObject({ statusCode: 200, headers: { 'x-cache': 'origin' } });
    expect(after.ms).toBeLessThan(CONNECT_TIMEOUT_MS + COMMAND_TIMEOUT_MS + 2 * SCHEDULER_SLACK_MS);

    await restartNode(topology.current(), node);
    now += 60_000;
    await eventually('product 1 is served from Redis again', async () => {
      now += 10_000;
      await api.handle(apiEvent('/api/products/1'));
      return (await api.handle(apiEvent('/api/products/1'))).headers['x-cache'] === 'redis';
    });
  });

  test('Redis hung (SIGSTOP): each request is 200 from the origin within the command timeout plus the origin time; after SIGCONT hits return', async () => {
    const api = await apiWithoutL1();
    await untilAccepted('product 2 is served from Redis', () => api.handle(apiEvent('/api/products/2')), (res) => res.headers['x-cache'] === 'redis');
    const node = nodeFor(topology.current(), api.keys.product(2));
    node.pause();
    try {
      const originOnly = await timed(buildApi(pool, api.keys, undefined, { cache: { l1: false } }), '/api/products/3');
      for (let i = 0; i < 10; i++) {
        const { res, ms } = await timed(api, '/api/products/2');
        expect(res).toMatchObject({ statusCode: 200, headers: { 'x-cache': 'origin' } });
        // A miss may wait on GET and on the lock SET, each bounded by the command timeout.
        expect(ms).toBeLessThan(2 * COMMAND_TIMEOUT_MS + originOnly.ms + SCHEDULER_SLACK_MS);
      }
    } finally {
      node.resume();
    }
    now += 60_000;
    await eventually('product 2 is served from Redis again', async () => {
      now += 10_000;
      await api.handle(apiEvent('/api/products/2'));
      return (await api.handle(apiEvent('/api/products/2'))).headers['x-cache'] === 'redis';
    });
  });

  test('Redis restarted empty: the next reads refill it from the origin', async () => {
    const api = await apiWithoutL1();
    await api.handle(apiEvent('/api/products/4'));
    const node = nodeFor(topology.current(), api.keys.product(4));
    await restartNode(topology.current(), node);
    now += 60_000;
    await eventually('product 4 is served from Redis again', async () => {
      now += 10_000;
      const res = await api.handle(apiEvent('/api/products/4'));
      expect(res.statusCode).toBe(200);
      return res.headers['x-cache'] === 'redis';
    });
  });

  describe('PostgreSQL down', () => {
    let own: PostgresServer;
    let ownPool: Pool;

    beforeEach(async () => {
      own = await PostgresServer.start();
      const seeded = await seededDatabase(own, { products: 30, users: 3 });
      await seeded.pool.end();
      ownPool = createPool(await resolveDbPoolConfig({ env: { DATABASE_URL: seeded.url, DB_CONNECT_TIMEOUT_MS: '500', DB_STATEMENT_TIMEOUT_MS: '500' } }));
    });

    afterEach(async () => {
      await ownPool.end();
      await own.stop();
    });

    async function processApi(l1: boolean, keys = freshKeys(topology.current()), extra: Parameters<typeof buildApi>[3] = {}) {
      const client = await connectClient(topology.current());
      clients.push(client);
      return { ...buildApi(ownPool, keys, client, { retryAfterSeconds: 7, ...extra, cache: { l1: l1 ? undefined : false, ...extra.cache } }), keys };
    }

    test('killed: cached keys are still 200 (L1 and Redis), an uncached key is 503 with Retry-After, and it recovers', async () => {
      const first = await processApi(true);
      const other = await processApi(false, first.keys);
      expect((await first.handle(apiEvent('/api/products/1'))).statusCode).toBe(200);
      expect((await first.handle(apiEvent('/api/config'))).statusCode).toBe(200);

      await own.kill();
      expect((await first.handle(apiEvent('/api/products/1'))).headers['x-cache']).toBe('l1');
      const fromRedis = await other.handle(apiEvent('/api/products/1'));
      expect(fromRedis).toMatchObject({ statusCode: 200, headers: { 'x-cache': 'redis' } });
      expect((await other.handle(apiEvent('/api/config'))).statusCode).toBe(200);

      for (const path of ['/api/products/2', '/api/products']) {
        const res = await first.handle(apiEvent(path));
        expect(res).toMatchObject({ statusCode: 503, headers: { 'retry-after': '7', 'cache-control': 'no-store' } });
        expect(JSON.parse(res.body)).toEqual({ error: { code: 'origin_unavailable', message: 'the service is temporarily unavailable, retry later' } });
      }

      await own.restart();
      await eventually('PostgreSQL answers again', async () => (await first.handle(apiEvent('/api/products/2'))).statusCode === 200);
    });

    test('hung: an uncached key is 503 within the statement timeout, a cached one 200', async () => {
      const api = await processApi(false);
      await api.handle(apiEvent('/api/products/5'));
      own.pause();
      try {
        expect((await api.handle(apiEvent('/api/products/5'))).statusCode).toBe(200);
        const { res, ms } = await timed(api, '/api/products/6');
        expect(res.statusCode).toBe(503);
        // Connect (500 ms) and statement (500 ms) timeouts bound it; without them it would wait for the hung server.
        expect(ms).toBeLessThan(500 + 500 + 2 * SCHEDULER_SLACK_MS);
      } finally {
        own.resume();
      }
    });

    test('killed while a value is past its soft TTL: the stale value is served (stale-if-error)', async () => {
      let at = Date.now();
      const api = await processApi(false, undefined, { cache: { clock: () => at }, api: { clock: () => at } });
      await api.handle(apiEvent('/api/config'));
      await own.kill();
      at += 86_400 * 1.1 * 1000 + 1000;
      const res = await api.handle(apiEvent('/api/config'));
      expect(res).toMatchObject({ statusCode: 200, headers: { 'x-cache': 'stale', 'cache-control': 'public, max-age=0, stale-while-revalidate=60, stale-if-error=86400' } });
    });
  });
});
