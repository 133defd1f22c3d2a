/**
 * The articles app against real Redis and PostgreSQL (started by the repository's harness): every
 * answer, key and purge comes from the declarations in resources.ts.
 */
import * as path from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { Pool } from 'pg';
import { CacheClient, CacheKeys, createRedis, DEFAULT_TTL_SECONDS, EventBridgeInvalidationPublisher, ReadThroughCache, runMigrations, TagIndex } from 'cache-pyramid/runtime';
import { PostgresServer, RedisServer } from '../../../test/support/servers';
import { ArticlesApi, ArticlesApiDeps, createArticlesApi, Queryable } from '../handler';
import { article, comments, COMMENTS_PER_PAGE, drafts } from '../resources';
import { event } from './events';

/** The folder the stack's OriginDatabase applies at deploy (ARTICLES_MIGRATIONS_DIR), without loading the CDK here. */
const MIGRATIONS_DIR = path.join(__dirname, '..', 'migrations');

const eventBridge = mockClient(EventBridgeClient);

/** Counts the statements that reach PostgreSQL: origin loads. */
class CountingDb implements Queryable {
  statements = 0;
  constructor(private readonly pool: Pool) {}
  async query(text: string, values?: readonly unknown[]) {
    this.statements += 1;
    return this.pool.query(text, values as unknown[]);
  }
}

describe('articles example', () => {
  let redis: RedisServer;
  let postgres: PostgresServer;
  let pool: Pool;
  let client: CacheClient;
  let db: CountingDb;
  let api: ArticlesApi;
  let keys: CacheKeys;

  beforeAll(async () => {
    [redis, postgres] = await Promise.all([RedisServer.start(), PostgresServer.start()]);
    pool = new Pool({ connectionString: postgres.url, max: 4 });
    // The same files, and the same runner, as the deploy-time migration.
    expect(await runMigrations(pool, MIGRATIONS_DIR)).toEqual(['001_articles.sql']);
    await pool.query(`INSERT INTO articles (slug, title, body, author, published, version) VALUES
      ('caching-pyramids', 'Caching pyramids', 'Edge, L1, Redis, origin.', 'ada', true, 3),
      ('stampedes', 'Stampedes', 'One load per key.', 'ada', false, 1),
      ('tags', 'Tags', 'Purge by meaning.', 'bob', false, 2)`);
    client = new CacheClient(createRedis({ url: redis.url, commandTimeoutMs: 2000, connectTimeoutMs: 2000 }), { commandTimeoutMs: 2000, connectTimeoutMs: 2000 });
    if (!(await client.ready(10_000))) throw new Error('cache client did not connect');
  });

  beforeEach(async () => {
    eventBridge.reset();
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
    await pool.query('TRUNCATE comments');
    redis.cli('FLUSHALL');
    keys = new CacheKeys({ clusterMode: false });
    db = new CountingDb(pool);
    api = articlesApi();
  });

  /** The API under test: this suite's database and cache (or `cacheClient`), events sent to the mocked EventBridge. */
  function articlesApi(overrides: Partial<ArticlesApiDeps> & { cacheClient?: CacheClient } = {}): ArticlesApi {
    const { cacheClient = client, ...deps } = overrides;
    return createArticlesApi({
      db,
      cache: new ReadThroughCache({ client: cacheClient, keys, ttls: DEFAULT_TTL_SECONDS }),
      personalCache: new ReadThroughCache({ client: cacheClient, keys, ttls: DEFAULT_TTL_SECONDS, l1: false }),
      tagIndex: new TagIndex(cacheClient, keys),
      keys,
      ttls: DEFAULT_TTL_SECONDS,
      publisher: new EventBridgeInvalidationPublisher({ client: new EventBridgeClient({ region: 'eu-west-1' }), eventBusName: 'articles-bus' }),
      ...deps,
    });
  }

  afterEach(async () => {
    await api.drain();
  });

  afterAll(async () => {
    await client.quit();
    await pool.end();
    await Promise.all([redis.stop(), postgres.stop()]);
  });

  describe('a public article', () => {
    it('is answered public with an ETag, cached under its declared key, and served from L1 on the next read', async () => {
      const first = await api.handle(event('/api/articles/caching-pyramids'));
      expect(first.statusCode).toBe(200);
      expect(first.headers?.['cache-control']).toMatch(/^public, max-age=\d+/);
      expect(first.headers?.etag).toMatch(/^"/);
      expect(JSON.parse(first.body!)).toMatchObject({ slug: 'caching-pyramids', version: 3 });
      expect(redis.cli('EXISTS', article.key(keys, { slug: 'caching-pyramids' }))).toBe('1');
      const loads = db.statements;
      const second = await api.handle(event('/api/articles/caching-pyramids', { headers: { 'if-none-match': first.headers!.etag as string } }));
      expect(second.statusCode).toBe(304);
      expect(second.headers?.['x-cache']).toBe('l1');
      expect(db.statements).toBe(loads);
    });

    it('answers a draft or a missing article 404, and a slug that is not one 400', async () => {
      expect((await api.handle(event('/api/articles/stampedes'))).statusCode).toBe(404);
      expect((await api.handle(event('/api/articles/nope'))).statusCode).toBe(404);
      expect((await api.handle(event('/api/articles/Not_A_Slug'))).statusCode).toBe(400);
    });
  });

  describe('comments, listed per article and purged by tag', () => {
    it('accepts only the declared query parameter, in its canonical spelling', async () => {
      expect((await api.handle(event('/api/articles/caching-pyramids/comments'))).statusCode).toBe(200);
      expect((await api.handle(event('/api/articles/caching-pyramids/comments', { query: 'sort=new' }))).statusCode).toBe(400);
      const spelledOut = await api.handle(event('/api/articles/caching-pyramids/comments', { query: 'page=1' }));
      expect(spelledOut.statusCode).toBe(308);
      expect(spelledOut.headers?.location).toBe('/api/articles/caching-pyramids/comments');
    });

    /** `n` comments on the published article, by other readers. */
    async function addComments(n: number): Promise<void> {
      await pool.query(`INSERT INTO comments (article_slug, author, text) SELECT 'caching-pyramids', 'reader-' || g, 'Comment ' || g FROM generate_series(1, $1) AS g`, [n]);
    }

    it('purges every cached page of the article, in Redis and (by its CDN paths) at the edge, when a reader comments', async () => {
      await addComments(COMMENTS_PER_PAGE + 1);
      const before = await api.handle(event('/api/articles/caching-pyramids/comments'));
      expect(JSON.parse(before.body!).comments).toHaveLength(COMMENTS_PER_PAGE);
      expect((await api.handle(event('/api/articles/caching-pyramids/comments', { query: 'page=2' }))).statusCode).toBe(200);
      const pageKeys = [1, 2].map((page) => comments.key(keys, { slug: 'caching-pyramids', page }));
      expect(pageKeys.map((key) => redis.cli('EXISTS', key))).toEqual(['1', '1']);

      const posted = await api.handle(
        event('/api/articles/caching-pyramids/comments', { method: 'POST', sub: 'grace', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'Clear.' }) }),
      );
      expect(posted.statusCode).toBe(201);
      expect(JSON.parse(posted.body!).purgedPaths).toEqual(['/api/articles/caching-pyramids/comments', '/api/articles/caching-pyramids/comments?page=2']);
      expect(pageKeys.map((key) => redis.cli('EXISTS', key))).toEqual(['0', '0']);
      const sent = eventBridge.commandCalls(PutEventsCommand).map((call) => JSON.parse(call.args[0].input.Entries![0].Detail!));
      expect(sent).toEqual([{ paths: ['/api/articles/caching-pyramids/comments', '/api/articles/caching-pyramids/comments?page=2'], reason: 'comment on caching-pyramids' }]);

      const after = await api.handle(event('/api/articles/caching-pyramids/comments', { query: 'page=2' }));
      expect(JSON.parse(after.body!).comments).toEqual([expect.objectContaining({ text: 'Comment 21' }), expect.objectContaining({ author: 'grace', text: 'Clear.' })]);
      expect(after.headers?.['x-cache']).toBe('origin');
    });

    it('answers pages past the last 404 from one count, and the page a new comment opens 200 right after the 201', async () => {
      await addComments(COMMENTS_PER_PAGE);
      expect((await api.handle(event('/api/articles/caching-pyramids/comments'))).statusCode).toBe(200);
      const loads = db.statements;
      for (let page = 2; page <= 101; page++) {
        const past = await api.handle(event('/api/articles/caching-pyramids/comments', { query: `page=${page}` }));
        expect(past).toMatchObject({ statusCode: 404, headers: { 'cache-control': 'no-store' } });
      }
      expect(db.statements - loads).toBe(1);
      expect((await api.handle(event('/api/articles/nope/comments', { query: 'page=2' }))).statusCode).toBe(404);

      const posted = await api.handle(
        event('/api/articles/caching-pyramids/comments', { method: 'POST', sub: 'grace', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'Twenty-first.' }) }),
      );
      expect(posted.statusCode).toBe(201);
      const opened = await api.handle(event('/api/articles/caching-pyramids/comments', { query: 'page=2' }));
      expect(opened.statusCode).toBe(200);
      expect(JSON.parse(opened.body!).comments).toEqual([expect.objectContaining({ author: 'grace', text: 'Twenty-first.' })]);
      expect((await api.handle(event('/api/articles/caching-pyramids/comments', { query: 'page=3' }))).statusCode).toBe(404);
    });

    it('keeps a comment made while Redis is down, and hands its purge to the pipeline: the tag, and every page at the edge', async () => {
      // A cache whose server is gone: every command fails at once (the harness's Redis is left running).
      const gone = await RedisServer.start();
      const deadClient = new CacheClient(createRedis({ url: gone.url, commandTimeoutMs: 200, connectTimeoutMs: 200 }), { commandTimeoutMs: 200, connectTimeoutMs: 200 });
      await deadClient.ready(10_000);
      await gone.stop();
      const warnings: string[] = [];
      const offline = articlesApi({ cacheClient: deadClient, logger: { warn: (message) => warnings.push(message), error: (message) => warnings.push(message) } });
      try {
        const posted = await offline.handle(
          event('/api/articles/caching-pyramids/comments', { method: 'POST', sub: 'grace', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'Still here.' }) }),
        );
        expect(posted.statusCode).toBe(201);
        expect((await pool.query('SELECT count(*)::int AS n FROM comments')).rows[0].n).toBe(1);
        expect(warnings).toEqual(['comment stored but its pages not purged from Redis; the purge pipeline retries']);
        const sent = eventBridge.commandCalls(PutEventsCommand).map((call) => JSON.parse(call.args[0].input.Entries![0].Detail!));
        expect(sent).toEqual([
          {
            paths: ['/api/articles/caching-pyramids/comments', '/api/articles/caching-pyramids/comments?*'],
            tags: ['comments:caching-pyramids'],
            reason: 'comment on caching-pyramids',
          },
        ]);
      } finally {
        await offline.drain();
        deadClient.redis.disconnect();
      }
    });

    it('answers 201 for a stored comment even when its invalidation event cannot be published, and says so in the log', async () => {
      eventBridge.on(PutEventsCommand).rejects(new Error('EventBridge unavailable'));
      const errors: string[] = [];
      const logged = articlesApi({ logger: { warn: (message) => errors.push(message), error: (message) => errors.push(message) } });
      await logged.handle(event('/api/articles/caching-pyramids/comments'));
      const posted = await logged.handle(
        event('/api/articles/caching-pyramids/comments', { method: 'POST', sub: 'grace', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'Kept.' }) }),
      );
      expect(posted.statusCode).toBe(201);
      expect(errors).toEqual(['comment stored but the CacheInvalidation event not published; its pages live until their TTL']);
      expect(redis.cli('EXISTS', comments.key(keys, { slug: 'caching-pyramids', page: 1 }))).toBe('0');
      await logged.drain();
    });

    it('refuses a comment without a token, with a bad body, or on an article that is not published', async () => {
      const post = (slug: string, options: { sub?: string; body?: string; type?: string }) =>
        api.handle(event(`/api/articles/${slug}/comments`, { method: 'POST', sub: options.sub, headers: { 'content-type': options.type ?? 'application/json' }, body: options.body }));
      expect((await post('caching-pyramids', { body: '{"text":"hi"}' })).statusCode).toBe(401);
      expect((await post('caching-pyramids', { sub: 'grace', body: '{"text":""}' })).statusCode).toBe(400);
      expect((await post('caching-pyramids', { sub: 'grace', body: '{"text":"hi"}', type: 'text/plain' })).statusCode).toBe(400);
      expect((await post('stampedes', { sub: 'grace', body: '{"text":"hi"}' })).statusCode).toBe(404);
      expect((await pool.query('SELECT count(*)::int AS n FROM comments')).rows[0].n).toBe(0);
    });
  });

  describe("an author's drafts", () => {
    it('are answered private to their author only, cached in Redis without L1, and 404 to anyone else', async () => {
      const own = await api.handle(event('/api/authors/ada/drafts', { sub: 'ada' }));
      expect(own.statusCode).toBe(200);
      expect(own.headers?.['cache-control']).toBe('private, max-age=0, no-cache');
      expect(JSON.parse(own.body!).drafts).toEqual([{ slug: 'stampedes', title: 'Stampedes', version: 1 }]);
      expect(redis.cli('EXISTS', drafts.key(keys, { author: 'ada' }))).toBe('1');
      expect((await api.handle(event('/api/authors/ada/drafts', { sub: 'ada' }))).headers?.['x-cache']).toBe('redis');
      expect((await api.handle(event('/api/authors/ada/drafts', { sub: 'bob' }))).statusCode).toBe(404);
      expect((await api.handle(event('/api/authors/ada/drafts'))).statusCode).toBe(401);
    });
  });
});
