import { OriginVerifier, strongETag, MAX_ID, REQUEST_LIMITS } from 'cache-pyramid/runtime';
import { SEED_CONFIG, userSubject } from '../../../db/seed/seed';
import { user } from '../../../lambda/shop/resources';
import { describeEachTopology } from '../../support/topologies';
import { freshKeys } from '../runtime/cache/support';
import { apiEvent, buildApi, json, useApiServers } from './support';

const PUBLIC_PRODUCT = 'public, max-age=3600, stale-while-revalidate=60, stale-if-error=86400';
const PRIVATE = 'private, max-age=0, no-cache';

describeEachTopology('API routes', (topology) => {
  const servers = useApiServers(topology, { products: 60, users: 10 });

  /** A fresh API (its own key namespace, connection and L1) over the shared servers. */
  async function freshApi(options: Parameters<typeof buildApi>[3] = {}) {
    const keys = freshKeys(topology.current());
    const client = await servers.client();
    return { ...buildApi(servers.pool, keys, client, options), keys, client };
  }

  async function productRow(id: number) {
    const { rows } = await servers.pool.query('select p.*, c.slug from products p join categories c on c.id = p.category_id where p.id = $1', [id]);
    return rows[0];
  }

  describe('GET /api/products/{id}', () => {
    test('answers the product with public caching headers, then from L1 without another query', async () => {
      const api = await freshApi();
      const first = await api.handle(apiEvent('/api/products/7'));
      const row = await productRow(7);
      expect(first.statusCode).toBe(200);
      expect(json(first.body)).toEqual({
        id: 7,
        sku: row.sku,
        name: row.name,
        description: row.description,
        category: row.slug,
        priceCents: row.price_cents,
        stock: row.stock,
        version: 1,
        updatedAt: row.updated_at.toISOString(),
      });
      expect(first.headers).toEqual({
        'content-type': 'application/json; charset=utf-8',
        'x-content-type-options': 'nosniff',
        'cache-control': PUBLIC_PRODUCT,
        vary: 'Accept-Encoding',
        etag: strongETag(first.body),
        'x-cache': 'origin',
      });
      const second = await api.handle(apiEvent('/api/products/7'));
      expect(second).toMatchObject({ statusCode: 200, body: first.body, headers: { 'x-cache': 'l1', etag: first.headers.etag } });
      expect(api.db.statements).toBe(1);
    });

    test('another process answers from Redis: hits never reach PostgreSQL', async () => {
      const writer = await freshApi({ cache: { l1: false } });
      await writer.handle(apiEvent('/api/products/8'));
      const reader = buildApi(servers.pool, writer.keys, writer.client, { cache: { l1: false } });
      for (let i = 0; i < 5; i++) {
        const res = await reader.handle(apiEvent('/api/products/8'));
        expect(res).toMatchObject({ statusCode: 200, headers: { 'x-cache': 'redis', 'cache-control': PUBLIC_PRODUCT } });
      }
      expect(writer.db.statements + reader.db.statements).toBe(1);
    });

    test('If-None-Match with the current ETag (alone, weak, in a list, or *) gets 304 without a body', async () => {
      const api = await freshApi();
      const full = await api.handle(apiEvent('/api/products/9'));
      const etag = full.headers.etag;
      for (const header of [etag, `W/${etag}`, `"stale", ${etag}`, '*']) {
        const res = await api.handle(apiEvent('/api/products/9', { headers: { 'if-none-match': header } }));
        expect(res.statusCode).toBe(304);
        expect(res.body).toBe('');
        expect(res.headers).toMatchObject({ etag, 'cache-control': PUBLIC_PRODUCT, vary: 'Accept-Encoding' });
      }
      const changed = await api.handle(apiEvent('/api/products/9', { headers: { 'if-none-match': '"something-else"' } }));
      expect(changed).toMatchObject({ statusCode: 200, body: full.body });
    });

    test('max-age counts down with the time the value has spent in the cache; past its soft TTL it is served stale and refreshed', async () => {
      let now = Date.now();
      const clock = () => now;
      const api = await freshApi({ cache: { clock, l1: false }, api: { clock } });
      await api.handle(apiEvent('/api/products/10'));
      now += 1000 * 1000;
      const aged = await api.handle(apiEvent('/api/products/10'));
      expect(aged.headers).toMatchObject({ 'x-cache': 'redis', 'cache-control': 'public, max-age=2600, stale-while-revalidate=60, stale-if-error=86400' });
      now += 3000 * 1000;
      const stale = await api.handle(apiEvent('/api/products/10'));
      expect(stale).toMatchObject({ statusCode: 200, headers: { 'x-cache': 'stale', 'cache-control': 'public, max-age=0, stale-while-revalidate=60, stale-if-error=86400' } });
      await api.cache.drain();
      expect(api.db.statements).toBe(2);
      const refreshed = await api.handle(apiEvent('/api/products/10'));
      expect(refreshed.headers).toMatchObject({ 'x-cache': 'redis', 'cache-control': PUBLIC_PRODUCT });
    });

    test('a missing product is 404, no-store, and negatively cached', async () => {
      const api = await freshApi();
      const first = await api.handle(apiEvent('/api/products/999999'));
      expect(first).toMatchObject({ statusCode: 404, headers: { 'cache-control': 'no-store', 'x-cache': 'origin' } });
      expect(json(first.body)).toEqual({ error: { code: 'not_found', message: 'product 999999 does not exist' } });
      const again = await api.handle(apiEvent('/api/products/999999'));
      expect(again).toMatchObject({ statusCode: 404, headers: { 'x-cache': 'l1' } });
      expect(api.db.statements).toBe(1);
    });

    test('a request with credentials gets a private answer, even on a public route', async () => {
      const api = await freshApi();
      const withToken = await api.handle(apiEvent('/api/products/11', { headers: { authorization: 'Bearer abc' } }));
      expect(withToken.headers['cache-control']).toBe(PRIVATE);
      expect(withToken.headers).not.toHaveProperty('vary');
      const withCookie = await api.handle(apiEvent('/api/products/11', { cookies: ['session=1'] }));
      expect(withCookie.headers['cache-control']).toBe(PRIVATE);
      const anonymous = await api.handle(apiEvent('/api/products/11'));
      expect(anonymous.headers['cache-control']).toBe(PUBLIC_PRODUCT);
    });

    test('HEAD answers the headers of GET without the body', async () => {
      const api = await freshApi();
      const get = await api.handle(apiEvent('/api/products/12'));
      const head = await api.handle(apiEvent('/api/products/12', { method: 'HEAD' }));
      expect(head).toMatchObject({ statusCode: 200, body: '', headers: { etag: get.headers.etag, 'cache-control': PUBLIC_PRODUCT } });
    });
  });

  describe('GET /api/products', () => {
    test('lists a page of a category with public caching headers, from the cache the second time', async () => {
      const api = await freshApi();
      const res = await api.handle(apiEvent('/api/products', { query: 'category=books' }));
      expect(res.statusCode).toBe(200);
      expect(res.headers).toMatchObject({ 'cache-control': 'public, max-age=300, stale-while-revalidate=60, stale-if-error=86400', vary: 'Accept-Encoding', 'x-cache': 'origin' });
      const page = json(res.body) as { category: string; page: number; pageSize: number; items: { id: number; category: string }[] };
      const { rows } = await servers.pool.query(`select p.id from products p join categories c on c.id = p.category_id where c.slug = 'books' order by p.id limit 20`);
      expect(page).toMatchObject({ category: 'books', page: 1, pageSize: 20 });
      expect(page.items.map((p) => p.id)).toEqual(rows.map((r) => Number(r.id)));
      expect((await api.handle(apiEvent('/api/products', { query: 'category=books' }))).headers['x-cache']).toBe('l1');
      expect(api.db.statements).toBe(1);
    });

    test('without parameters lists page 1 of everything; pages are stable and distinct', async () => {
      const api = await freshApi();
      const one = json((await api.handle(apiEvent('/api/products'))).body) as { items: { id: number }[]; hasMore: boolean };
      const three = json((await api.handle(apiEvent('/api/products', { query: 'page=3' }))).body) as { items: { id: number }[]; hasMore: boolean };
      expect(one.items.map((p) => p.id)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(three.items.map((p) => p.id)).toEqual(Array.from({ length: 20 }, (_, i) => i + 41));
      expect([one.hasMore, three.hasMore]).toEqual([true, false]);
    });

    test('another spelling of a valid query is a 308 to the canonical URL, before any read', async () => {
      const api = await freshApi();
      for (const [query, location] of [
        ['category=books&page=1', '/api/products?category=books'],
        ['page=2&category=books', '/api/products?category=books&page=2'],
        ['page=%31', '/api/products'],
      ]) {
        const res = await api.handle(apiEvent('/api/products', { query }));
        expect(res).toMatchObject({ statusCode: 308, headers: { location } });
      }
      expect(api.db.statements).toBe(0);
    });

    test('an unknown category is 404, no-store, negatively cached', async () => {
      const api = await freshApi({ cache: { l1: false } });
      const first = await api.handle(apiEvent('/api/products', { query: 'category=unicorns' }));
      expect(first).toMatchObject({ statusCode: 404, headers: { 'cache-control': 'no-store' } });
      expect(json(first.body)).toEqual({ error: { code: 'not_found', message: 'category unicorns does not exist' } });
      const statements = api.db.statements;
      expect((await api.handle(apiEvent('/api/products', { query: 'category=unicorns' }))).headers['x-cache']).toBe('redis');
      expect(api.db.statements).toBe(statements);
    });
  });

  describe('GET /api/users/{id}', () => {
    test('a user reads their own summary, privately, and the cached bytes hold no secret column', async () => {
      const api = await freshApi();
      const res = await api.handle(apiEvent('/api/users/3', { claims: { sub: userSubject(3) }, headers: { authorization: 'Bearer t' } }));
      expect(res.statusCode).toBe(200);
      expect(res.headers).toMatchObject({ 'cache-control': PRIVATE, 'x-cache': 'origin' });
      expect(res.headers).not.toHaveProperty('vary');
      const { rows } = await servers.pool.query('select display_name, password_hash, mfa_secret, email from users where id = 3');
      expect(json(res.body)).toEqual({ id: 3, displayName: rows[0].display_name, bio: expect.any(String), avatarUrl: expect.anything(), version: 0 });
      const raw = await servers.redis.get(user.key(api.keys, { id: 3 }));
      expect(raw).toContain(rows[0].display_name);
      for (const secret of [rows[0].password_hash, rows[0].email, ...(rows[0].mfa_secret ? [rows[0].mfa_secret] : [])]) {
        expect(raw).not.toContain(secret);
        expect(res.body).not.toContain(secret);
      }
      expect(raw).not.toMatch(/password|mfa|email/i);
      const revalidated = await api.handle(apiEvent('/api/users/3', { claims: { sub: userSubject(3) }, headers: { 'if-none-match': res.headers.etag } }));
      expect(revalidated).toMatchObject({ statusCode: 304, headers: { 'cache-control': PRIVATE, etag: res.headers.etag } });
    });

    test('without verified claims the answer is 401 and nothing is read', async () => {
      const api = await freshApi();
      const res = await api.handle(apiEvent('/api/users/3'));
      expect(res).toMatchObject({ statusCode: 401, headers: { 'cache-control': 'no-store', 'www-authenticate': 'Bearer' } });
      expect(json(res.body)).toEqual({ error: { code: 'unauthorized', message: 'a bearer token with a sub claim is required' } });
      expect(api.db.statements).toBe(0);
    });

    test("another user's record is the 404 of a missing one, and that record is not read", async () => {
      const api = await freshApi();
      const res = await api.handle(apiEvent('/api/users/4', { claims: { sub: userSubject(3) } }));
      expect(res).toMatchObject({ statusCode: 404, headers: { 'cache-control': 'no-store' } });
      expect(json(res.body)).toEqual({ error: { code: 'not_found', message: 'user 4 does not exist' } });
      // Only the token's subject is looked up (to know it is user 3); user 4's record is not read.
      expect(api.db.statements).toBe(1);
    });

    test('a sub that is the numeric user id (not a subject the identity provider issues) names no user: 404', async () => {
      const api = await freshApi();
      const res = await api.handle(apiEvent('/api/users/3', { claims: { sub: '3' } }));
      expect(res).toMatchObject({ statusCode: 404, headers: { 'cache-control': 'no-store' } });
      expect(json(res.body)).toEqual({ error: { code: 'not_found', message: 'user 3 does not exist' } });
    });

    test('a token whose user no longer exists gets 404', async () => {
      const api = await freshApi();
      const res = await api.handle(apiEvent('/api/users/777', { claims: { sub: userSubject(777) } }));
      expect(res).toMatchObject({ statusCode: 404, headers: { 'cache-control': 'no-store' } });
    });
  });

  describe('GET /api/config and /health', () => {
    test('config is every row as one public object with the config TTL', async () => {
      const api = await freshApi();
      const res = await api.handle(apiEvent('/api/config'));
      expect(res).toMatchObject({ statusCode: 200, headers: { 'cache-control': 'public, max-age=86400, stale-while-revalidate=60, stale-if-error=86400', vary: 'Accept-Encoding' } });
      expect(json(res.body)).toEqual(SEED_CONFIG);
    });

    test('health answers ok, never stored, without touching Redis or PostgreSQL', async () => {
      const api = await freshApi();
      const res = await api.handle(apiEvent('/health'));
      expect(res).toMatchObject({ statusCode: 200, headers: { 'cache-control': 'no-store' } });
      expect(json(res.body)).toEqual({ status: 'ok' });
      expect(api.db.statements).toBe(0);
      expect(api.cache.stats().reads).toBe(0);
    });
  });

  describe('bad requests', () => {
    const tooLongQuery = 'q='.padEnd(REQUEST_LIMITS.queryBytes + 1, 'x');
    const tooLongPath = '/api/products/'.padEnd(REQUEST_LIMITS.pathBytes + 1, '1');
    const short = (text: string) => (text.length > 40 ? `${text.slice(0, 20)}…(${text.length} chars)` : text);
    test.each(
      [
      ['/api/products/abc', '', 'id'],
      ['/api/products/0', '', 'id'],
      ['/api/products/-4', '', 'id'],
      ['/api/products/1.5', '', 'id'],
      ['/api/products/007', '', 'id'],
      [`/api/products/${MAX_ID + 1}`, '', 'id'],
      ['/api/products/99999999999999999999', '', 'id'],
      ['/api/products/1', 'expand=all', 'expand'],
      ['/api/products', 'categroy=books', 'categroy'],
      ['/api/products', 'page=0', 'page'],
      ['/api/products', 'page=ten', 'page'],
      ['/api/products', 'page=-1', 'page'],
      ['/api/products', 'page=1.5', 'page'],
      ['/api/products', 'page=2e3', 'page'],
      ['/api/products', 'page=', 'page'],
      ['/api/products', `page=${REQUEST_LIMITS.maxPage + 1}`, 'page'],
      ['/api/products', 'page=1&page=2', 'page'],
      ['/api/products', 'category=Books!', 'category'],
      ['/api/config', 'v=2', 'v'],
      ['/health', 'deep=1', 'deep'],
      ['/api/products/1', tooLongQuery, 'query'],
      [tooLongPath, '', 'path'],
      ].map(([path, query, field]) => ({ label: short(path) + (query ? `?${short(query)}` : ''), path, query, field })),
    )('$label is 400 naming $field', async ({ path, query, field }) => {
      const api = await freshApi();
      const res = await api.handle(apiEvent(path, { query }));
      expect(res.statusCode).toBe(400);
      expect(res.headers['cache-control']).toBe('no-store');
      expect((json(res.body) as { error: { code: string; field: string } }).error).toMatchObject({ code: 'invalid_request', field });
      expect(api.db.statements).toBe(0);
    });

    test('an id of a user is validated after authentication', async () => {
      const api = await freshApi();
      expect((await api.handle(apiEvent('/api/users/abc'))).statusCode).toBe(401);
      const res = await api.handle(apiEvent('/api/users/abc', { claims: { sub: 'abc' } }));
      expect(res.statusCode).toBe(400);
      expect((json(res.body) as { error: { field: string } }).error.field).toBe('id');
    });

    test('a body is refused with 400 naming it', async () => {
      const api = await freshApi();
      for (const body of ['{}', 'x'.repeat(100_000)]) {
        const res = await api.handle(apiEvent('/api/products/1', { body }));
        expect(res.statusCode).toBe(400);
        expect((json(res.body) as { error: { field: string } }).error.field).toBe('body');
      }
    });

    test('other methods are 405 with Allow; unknown paths 404', async () => {
      const api = await freshApi();
      const post = await api.handle(apiEvent('/api/products/1', { method: 'POST' }));
      expect(post).toMatchObject({ statusCode: 405, headers: { allow: 'GET, HEAD', 'cache-control': 'no-store' } });
      const missing = await api.handle(apiEvent('/api/nothing'));
      expect(missing).toMatchObject({ statusCode: 404, headers: { 'cache-control': 'no-store' } });
      expect(json(missing.body)).toEqual({ error: { code: 'not_found', message: 'no such route' } });
    });
  });

  describe('origin lock', () => {
    test('with a verifier, only requests carrying the secret header are served', async () => {
      const api = await freshApi({ api: { originVerifier: new OriginVerifier(async () => 'from-cloudfront') } });
      expect((await api.handle(apiEvent('/api/products/1'))).statusCode).toBe(403);
      expect((await api.handle(apiEvent('/health', { headers: { 'x-origin-verify': 'guess' } }))).statusCode).toBe(403);
      const ok = await api.handle(apiEvent('/api/products/1', { headers: { 'x-origin-verify': 'from-cloudfront' } }));
      expect(ok.statusCode).toBe(200);
      expect(api.db.statements).toBe(1);
    });
  });
});
