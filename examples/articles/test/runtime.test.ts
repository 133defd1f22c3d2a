/**
 * The articles API as its Lambda handler builds it: `createPyramidRuntime` from the environment
 * ResourceApi sets, against real Redis and PostgreSQL. `CACHE_L1_BUS`, `DB_CONNECT_RETRY_BUDGET_MS`
 * and the origin check do for this user handler what they do for the shop's API, through the public
 * runtime entry only.
 */
import * as path from 'node:path';
import { Pool } from 'pg';
import { ApiResponse, BusState, createPyramidRuntime, PyramidHandler, PyramidRuntime, runMigrations } from 'cache-pyramid/runtime';
import { PostgresServer, RedisServer } from '../../../test/support/servers';
import { articlesHandler } from '../handler';
import { event } from './events';

jest.setTimeout(120_000);

const COMMENTS_PATH = '/api/articles/caching-pyramids/comments';
/** What CloudFront sends as `x-origin-verify` (ResourceApi's secret; its local stand-in here). */
const ORIGIN_SECRET = 'only-cloudfront-knows';

/** One Lambda sandbox: the runtime its module builds and the handler over it. */
interface Sandbox {
  readonly runtime: PyramidRuntime;
  readonly handle: PyramidHandler;
}

describe('the articles runtime built from its environment', () => {
  let redis: RedisServer;
  let postgres: PostgresServer;
  const runtimes: PyramidRuntime[] = [];

  beforeAll(async () => {
    [redis, postgres] = await Promise.all([RedisServer.start(), PostgresServer.start()]);
    const pool = new Pool({ connectionString: postgres.url, max: 1 });
    await runMigrations(pool, path.join(__dirname, '..', 'migrations'));
    await pool.query(`INSERT INTO articles (slug, title, body, author, published) VALUES ('caching-pyramids', 'Caching pyramids', 'Edge, L1, Redis, origin.', 'ada', true)`);
    await pool.end();
  });

  beforeEach(async () => {
    redis.cli('FLUSHALL');
  });

  afterEach(async () => {
    // Every test leaves the database up for the next one.
    if (postgres.pid === undefined) await postgres.startOnHeldPort();
    await Promise.all(runtimes.splice(0).map((runtime) => runtime.close()));
  });

  afterAll(async () => {
    await Promise.all([redis?.stop(), postgres?.stop()]);
  });

  /** One Lambda sandbox: the runtime its handler builds from `env` on top of the local servers. */
  async function sandbox(env: Record<string, string>): Promise<Sandbox> {
    const runtime = createPyramidRuntime({
      env: { REDIS_URL: redis.url, DATABASE_URL: postgres.url, ORIGIN_VERIFY_SECRET: ORIGIN_SECRET, ...env },
      readSecret: async () => {
        throw new Error('no secrets here');
      },
    });
    runtimes.push(runtime);
    const handle = articlesHandler(runtime);
    await runtime.ready();
    return { runtime, handle };
  }

  /** One invocation through CloudFront (which adds `x-origin-verify`), as the handler runs it. */
  function invoke(sandbox_: Sandbox, rawPath: string, options: Parameters<typeof event>[1] = {}): Promise<ApiResponse> {
    return sandbox_.handle(event(rawPath, { ...options, headers: { 'x-origin-verify': ORIGIN_SECRET, ...options.headers } }));
  }

  async function busOf(sandbox_: Sandbox) {
    return (await sandbox_.runtime.ready()).bus;
  }

  function comment(sandbox_: Sandbox, text: string) {
    return invoke(sandbox_, COMMENTS_PATH, { method: 'POST', sub: 'grace', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) });
  }

  describe('CACHE_L1_BUS', () => {
    it('sync: a comment posted through one sandbox shows on another at its next invocation, though that one held the page in L1', async () => {
      const [writer, reader] = [await sandbox({ CACHE_L1_BUS: 'sync' }), await sandbox({ CACHE_L1_BUS: 'sync' })];
      expect(await (await busOf(reader))!.subscribed(10_000)).toBe(true);
      const before = JSON.parse((await invoke(reader, COMMENTS_PATH)).body!).comments.length;
      expect((await invoke(reader, COMMENTS_PATH)).headers?.['x-cache']).toBe('l1');

      expect((await comment(writer, 'Seen everywhere.')).statusCode).toBe(201);
      const after = await invoke(reader, COMMENTS_PATH);
      expect(after.headers?.['x-cache']).not.toBe('l1');
      expect(JSON.parse(after.body!).comments).toHaveLength(before + 1);
      expect((await busOf(reader))!.state).toBe(BusState.SUBSCRIBED);
    });

    it('off (the default): the other sandbox keeps serving its L1 copy, until the L1 TTL', async () => {
      const [writer, reader] = [await sandbox({}), await sandbox({})];
      expect(await busOf(reader)).toBeUndefined();
      const before = JSON.parse((await invoke(reader, COMMENTS_PATH)).body!).comments.length;

      expect((await comment(writer, 'Seen here first.')).statusCode).toBe(201);
      const after = await invoke(reader, COMMENTS_PATH);
      expect(after.headers?.['x-cache']).toBe('l1');
      expect(JSON.parse(after.body!).comments).toHaveLength(before);
    });

    it('refuses to start with a mode it does not know', async () => {
      await expect(sandbox({ CACHE_L1_BUS: 'on' })).rejects.toThrow('CACHE_L1_BUS must be one of off, listen, sync, got "on"');
    });
  });

  describe('the origin check', () => {
    it('answers 403 to a request without x-origin-verify or with a wrong one, as to one that bypasses CloudFront', async () => {
      const runtime = await sandbox({});
      expect((await runtime.handle(event('/api/articles/caching-pyramids'))).statusCode).toBe(403);
      expect((await runtime.handle(event('/api/articles/caching-pyramids', { headers: { 'x-origin-verify': 'guess' } }))).statusCode).toBe(403);
      expect((await invoke(runtime, '/api/articles/caching-pyramids')).statusCode).toBe(200);
    });
  });

  describe('a database that is resuming (Aurora at 0 ACU)', () => {
    it('serves the first request after the resume when the database accepts connections within DB_CONNECT_RETRY_BUDGET_MS', async () => {
      const runtime = await sandbox({ DB_CONNECT_RETRY_BUDGET_MS: '60000' });
      await postgres.stopAndHoldPort();
      const response = invoke(runtime, '/api/articles/caching-pyramids');
      // Every connection is reset meanwhile: only the pool's retries can still serve this request.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await postgres.startOnHeldPort();
      await expect(response).resolves.toMatchObject({ statusCode: 200, headers: { 'x-cache': 'origin' } });
    });

    it('answers a read and a comment 503 with Retry-After once the budget is spent', async () => {
      const runtime = await sandbox({ DB_CONNECT_TIMEOUT_MS: '300', DB_CONNECT_RETRY_BUDGET_MS: '1500' });
      await postgres.stopAndHoldPort();
      const read = await invoke(runtime, '/api/articles/caching-pyramids');
      expect(read).toMatchObject({ statusCode: 503, headers: { 'retry-after': '5', 'cache-control': 'no-store' } });
      expect(JSON.parse(read.body!).error.code).toBe('origin_unavailable');
      expect(await comment(runtime, 'Not now.')).toMatchObject({ statusCode: 503, headers: { 'retry-after': '5' } });
    });
  });
});
