/**
 * `createPyramidRuntime` as a team's handler uses it: built from the environment the constructs set,
 * against a real Redis and PostgreSQL. Only the secret reader is a function of the test's own (it
 * stands for Secrets Manager).
 */
import { Pool } from 'pg';
import { bindResource, CacheLogger, createPyramidRuntime, defineResource, PyramidRuntime, PyramidRuntimeOptions, Sharing, ttlClass } from 'cache-pyramid/runtime';
import { PostgresServer, RedisServer } from '../../../support/servers';
import { event } from '../../../../examples/articles/test/events';

jest.setTimeout(120_000);

interface Recipe {
  readonly id: number;
  readonly title: string;
}

const recipeTtl = ttlClass('recipe', 600);
const recipe = defineResource<Recipe>({ name: 'recipe', path: '/api/recipes/{id}', sharing: Sharing.PUBLIC, ttl: recipeTtl });
const ORIGIN_SECRET = 'from-cloudfront-only';
const ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:origin-verify';

/** Keeps what the runtime logged, to assert that a failure says why. */
function recordingLogger(): CacheLogger & { readonly lines: string[] } {
  const lines: string[] = [];
  const keep = (message: string, ...attributes: Record<string, unknown>[]) => lines.push(`${message} ${JSON.stringify(attributes)}`);
  return { lines, debug: () => undefined, info: keep, warn: keep, error: keep };
}

describe('createPyramidRuntime', () => {
  let redis: RedisServer;
  let postgres: PostgresServer;
  const runtimes: PyramidRuntime[] = [];

  beforeAll(async () => {
    [redis, postgres] = await Promise.all([RedisServer.start(), PostgresServer.start()]);
    const pool = new Pool({ connectionString: postgres.url, max: 1 });
    await pool.query('CREATE TABLE recipes (id int PRIMARY KEY, title text NOT NULL)');
    await pool.query("INSERT INTO recipes VALUES (1, 'Bread'), (2, 'Soup')");
    await pool.end();
  });

  beforeEach(() => {
    redis.cli('FLUSHALL');
  });

  afterEach(async () => {
    if (postgres.pid === undefined) await postgres.startOnHeldPort();
    await Promise.all(runtimes.splice(0).map((runtime) => runtime.close()));
  });

  afterAll(async () => {
    await Promise.all([redis?.stop(), postgres?.stop()]);
  });

  /** A sandbox's runtime and the README's handler over it. */
  function app(env: Record<string, string>, options: Omit<PyramidRuntimeOptions, 'env'> = {}) {
    const runtime = createPyramidRuntime({ env: { REDIS_URL: redis.url, DATABASE_URL: postgres.url, ...env }, ...options });
    runtimes.push(runtime);
    const handler = runtime.handler({
      bindings: [
        bindResource<Recipe>({
          resource: recipe,
          load: async ({ id }) => (await runtime.db.query<Recipe>('SELECT id, title FROM recipes WHERE id = $1', [id])).rows[0] ?? null,
        }),
      ],
    });
    return { runtime, handler };
  }

  describe('the origin check (on by default)', () => {
    it('with ORIGIN_VERIFY_SECRET_ARN, answers 403 without the header or with a wrong one, and 200 with the secret', async () => {
      const reads: string[] = [];
      const { handler } = app({ ORIGIN_VERIFY_SECRET_ARN: ARN }, { readSecret: async (arn) => (reads.push(arn), ORIGIN_SECRET) });
      const missing = await handler(event('/api/recipes/1'));
      expect(missing.statusCode).toBe(403);
      expect(JSON.parse(missing.body).error.code).toBe('forbidden');
      expect((await handler(event('/api/recipes/1', { headers: { 'x-origin-verify': 'guessed' } }))).statusCode).toBe(403);
      const through = await handler(event('/api/recipes/1', { headers: { 'x-origin-verify': ORIGIN_SECRET } }));
      expect(through).toMatchObject({ statusCode: 200, headers: { 'x-cache': 'origin' } });
      expect(JSON.parse(through.body)).toEqual({ id: 1, title: 'Bread' });
      expect(reads).toEqual([ARN]);
    });

    it('with ORIGIN_VERIFY_SECRET (local runs), checks the header against that value', async () => {
      const { handler } = app({ ORIGIN_VERIFY_SECRET: ORIGIN_SECRET });
      expect((await handler(event('/api/recipes/2'))).statusCode).toBe(403);
      expect((await handler(event('/api/recipes/2', { headers: { 'x-origin-verify': ORIGIN_SECRET } }))).statusCode).toBe(200);
    });

    it('refuses to serve when no secret is configured, and says how to turn the check off', async () => {
      const logger = recordingLogger();
      const { handler } = app({}, { logger });
      const response = await handler(event('/api/recipes/1'));
      expect(response).toMatchObject({ statusCode: 503, headers: { 'retry-after': '5' } });
      expect(logger.lines.join('\n')).toContain('neither ORIGIN_VERIFY_SECRET_ARN (set by ResourceApi and CacheApi) nor ORIGIN_VERIFY_SECRET (local runs) is set; pass originVerify: false');
    });

    it('serves every caller with originVerify: false', async () => {
      const { handler } = app({}, { originVerify: false });
      expect((await handler(event('/api/recipes/1'))).statusCode).toBe(200);
    });
  });

  describe('the handler', () => {
    it('reads through L1 and Redis: origin, then l1 in this sandbox, then redis in another', async () => {
      const first = app({}, { originVerify: false });
      expect((await first.handler(event('/api/recipes/1'))).headers['x-cache']).toBe('origin');
      expect((await first.handler(event('/api/recipes/1'))).headers['x-cache']).toBe('l1');
      const second = app({}, { originVerify: false });
      expect((await second.handler(event('/api/recipes/1'))).headers['x-cache']).toBe('redis');
    });

    it('answers 404 for a path no resource or route has, and for a missing record', async () => {
      const { handler } = app({}, { originVerify: false });
      expect(await handler(event('/api/nothing-here'))).toMatchObject({ statusCode: 404 });
      expect(JSON.parse((await handler(event('/api/nothing-here'))).body).error.message).toBe('no route for GET /api/nothing-here');
      expect(await handler(event('/api/recipes/99'))).toMatchObject({ statusCode: 404 });
    });

    it('tries its own routes first, with the clients', async () => {
      const runtime = createPyramidRuntime({ env: { REDIS_URL: redis.url, DATABASE_URL: postgres.url }, originVerify: false });
      runtimes.push(runtime);
      const handler = runtime.handler({
        routes: (clients) => async (e) => (e.rawPath === '/health' ? { statusCode: 200, headers: {}, body: JSON.stringify({ cluster: clients.cacheClient.isCluster }) } : undefined),
      });
      expect(await handler(event('/health'))).toMatchObject({ statusCode: 200, body: '{"cluster":false}' });
      expect((await handler(event('/other'))).statusCode).toBe(404);
    });

    it('answers 503 with Retry-After when PostgreSQL stays unreachable past DB_CONNECT_RETRY_BUDGET_MS', async () => {
      const { handler } = app({ DB_CONNECT_TIMEOUT_MS: '300', DB_CONNECT_RETRY_BUDGET_MS: '1000' }, { originVerify: false });
      await postgres.stopAndHoldPort();
      const response = await handler(event('/api/recipes/2'));
      expect(response).toMatchObject({ statusCode: 503, headers: { 'retry-after': '5', 'cache-control': 'no-store' } });
      expect(JSON.parse(response.body).error.code).toBe('origin_unavailable');
    });
  });

  describe("the app's TTL classes", () => {
    it('caches for the declared default, or for the CACHE_TTLS override of the class', async () => {
      const plain = app({}, { originVerify: false });
      expect((await plain.handler(event('/api/recipes/1'))).headers['cache-control']).toMatch(/max-age=600\b/);
      const overridden = app({ CACHE_TTLS: '{"recipe":42}' }, { originVerify: false });
      expect((await overridden.handler(event('/api/recipes/2'))).headers['cache-control']).toMatch(/max-age=42\b/);
    });

    it('refuses to start on a CACHE_TTLS class that neither the runtime nor the resources declare', async () => {
      const logger = recordingLogger();
      const { handler } = app({ CACHE_TTLS: '{"recipes":42}' }, { originVerify: false, logger });
      expect((await handler(event('/api/recipes/1'))).statusCode).toBe(503);
      expect(logger.lines.join('\n')).toContain('CACHE_TTLS has unknown class \\"recipes\\"');
    });
  });
});
