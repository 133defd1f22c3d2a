/**
 * The generic resource API over real Redis (both topologies): one declaration per resource, and
 * every header, status and cache layer derived from it. The origin is an in-memory table whose
 * every load is counted, standing for the app's own loader.
 */
import {
  bindResource,
  CacheClient,
  CacheKeys,
  createResourceApi,
  defineResource,
  DEFAULT_TTL_SECONDS,
  OriginUnavailableError,
  ParamKind,
  ReadThroughCache,
  ReadThroughCacheDeps,
  ResourceApiOptions,
  Sharing,
  TagIndex,
  strongETag,
  TtlClass,
} from 'cache-pyramid/runtime';
import { describeEachTopology } from '../../../support/topologies';
import { apiEvent, json } from '../../api/support';
import { connectClient, freshKeys } from '../cache/support';

interface Article {
  readonly id: number;
  readonly title: string;
  readonly version: number;
}

interface Draft {
  readonly id: number;
  readonly author: string;
  readonly text: string;
}

const article = defineResource<Article>({
  name: 'article',
  path: '/api/articles/{id}',
  sharing: Sharing.PUBLIC,
  ttl: 600,
  version: (a) => a.version,
});

const articleList = defineResource<{ ids: number[] }>({
  name: 'article-list',
  path: '/api/articles',
  query: { topic: { kind: ParamKind.SLUG }, page: { kind: ParamKind.PAGE, default: 1 } },
  sharing: Sharing.PUBLIC,
  ttl: TtlClass.PRODUCT_LIST,
  tags: (list, params) => [`topic:${params.topic ?? 'all'}`, ...list.ids.map((id) => `article:${id}`)],
});

const author = defineResource<{ id: number; name: string }>({
  name: 'author',
  path: '/api/authors/{id}',
  sharing: Sharing.PER_SUBJECT,
  subjectParam: 'id',
  ttl: TtlClass.USER_PROFILE,
});

const draft = defineResource<Draft>({
  name: 'draft',
  path: '/api/drafts/{id}',
  sharing: Sharing.PER_SUBJECT,
  ownerOf: (d) => d.author,
  ttl: 120,
});

/** A shelf's items, 10 per page; `last` pages of a shelf are counted by `lastPage`. */
const shelfItems = defineResource<{ shelf: string; page: number; items: number[] }>({
  name: 'shelf-items',
  path: '/api/shelves/{shelf}/items',
  params: { shelf: ParamKind.SLUG },
  query: { page: { kind: ParamKind.PAGE, default: 1 } },
  sharing: Sharing.PUBLIC,
  ttl: TtlClass.PRODUCT_LIST,
  tags: (_value, params) => [`shelf:${params.shelf}`],
  paging: { pageParam: 'page', listTags: (params) => [`shelf:${params.shelf}`] },
});

/** A reader's saved items, paged, for that reader only. */
const savedItems = defineResource<{ items: number[] }>({
  name: 'saved-items',
  path: '/api/readers/{id}/saved',
  query: { page: { kind: ParamKind.PAGE, default: 1 } },
  sharing: Sharing.PER_SUBJECT,
  subjectParam: 'id',
  ttl: TtlClass.USER_PROFILE,
  paging: { pageParam: 'page', listTags: (params) => [`saved:${params.id}`] },
});

const PUBLIC_ARTICLE = 'public, max-age=600, stale-while-revalidate=60, stale-if-error=86400';
const PRIVATE = 'private, max-age=0, no-cache';

/** The origin: rows by resource, each load counted. */
class Origin {
  loads = 0;
  failing: Error | undefined;
  readonly articles = new Map<number, Article>([
    [1, { id: 1, title: 'Caching pyramids', version: 3 }],
    [2, { id: 2, title: 'Edge cases', version: 1 }],
  ]);
  readonly drafts = new Map<number, Draft>([
    [10, { id: 10, author: '7', text: 'mine' }],
    [11, { id: 11, author: '8', text: 'theirs' }],
  ]);

  async load<T>(answer: () => T | undefined): Promise<T | null> {
    this.loads += 1;
    if (this.failing) throw this.failing;
    return answer() ?? null;
  }
}

describeEachTopology('createResourceApi', (topology) => {
  const clients: CacheClient[] = [];

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit()));
  });

  async function build(options: { cache?: Partial<ReadThroughCacheDeps>; api?: Partial<ResourceApiOptions>; keys?: CacheKeys } = {}) {
    const keys = options.keys ?? freshKeys(topology.current());
    const client = await connectClient(topology.current());
    clients.push(client);
    const origin = new Origin();
    const deps = { client, keys, ttls: DEFAULT_TTL_SECONDS, earlyRefreshBeta: 0, ...options.cache };
    const cache = new ReadThroughCache(deps);
    const personalCache = new ReadThroughCache({ ...deps, l1: false });
    const tagIndex = new TagIndex(client, keys);
    const api = createResourceApi({
      tagIndex,
      bindings: [
        bindResource({ resource: article, load: (params) => origin.load(() => origin.articles.get(params.id as number)) }),
        bindResource({
          resource: articleList,
          load: (params) => origin.load(() => (params.topic === 'none' ? undefined : { ids: [...origin.articles.keys()].map((id) => id * (params.page as number)) })),
          notFoundMessage: (params) => `topic ${params.topic} does not exist`,
        }),
        bindResource({ resource: author, load: (params) => origin.load(() => (params.id === 7 ? { id: 7, name: 'Ada' } : undefined)) }),
        bindResource({ resource: draft, load: (params) => origin.load(() => origin.drafts.get(params.id as number)) }),
      ],
      cache,
      personalCache,
      keys,
      ttls: DEFAULT_TTL_SECONDS,
      ...options.api,
    });
    return { api, origin, keys, cache, personalCache, tagIndex, handle: async (...args: Parameters<typeof apiEvent>) => (await api.handle(apiEvent(...args)))! };
  }

  describe('a public resource', () => {
    test('answers with public headers derived from the declaration, then from L1 without another load', async () => {
      const { handle, origin } = await build();
      const first = await handle('/api/articles/1');
      expect(first.statusCode).toBe(200);
      expect(json(first.body)).toEqual({ id: 1, title: 'Caching pyramids', version: 3 });
      expect(first.headers).toEqual({
        'content-type': 'application/json; charset=utf-8',
        'x-content-type-options': 'nosniff',
        'cache-control': PUBLIC_ARTICLE,
        vary: 'Accept-Encoding',
        etag: strongETag(first.body),
        'x-cache': 'origin',
      });
      expect(await handle('/api/articles/1')).toMatchObject({ statusCode: 200, body: first.body, headers: { 'x-cache': 'l1', etag: first.headers.etag } });
      expect(origin.loads).toBe(1);
    });

    test('is stored under the key the declaration derives, with its version', async () => {
      const { handle, keys, cache } = await build({ cache: { l1: false } });
      await handle('/api/articles/2');
      const read = await cache.get(article.key(keys, { id: 2 }), article.ttl, async () => {
        throw new Error('must be a hit');
      });
      expect(read).toMatchObject({ source: 'redis', version: 1, value: { title: 'Edge cases' } });
    });

    test('another instance answers from Redis; max-age counts down with the time spent in the cache', async () => {
      let now = Date.now();
      const clock = () => now;
      const writer = await build({ cache: { clock, l1: false }, api: { clock } });
      await writer.handle('/api/articles/1');
      now += 100_000;
      const reader = await build({ keys: writer.keys, cache: { clock, l1: false }, api: { clock } });
      const aged = await reader.handle('/api/articles/1');
      expect(aged.headers).toMatchObject({ 'x-cache': 'redis', 'cache-control': 'public, max-age=500, stale-while-revalidate=60, stale-if-error=86400' });
      expect(reader.origin.loads).toBe(0);
    });

    test('If-None-Match with the current ETag gets 304 with the same caching headers; HEAD gets no body', async () => {
      const { handle } = await build();
      const full = await handle('/api/articles/1');
      const revalidated = await handle('/api/articles/1', { headers: { 'if-none-match': `W/${full.headers.etag}` } });
      expect(revalidated).toMatchObject({ statusCode: 304, body: '', headers: { etag: full.headers.etag, 'cache-control': PUBLIC_ARTICLE } });
      const head = await handle('/api/articles/1', { method: 'HEAD' });
      expect(head).toMatchObject({ statusCode: 200, body: '', headers: { etag: full.headers.etag } });
    });

    test('a request with credentials gets a private answer of the same value', async () => {
      const { handle } = await build();
      const withToken = await handle('/api/articles/1', { headers: { authorization: 'Bearer t' } });
      expect(withToken.headers['cache-control']).toBe(PRIVATE);
      expect(withToken.headers).not.toHaveProperty('vary');
      expect((await handle('/api/articles/1', { cookies: ['s=1'] })).headers['cache-control']).toBe(PRIVATE);
    });

    test('a missing value is 404 no-store with the default message, negatively cached', async () => {
      const { handle, origin } = await build();
      const missing = await handle('/api/articles/99');
      expect(missing).toMatchObject({ statusCode: 404, headers: { 'cache-control': 'no-store', 'x-cache': 'origin' } });
      expect(json(missing.body)).toEqual({ error: { code: 'not_found', message: 'article /api/articles/99 does not exist' } });
      expect((await handle('/api/articles/99')).headers['x-cache']).toBe('l1');
      expect(origin.loads).toBe(1);
    });

    test('a binding names its own 404 message', async () => {
      const { handle } = await build();
      expect(json((await handle('/api/articles', { query: 'topic=none' })).body)).toEqual({ error: { code: 'not_found', message: 'topic none does not exist' } });
    });

    test('an origin outage with nothing cached is 503 with Retry-After; an unexpected error is a 500 that is logged', async () => {
      const errors: unknown[] = [];
      const { handle, origin } = await build({ api: { logger: { warn: () => undefined, error: (_m, a) => errors.push(a) } } });
      origin.failing = new OriginUnavailableError('down', 7);
      expect(await handle('/api/articles/1')).toMatchObject({ statusCode: 503, headers: { 'retry-after': '7', 'cache-control': 'no-store' } });
      origin.failing = new Error('bug');
      expect(await handle('/api/articles/2')).toMatchObject({ statusCode: 500 });
      expect(errors).toHaveLength(1);
    });
  });

  describe('query strings', () => {
    test('the canonical spelling is answered', async () => {
      const { handle } = await build();
      const res = await handle('/api/articles', { query: 'page=2&topic=cache' });
      expect(res.statusCode).toBe(200);
      expect(json(res.body)).toEqual({ ids: [2, 4] });
    });

    test.each([
      ['topic=cache&page=2', '/api/articles?page=2&topic=cache'],
      ['page=1', '/api/articles'],
      ['page=%31', '/api/articles'],
      ['topic=cache&page=1', '/api/articles?topic=cache'],
      ['top%69c=cache', '/api/articles?topic=cache'],
    ])('?%s is a 308 to %s, before any load', async (query, location) => {
      const { handle, origin } = await build();
      const res = await handle('/api/articles', { query });
      expect(res).toMatchObject({ statusCode: 308, headers: { location, 'cache-control': 'public, max-age=3600' } });
      expect(json(res.body)).toEqual({ location });
      expect(origin.loads).toBe(0);
    });

    test.each([
      ['page=0', 'page'],
      ['page=%3', 'page'],
      ['topic=Cache', 'topic'],
      ['sort=new', 'sort'],
      ['page=2&page=2', 'page'],
    ])('?%s is 400 naming %s, before any load', async (query, field) => {
      const { handle, origin } = await build();
      const res = await handle('/api/articles', { query });
      expect(res).toMatchObject({ statusCode: 400, headers: { 'cache-control': 'no-store' } });
      expect((json(res.body) as { error: { field: string } }).error).toMatchObject({ code: 'invalid_request', field });
      expect(origin.loads).toBe(0);
    });
  });

  describe('a loader that decides', () => {
    test("setTtl gives this value its own TTL, which max-age follows; skipCache answers it no-store and keeps it out of the cache", async () => {
      const keys = freshKeys(topology.current());
      const client = await connectClient(topology.current());
      clients.push(client);
      const cache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, earlyRefreshBeta: 0 });
      let loads = 0;
      const api = createResourceApi({
        bindings: [
          bindResource({
            resource: article,
            load: async (params, context) => {
              loads += 1;
              if (params.id === 1) context.setTtl(30);
              else context.skipCache();
              return { id: params.id as number, title: 'decided', version: 1 };
            },
          }),
        ],
        cache,
        keys,
        ttls: DEFAULT_TTL_SECONDS,
      });
      const short = (await api.handle(apiEvent('/api/articles/1')))!;
      expect(short.headers['cache-control']).toBe('public, max-age=30, stale-while-revalidate=60, stale-if-error=86400');
      expect((await api.handle(apiEvent('/api/articles/1')))!.headers).toMatchObject({ 'x-cache': 'l1', 'cache-control': 'public, max-age=30, stale-while-revalidate=60, stale-if-error=86400' });
      for (let i = 0; i < 2; i++) expect((await api.handle(apiEvent('/api/articles/2')))!.headers).toMatchObject({ 'x-cache': 'origin', 'cache-control': 'no-store' });
      expect(loads).toBe(3);
    });
  });

  describe('the loader policy of a declaration', () => {
    test('hardTimeoutMs answers 503 with Retry-After well before a hung origin', async () => {
      const slow = defineResource<{ id: number }>({ name: 'slow', path: '/api/slow/{id}', sharing: Sharing.PUBLIC, ttl: 60, loader: { hardTimeoutMs: 200 } });
      const keys = freshKeys(topology.current());
      const client = await connectClient(topology.current());
      clients.push(client);
      const cache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, lock: { ttlMs: 10_000 } });
      const api = createResourceApi({
        bindings: [bindResource({ resource: slow, load: async (params) => (await new Promise((r) => setTimeout(r, 5_000)), { id: params.id as number }) })],
        cache,
        keys,
        ttls: DEFAULT_TTL_SECONDS,
      });
      const started = performance.now();
      expect(await api.handle(apiEvent('/api/slow/1'))).toMatchObject({ statusCode: 503, headers: { 'retry-after': '5', 'cache-control': 'no-store' } });
      expect(performance.now() - started).toBeLessThan(4_000);
      await cache.drain();
    });
  });

  describe('a tagged resource', () => {
    test('its key and CDN path are recorded under each tag it declares; invalidating one tag sends the next read to the origin', async () => {
      const { handle, origin, keys, tagIndex } = await build();
      expect((await handle('/api/articles', { query: 'page=2&topic=cache' })).headers['x-cache']).toBe('origin');
      expect((await handle('/api/articles', { query: 'page=2&topic=cache' })).headers['x-cache']).toBe('l1');
      const invalidated = await tagIndex.invalidate(['article:4']);
      const key = articleList.key(keys, { page: 2, topic: 'cache' });
      expect(invalidated).toMatchObject({ unlinked: 1, keys: [key], cdnPaths: ['/api/articles?page=2&topic=cache'], unknownTags: [] });
      expect(await tagIndex.invalidate(['topic:cache'])).toMatchObject({ unlinked: 0, keys: [key], cdnPaths: ['/api/articles?page=2&topic=cache'], unknownTags: [] });
      const again = await build({ keys });
      expect((await again.handle('/api/articles', { query: 'page=2&topic=cache' })).headers['x-cache']).toBe('origin');
      expect(origin.loads + again.origin.loads).toBe(2);
    });

    test('a resource declaring tags needs a tag index', async () => {
      const { keys, cache } = await build();
      expect(() => createResourceApi({ bindings: [{ resource: articleList, load: async () => null }], cache, keys, ttls: DEFAULT_TTL_SECONDS })).toThrow(
        /tagIndex is required: resource article-list declares tags/,
      );
    });
  });

  describe('a paged list', () => {
    const PER_PAGE = 10;

    async function buildShelves(options: { lastPage?: (count: number) => number } = {}) {
      const { keys, cache, personalCache, tagIndex } = await build();
      const shelves = new Map<string, number>([['tea', 25], ['empty', 0]]);
      const counted = { pages: 0, counts: 0 };
      const errors: string[] = [];
      const api = createResourceApi({
        bindings: [
          bindResource({
            resource: shelfItems,
            load: async (params) => {
              counted.pages += 1;
              const size = shelves.get(String(params.shelf));
              if (size === undefined) return null;
              const from = ((params.page as number) - 1) * PER_PAGE;
              return { shelf: String(params.shelf), page: params.page as number, items: Array.from({ length: Math.max(0, Math.min(PER_PAGE, size - from)) }, (_, i) => from + i + 1) };
            },
            lastPage: async (params) => {
              counted.counts += 1;
              expect(params.page).toBeUndefined();
              const size = shelves.get(String(params.shelf));
              if (size === undefined) return null;
              return (options.lastPage ?? ((n) => Math.max(1, Math.ceil(n / PER_PAGE))))(size);
            },
            notFoundMessage: (params) => `shelf ${params.shelf} does not exist`,
          }),
          bindResource({ resource: savedItems, load: async () => ({ items: [1] }), lastPage: async () => 1 }),
        ],
        cache,
        personalCache,
        tagIndex,
        keys,
        ttls: DEFAULT_TTL_SECONDS,
        logger: { warn: (message) => errors.push(message), error: (message) => errors.push(message) },
      });
      const handle = async (...args: Parameters<typeof apiEvent>) => (await api.handle(apiEvent(...args)))!;
      return { handle, shelves, counted, tagIndex, keys, cache, errors };
    }

    test('a page past the last is 404 no-store from the cached last page number; its loader never runs', async () => {
      const { handle, counted } = await buildShelves();
      for (let page = 4; page < 54; page++) {
        const past = await handle('/api/shelves/tea/items', { query: `page=${page}` });
        expect(past).toMatchObject({ statusCode: 404, headers: { 'cache-control': 'no-store', 'x-cache': page === 4 ? 'origin' : expect.stringMatching(/^(l1|redis)$/) } });
        expect(json(past.body)).toEqual({ error: { code: 'not_found', message: `page ${page} is past the last page (3) of /api/shelves/tea/items` } });
      }
      expect(counted).toEqual({ pages: 0, counts: 1 });
      expect(json((await handle('/api/shelves/tea/items', { query: 'page=3' })).body)).toMatchObject({ items: [21, 22, 23, 24, 25] });
      expect(counted).toEqual({ pages: 1, counts: 1 });
    });

    test('page 1 is loaded without a count, also for an empty list, whose page 2 is 404', async () => {
      const { handle, counted } = await buildShelves();
      const first = await handle('/api/shelves/empty/items');
      expect(first.statusCode).toBe(200);
      expect(json(first.body)).toMatchObject({ items: [] });
      expect(counted).toEqual({ pages: 1, counts: 0 });
      expect((await handle('/api/shelves/empty/items', { query: 'page=2' })).statusCode).toBe(404);
    });

    test('a list that does not exist is the 404 of its binding from page 2 on, negatively cached', async () => {
      const { handle, counted } = await buildShelves();
      for (const page of [2, 3]) {
        const missing = await handle('/api/shelves/nowhere/items', { query: `page=${page}` });
        expect(missing).toMatchObject({ statusCode: 404, headers: { 'cache-control': 'no-store' } });
        expect(json(missing.body)).toEqual({ error: { code: 'not_found', message: 'shelf nowhere does not exist' } });
      }
      expect(counted).toEqual({ pages: 0, counts: 1 });
    });

    test('a purge of a list tag drops the last page number: the page an item opened answers 200 at once', async () => {
      const { handle, shelves, tagIndex, keys, cache } = await buildShelves();
      expect((await handle('/api/shelves/tea/items', { query: 'page=4' })).statusCode).toBe(404);
      shelves.set('tea', 31);
      // What a write adding the item does after its commit: purge the list's tag in Redis, then its own L1 copies.
      const purged = await tagIndex.invalidate(['shelf:tea']);
      expect(purged).toMatchObject({ keys: [shelfItems.lastPageKey(keys, { shelf: 'tea', page: 4 })], cdnPaths: [] });
      await cache.forgetTagged(['shelf:tea'], purged.keys);
      const opened = await handle('/api/shelves/tea/items', { query: 'page=4' });
      expect(opened.statusCode).toBe(200);
      expect(json(opened.body)).toMatchObject({ items: [31] });
    });

    test('a last page number that is no positive integer is a bug: 500, logged', async () => {
      const { handle, errors } = await buildShelves({ lastPage: () => 0 });
      expect((await handle('/api/shelves/tea/items', { query: 'page=2' })).statusCode).toBe(500);
      expect(errors).toEqual(['unexpected error answering a resource']);
    });

    test("a per-subject list's page past the end says nothing of where it came from; another subject gets the same 404", async () => {
      const { handle } = await buildShelves();
      const past = await handle('/api/readers/7/saved', { query: 'page=2', claims: { sub: '7' } });
      expect(past.statusCode).toBe(404);
      expect(past.headers).not.toHaveProperty('x-cache');
      expect((await handle('/api/readers/7/saved', { query: 'page=2', claims: { sub: '8' } })).statusCode).toBe(404);
    });

    test('paging needs a lastPage in the binding and a tag index; lastPage needs paging', async () => {
      const { keys, cache, tagIndex } = await build();
      const load = async () => null;
      expect(() => createResourceApi({ bindings: [{ resource: shelfItems, load }], cache, tagIndex, keys, ttls: DEFAULT_TTL_SECONDS })).toThrow(
        new RangeError("bindings: resource shelf-items declares paging, so its binding needs lastPage(params), the number of the list's last page"),
      );
      expect(() => createResourceApi({ bindings: [{ resource: article, load, lastPage: async () => 1 }], cache, tagIndex, keys, ttls: DEFAULT_TTL_SECONDS })).toThrow(
        new RangeError('bindings: resource article has lastPage but declares no paging; declare paging: { pageParam, listTags }'),
      );
      const pagedOnly = defineResource({ name: 'paged-only', path: '/api/paged', query: { page: { kind: ParamKind.PAGE, default: 1 } }, sharing: Sharing.PUBLIC, ttl: 60, paging: { pageParam: 'page', listTags: () => ['all'] } });
      expect(() => createResourceApi({ bindings: [{ resource: pagedOnly, load, lastPage: async () => 1 }], cache, keys, ttls: DEFAULT_TTL_SECONDS })).toThrow(
        new RangeError('tagIndex is required: resource paged-only declares paging, which must be recorded before a value is cached'),
      );
    });
  });

  describe('a per-subject resource with subjectParam', () => {
    test('the subject reads their own value privately, from Redis and never from L1', async () => {
      const { handle, origin } = await build();
      const own = await handle('/api/authors/7', { claims: { sub: '7' } });
      expect(own).toMatchObject({ statusCode: 200, headers: { 'cache-control': PRIVATE, 'x-cache': 'origin' } });
      expect(own.headers).not.toHaveProperty('vary');
      expect((await handle('/api/authors/7', { claims: { sub: '7' } })).headers['x-cache']).toBe('redis');
      expect(origin.loads).toBe(1);
    });

    test("another subject's value is the same 404 as a missing one, and nothing is loaded", async () => {
      const { handle, origin } = await build();
      const other = await handle('/api/authors/7', { claims: { sub: '8' } });
      const missing = await handle('/api/authors/8', { claims: { sub: '8' } });
      expect(other.statusCode).toBe(404);
      expect(missing.statusCode).toBe(404);
      expect(other.body).toBe(missing.body.replace('/8', '/7'));
      expect(other.headers['cache-control']).toBe('no-store');
      expect(origin.loads).toBe(1);
    });

    test('without a verified subject the answer is 401, even for a malformed id', async () => {
      const { handle, origin } = await build();
      expect(await handle('/api/authors/7')).toMatchObject({ statusCode: 401, headers: { 'www-authenticate': 'Bearer' } });
      expect((await handle('/api/authors/x')).statusCode).toBe(401);
      expect((await handle('/api/authors/x', { claims: { sub: '7' } })).statusCode).toBe(400);
      expect(origin.loads).toBe(0);
    });

    test('a custom subjectOf decides who the caller is', async () => {
      const { handle } = await build({ api: { subjectOf: (event) => event.headers['x-user'] ?? '' } });
      expect((await handle('/api/authors/7', { headers: { 'x-user': '7' } })).statusCode).toBe(200);
    });
  });

  describe('a per-subject resource with ownerOf', () => {
    test("the owner reads it; another subject gets exactly the 404 of a missing value", async () => {
      const { handle } = await build();
      expect((await handle('/api/drafts/10', { claims: { sub: '7' } })).statusCode).toBe(200);
      const notMine = await handle('/api/drafts/11', { claims: { sub: '7' } });
      const missing = await handle('/api/drafts/12', { claims: { sub: '7' } });
      expect(notMine).toMatchObject({ statusCode: 404, headers: { 'cache-control': 'no-store' } });
      expect(json(notMine.body)).toEqual({ error: { code: 'not_found', message: 'draft /api/drafts/11 does not exist' } });
      expect(notMine.body.replace('/11', '/12')).toBe(missing.body);
      expect(notMine.headers).toEqual(missing.headers);
      expect(notMine.headers).not.toHaveProperty('x-cache');
    });
  });

  describe('routing', () => {
    test('a path of no bound resource is left to the caller', async () => {
      const { api } = await build();
      expect(await api.handle(apiEvent('/api/articles/1/comments'))).toBeUndefined();
      expect(await api.handle(apiEvent('/health'))).toBeUndefined();
    });

    test('another method is 405 with Allow; a body is 400', async () => {
      const { handle, origin } = await build();
      expect(await handle('/api/articles/1', { method: 'DELETE' })).toMatchObject({ statusCode: 405, headers: { allow: 'GET, HEAD' } });
      const withBody = await handle('/api/articles/1', { body: '{}' });
      expect((json(withBody.body) as { error: { field: string } }).error.field).toBe('body');
      expect(origin.loads).toBe(0);
    });

    test('bad bindings are refused naming the prop', async () => {
      const { keys, cache } = await build();
      const load = async () => null;
      expect(() => createResourceApi({ bindings: [{ resource: draft, load }], cache, keys, ttls: DEFAULT_TTL_SECONDS })).toThrow(/personalCache is required: resource draft/);
      expect(() => createResourceApi({ bindings: [{ resource: article, load }, { resource: article, load }], cache, keys, ttls: DEFAULT_TTL_SECONDS })).toThrow(/resource name article is bound twice/);
    });
  });
});
