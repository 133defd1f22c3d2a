/**
 * The articles API as its Lambda handler builds it: `createArticlesRuntime` from the environment
 * ResourceApi sets, against real Redis and PostgreSQL. `CACHE_L1_BUS` and `DB_CONNECT_RETRY_BUDGET_MS`
 * do for this user handler what they do for the shop's API, through the public runtime entry only.
 */
import * as path from 'node:path';
import { Pool } from 'pg';
import { BusState, runMigrations } from 'cache-pyramid/runtime';
import { PostgresServer, RedisServer } from '../../../test/support/servers';
import { ArticlesRuntime, createArticlesRuntime } from '../handler';
import { event } from './events';

jest.setTimeout(120_000);

const COMMENTS_PATH = '/api/articles/caching-pyramids/comments';

describe('the articles runtime built from its environment', () => {
  let redis: RedisServer;
  let postgres: PostgresServer;
  const runtimes: ArticlesRuntime[] = [];

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
  async function sandbox(env: Record<string, string>): Promise<ArticlesRuntime> {
    const runtime = await createArticlesRuntime({
      env: { REDIS_URL: redis.url, DATABASE_URL: postgres.url, ...env },
      readSecret: async () => {
        throw new Error('no secrets here');
      },
    });
    runtimes.push(runtime);
    return runtime;
  }

  /** One invocation, as the handler runs it. */
  async function invoke(runtime: ArticlesRuntime, rawPath: string, options: Parameters<typeof event>[1] = {}) {
    await runtime.beforeInvocation();
    return runtime.api.handle(event(rawPath, options));
  }

  function comment(runtime: ArticlesRuntime, text: string) {
    return invoke(runtime, COMMENTS_PATH, { method: 'POST', sub: 'grace', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) });
  }

  describe('CACHE_L1_BUS', () => {
    it('sync: a comment posted through one sandbox shows on another at its next invocation, though that one held the page in L1', async () => {
      const [writer, reader] = [await sandbox({ CACHE_L1_BUS: 'sync' }), await sandbox({ CACHE_L1_BUS: 'sync' })];
      expect(await reader.l1Bus.bus!.subscribed(10_000)).toBe(true);
      const before = JSON.parse((await invoke(reader, COMMENTS_PATH)).body!).comments.length;
      expect((await invoke(reader, COMMENTS_PATH)).headers?.['x-cache']).toBe('l1');

      expect((await comment(writer, 'Seen everywhere.')).statusCode).toBe(201);
      const after = await invoke(reader, COMMENTS_PATH);
      expect(after.headers?.['x-cache']).not.toBe('l1');
      expect(JSON.parse(after.body!).comments).toHaveLength(before + 1);
      expect(reader.l1Bus.bus!.state).toBe(BusState.SUBSCRIBED);
    });

    it('off (the default): the other sandbox keeps serving its L1 copy, until the L1 TTL', async () => {
      const [writer, reader] = [await sandbox({}), await sandbox({})];
      expect(reader.l1Bus.bus).toBeUndefined();
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
