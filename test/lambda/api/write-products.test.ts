/**
 * PUT /api/products/{id}: cache-aside write with optimistic concurrency, tombstone, tag-set list
 * invalidation and a CacheInvalidation event — on real Redis (both topologies) and PostgreSQL, with
 * EventBridge mocked. Each race has a test that runs the same interleaving against the naive
 * version and shows it leaving stale data.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import Redis, { Cluster } from 'ioredis';
import { Pool } from 'pg';
import { CacheClient, decodeEnvelope } from '../../../lambda/runtime/cache';
import { Product, ProductPage, ProductRepository } from '../../../lambda/shop/repositories';
import { MAX_ID } from '../../../lambda/runtime/http/request';
import type { CacheKeys } from '../../../lambda/runtime/keys';
import { TtlClass } from '../../../lambda/runtime/ttl';
import { PostgresServer, RedisServer } from '../../support/servers';
import { describeEachTopology } from '../../support/topologies';
import { connectClient, freshKeys, untilAccepted } from '../runtime/cache/support';
import { seededDatabase } from '../runtime/db/support';
import { apiEvent, json, useApiServers } from './support';
import { acceptEverything, buildWriteApi, claims, publishedInvalidations, WriteApiOptions } from './write-support';
import { product as productResource, productList } from '../../../lambda/shop/resources';

const WRITER = claims(1, 'products:write');
const JSON_HEADERS = { 'content-type': 'application/json' };
const TTL_LIST_SECONDS = 300;
const sqs = mockClient(SQSClient);
const eventBridge = mockClient(EventBridgeClient);

afterAll(() => {
  sqs.restore();
  eventBridge.restore();
});

/** A promise the test resolves when it wants a held step to go on. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

describeEachTopology('PUT /api/products/{id}', (topology) => {
  const servers = useApiServers(topology, { products: 120, users: 5 });
  let pool: Pool;
  let redis: Redis | Cluster;
  beforeAll(() => ({ pool, redis } = servers));
  beforeEach(() => {
    sqs.reset();
    eventBridge.reset();
    acceptEverything(sqs, eventBridge);
  });

  async function freshApi(options: WriteApiOptions = {}, keys: CacheKeys = freshKeys(topology.current())) {
    const client = await servers.client();
    return { ...buildWriteApi(pool, keys, client, options), client };
  }

  async function row(id: number): Promise<{ name: string; version: number; category: string; price_cents: number }> {
    const { rows } = await pool.query('select p.name, p.version::int as version, c.slug as category, p.price_cents from products p join categories c on c.id = p.category_id where p.id = $1', [id]);
    return rows[0];
  }

  async function body(id: number, changes: Partial<Record<string, unknown>> = {}): Promise<Record<string, unknown>> {
    const { rows } = await pool.query('select p.name, p.description, p.price_cents, p.stock, p.version::int as version, c.slug from products p join categories c on c.id = p.category_id where p.id = $1', [id]);
    const r = rows[0];
    return { name: r.name, description: r.description, priceCents: r.price_cents, stock: r.stock, category: r.slug, version: r.version, ...changes };
  }

  function put(id: number | string, payload: unknown, who: Record<string, string> | null = WRITER, headers: Record<string, string> = JSON_HEADERS) {
    return apiEvent(`/api/products/${id}`, { method: 'PUT', headers, body: typeof payload === 'string' ? payload : JSON.stringify(payload), ...(who ? { claims: who } : {}) });
  }

  describe('authorisation', () => {
    test('answers 401 without a token and 403 without the products:write scope, writing nothing', async () => {
      const api = await freshApi();
      const before = await row(3);
      const payload = await body(3, { name: 'Not allowed' });
      expect((await api.handle(put(3, payload, null))).statusCode).toBe(401);
      const forbidden = await api.handle(put(3, payload, claims(1, 'products:read orders:write')));
      expect(forbidden.statusCode).toBe(403);
      expect(json(forbidden.body)).toMatchObject({ error: { code: 'forbidden', message: expect.stringContaining('products:write') } });
      expect(await row(3)).toEqual(before);
      expect(publishedInvalidations(eventBridge)).toEqual([]);
    });
  });

  describe('the write', () => {
    test('updates PostgreSQL, bumps the version, and the next read serves the new product', async () => {
      const api = await freshApi();
      expect((await api.handle(apiEvent('/api/products/5'))).statusCode).toBe(200);
      const response = await api.handle(put(5, await body(5, { name: 'Renamed lamp', priceCents: 4321 })));
      expect(response.statusCode).toBe(200);
      expect(response.headers['cache-control']).toBe('no-store');
      const updated = json(response.body) as Product;
      expect(updated).toMatchObject({ id: 5, name: 'Renamed lamp', priceCents: 4321 });
      expect(await row(5)).toMatchObject({ name: 'Renamed lamp', price_cents: 4321, version: updated.version });
      const read = await api.handle(apiEvent('/api/products/5'));
      expect(read.headers['x-cache']).toBe('origin');
      expect(json(read.body)).toEqual(updated);
    });

    test('answers 409 for a stale version and writes nothing, publishes nothing', async () => {
      const api = await freshApi();
      const payload = await body(6, { name: 'First' });
      expect((await api.handle(put(6, payload))).statusCode).toBe(200);
      const before = await row(6);
      const stale = await api.handle(put(6, { ...payload, name: 'Second, from an old read' }));
      expect(stale.statusCode).toBe(409);
      expect(json(stale.body)).toMatchObject({ error: { code: 'conflict', message: expect.stringContaining(`you sent version ${payload.version}`) } });
      expect(await row(6)).toEqual(before);
      expect(publishedInvalidations(eventBridge)).toHaveLength(1);
    });

    test('answers 404 for a product that does not exist', async () => {
      const api = await freshApi();
      const response = await api.handle(put(99_999, await body(7)));
      expect(response.statusCode).toBe(404);
    });

    test('publishes one CacheInvalidation event naming the product path and the paths of the cached pages it appears in', async () => {
      const api = await freshApi();
      const { category } = await row(8);
      expect((await api.handle(apiEvent('/api/products'))).statusCode).toBe(200);
      expect((await api.handle(apiEvent('/api/products', { query: `category=${category}` }))).statusCode).toBe(200);
      expect((await api.handle(put(8, await body(8, { name: 'Listed and renamed' })))).statusCode).toBe(200);
      const events = publishedInvalidations(eventBridge);
      expect(events).toHaveLength(1);
      expect(events[0].keys).toBeUndefined();
      expect(events[0].reason).toMatch(/^product 8 updated to version \d+$/);
      expect(events[0].paths).toEqual(
        expect.arrayContaining(['/api/products/8', '/api/products', `/api/products?category=${category}`]),
      );
    });
  });

  describe('list invalidation through tag sets', () => {
    test('removes every cached page showing the product, in Redis, and the next list read shows the new name', async () => {
      const api = await freshApi();
      const { category } = await row(9);
      await api.handle(apiEvent('/api/products'));
      await api.handle(apiEvent('/api/products', { query: `category=${category}` }));
      const allKey = productList.key(api.keys, { category: undefined, page: 1 });
      const categoryKey = productList.key(api.keys, { category, page: 1 });
      expect(await redis.exists(allKey)).toBe(1);
      expect(await redis.zrange(api.keys.tagSet('product:9'), 0, -1)).toEqual(expect.arrayContaining([allKey, categoryKey, '/api/products', `/api/products?category=${category}`]));
      const tagTtl = await redis.pttl(api.keys.tagSet('product:9'));
      expect(tagTtl).toBeGreaterThanOrEqual((TTL_LIST_SECONDS * 1.1 + api.cache.staleTtlSeconds) * 1000);

      await api.handle(put(9, await body(9, { name: 'Renamed in every list' })));
      expect(await redis.exists(allKey)).toBe(0);
      expect(await redis.exists(categoryKey)).toBe(0);
      const list = json((await api.handle(apiEvent('/api/products'))).body) as ProductPage;
      expect(list.items.find((p) => p.id === 9)?.name).toBe('Renamed in every list');
    });

    test('a product moved to another category invalidates the cached pages of that category too', async () => {
      const api = await freshApi();
      const { category: from } = await row(10);
      const { rows } = await pool.query<{ slug: string }>('select slug from categories where slug <> $1 order by slug limit 1', [from]);
      const to = rows[0].slug;
      const toPage = json((await api.handle(apiEvent('/api/products', { query: `category=${to}` }))).body) as ProductPage;
      expect(toPage.items.some((p) => p.id === 10)).toBe(false);
      await api.handle(put(10, await body(10, { category: to })));
      expect(await redis.exists(productList.key(api.keys, { category: to, page: 1 }))).toBe(0);
      const after = json((await api.handle(apiEvent('/api/products', { query: `category=${to}` }))).body) as ProductPage;
      expect(after.items.some((p) => p.id === 10)).toBe(true);
    });

    test('the representation GET answers, with one field changed, is accepted by PUT (read-only fields ignored)', async () => {
      const api = await freshApi();
      const got = json((await api.handle(apiEvent('/api/products/11'))).body) as Product;
      expect(Object.keys(got)).toEqual(expect.arrayContaining(['id', 'sku', 'updatedAt', 'version']));
      const response = await api.handle(put(11, { ...got, stock: got.stock + 7, sku: 'ignored', updatedAt: '2000-01-01T00:00:00.000Z' }));
      expect(response.statusCode).toBe(200);
      const saved = json(response.body) as Product;
      expect(saved).toMatchObject({ id: 11, sku: got.sku, stock: got.stock + 7, version: got.version + 1 });
      expect(saved.updatedAt).not.toBe('2000-01-01T00:00:00.000Z');
      expect(json((await api.handle(apiEvent('/api/products/11'))).body)).toEqual(saved);
    });

    test('an emoji (a surrogate pair) is stored and read back intact', async () => {
      const api = await freshApi();
      const response = await api.handle(put(12, await body(12, { name: 'Teapot \u{1F375}' })));
      expect(response.statusCode).toBe(200);
      expect(await row(12)).toMatchObject({ name: 'Teapot \u{1F375}' });
    });

    test('a page read before the write and cached after the writer looked up the tags is read again, not cached stale', async () => {
      const held = gate();
      const loaded = gate();
      const repo = new ProductRepository(pool);
      let holdNext = true;
      const api = await freshApi({
        api: {
          origin: {
            products: {
              findById: (id) => repo.findById(id),
              listPage: async (category, page) => {
                const result = await repo.listPage(category, page);
                if (holdNext) {
                  holdNext = false;
                  loaded.open();
                  await held.wait;
                }
                return result;
              },
              lastPage: (category) => repo.lastPage(category),
            },
            users: { findSummary: async () => null },
            orders: { findById: async () => null },
            config: { load: async () => ({}) },
            identities: { userIdOf: async () => undefined },
          },
        },
      });
      const reading = api.handle(apiEvent('/api/products'));
      await loaded.wait;
      expect((await api.handle(put(11, await body(11, { name: 'Written while a page was loading' })))).statusCode).toBe(200);
      held.open();
      const first = json((await reading).body) as ProductPage;
      expect(first.items.find((p) => p.id === 11)?.name).toBe('Written while a page was loading');
      const cached = decodeEnvelope<ProductPage>(await redis.get(productList.key(api.keys, { category: undefined, page: 1 })));
      expect(cached?.v?.items.find((p) => p.id === 11)?.name).toBe('Written while a page was loading');
    });

    test('naive: tagging the page after caching it leaves the page stale for its TTL in the same interleaving', async () => {
      const keys = freshKeys(topology.current());
      const api = await freshApi({}, keys);
      const params = { category: undefined, page: 1 };
      const listKey = productList.key(keys, params);
      const repo = new ProductRepository(pool);
      const ticket = await api.tagIndex.ticket();
      const oldPage = (await repo.listPage(undefined, 1))!;
      // The writer commits and purges the product's tag before the naive reader has tagged its page…
      expect((await api.handle(put(12, await body(12, { name: 'Missed by the naive list' })))).statusCode).toBe(200);
      // …then the naive reader caches what it read before the write, and tags it.
      await api.cache.put(listKey, TtlClass.PRODUCT_LIST, oldPage);
      await api.tagIndex.record(ticket, listKey, productList.cdnPaths(params), productList.tags!(oldPage, params), 300);
      const served = json((await api.handle(apiEvent('/api/products'))).body) as ProductPage;
      expect(served.items.find((p) => p.id === 12)?.name).not.toBe('Missed by the naive list');
    });
  });

  describe('a reader that missed before the update', () => {
    async function racingApi() {
      const loaded = gate();
      const held = gate();
      const repo = new ProductRepository(pool);
      let holdNext = true;
      const api = await freshApi({
        api: {
          origin: {
            products: {
              findById: async (id) => {
                const found = await repo.findById(id);
                if (holdNext) {
                  holdNext = false;
                  loaded.open();
                  await held.wait;
                }
                return found;
              },
              listPage: (category, page) => repo.listPage(category, page),
              lastPage: (category) => repo.lastPage(category),
            },
            users: { findSummary: async () => null },
            orders: { findById: async () => null },
            config: { load: async () => ({}) },
            identities: { userIdOf: async () => undefined },
          },
        },
      });
      return { api, loaded, held };
    }

    test('cannot write the old value back after the update: its fill is refused by the tombstone', async () => {
      const { api, loaded, held } = await racingApi();
      const reading = api.handle(apiEvent('/api/products/13'));
      await loaded.wait;
      const written = json((await api.handle(put(13, await body(13, { name: 'Newer than the reader' })))).body) as Product;
      held.open();
      expect((await reading).statusCode).toBe(200);
      const stored = decodeEnvelope<Product>(await redis.get(productResource.key(api.keys, { id: 13 })));
      expect(stored?.v).toBeNull();
      expect(stored?.ver).toBe(written.version);
      const again = await freshApi({}, api.keys);
      expect(json((await again.handle(apiEvent('/api/products/13'))).body)).toMatchObject({ name: 'Newer than the reader', version: written.version });
    });

    test('naive: with a plain DEL instead of the tombstone, the same interleaving caches the old value', async () => {
      const { api, loaded, held } = await racingApi();
      const reading = api.handle(apiEvent('/api/products/14'));
      await loaded.wait;
      const payload = await body(14, { name: 'Lost to the naive delete' });
      await pool.query('update products set name = $2, version = version + 1 where id = $1', [14, payload.name]);
      await redis.del(productResource.key(api.keys, { id: 14 }));
      held.open();
      await reading;
      const again = await freshApi({}, api.keys);
      expect(json((await again.handle(apiEvent('/api/products/14'))).body)).not.toMatchObject({ name: 'Lost to the naive delete' });
    });
  });

  describe('two concurrent writers', () => {
    test('the loser gets 409, and the cache and the database end equal', async () => {
      const a = await freshApi();
      const b = await freshApi({}, a.keys);
      await a.handle(apiEvent('/api/products/15'));
      const base = await body(15);
      const [first, second] = await Promise.all([a.handle(put(15, { ...base, name: 'Writer A' })), b.handle(put(15, { ...base, name: 'Writer B' }))]);
      expect([first.statusCode, second.statusCode].sort()).toEqual([200, 409]);
      const winner = json((first.statusCode === 200 ? first : second).body) as Product;
      const db = await row(15);
      expect(db).toMatchObject({ name: winner.name, version: winner.version });
      const fresh = await freshApi({}, a.keys);
      expect(json((await fresh.handle(apiEvent('/api/products/15'))).body)).toEqual(winner);
      const cached = decodeEnvelope<Product>(await redis.get(productResource.key(a.keys, { id: 15 })));
      expect(cached?.v).toEqual(winner);
    });

    test('naive: last-writer-wins updates that each store their own body in the cache end with cache and database apart', async () => {
      const keys = freshKeys(topology.current());
      const api = await freshApi({}, keys);
      const base = await body(16);
      // Writer A updates, writer B updates, B stores its body, A stores its body.
      await pool.query('update products set name = $2 where id = $1', [16, 'Naive A']);
      await pool.query('update products set name = $2 where id = $1', [16, 'Naive B']);
      await api.cache.put(productResource.key(keys, { id: 16 }), TtlClass.PRODUCT, { ...base, id: 16, name: 'Naive B' });
      await api.cache.put(productResource.key(keys, { id: 16 }), TtlClass.PRODUCT, { ...base, id: 16, name: 'Naive A' });
      const cached = decodeEnvelope<{ name: string }>(await redis.get(productResource.key(keys, { id: 16 })));
      expect(cached?.v?.name).toBe('Naive A');
      expect((await row(16)).name).toBe('Naive B');
    });
  });

  describe('bad input', () => {
    test.each([
      ['malformed JSON', 'body', '{"name": '],
      ['an array', 'body', '[]'],
      ['an unknown field', 'extra', { extra: true }],
      ['a missing field', 'name', { name: undefined }],
      ['a price of the wrong type', 'priceCents', { priceCents: '12.50' }],
      ['a negative stock', 'stock', { stock: -1 }],
      ['a fractional price', 'priceCents', { priceCents: 1.5 }],
      ['a price beyond the column', 'priceCents', { priceCents: 2 ** 31 }],
      ['a blank name', 'name', { name: '  ' }],
      ['a bad category slug', 'category', { category: 'Not A Slug' }],
      ['an unknown category', 'category', { category: 'no-such-category' }],
      ['a version of the wrong type', 'version', { version: '3' }],
      ['a lone surrogate in the name', 'name', { name: 'kettle \ud800' }],
      ['a lone low surrogate in the description', 'description', { description: 'ok \udc00 then' }],
      ['a NUL in the description', 'description', { description: 'a\u0000b' }],
      ['an id other than the path\'s', 'id', { id: 18 }],
    ])('%s answers 400 naming %s, and nothing is written or published', async (_label, field, change) => {
      const api = await freshApi();
      const before = await row(17);
      const payload = typeof change === 'string' ? change : { ...(await body(17)), ...change };
      const response = await api.handle(put(17, payload));
      expect(response.statusCode).toBe(400);
      expect(json(response.body)).toMatchObject({ error: { code: 'invalid_request', field } });
      expect(await row(17)).toEqual(before);
      expect(publishedInvalidations(eventBridge)).toEqual([]);
    });

    test('an oversized body, a wrong content type and ids out of range answer 400 naming the field', async () => {
      const api = await freshApi();
      const big = await api.handle(put(17, { ...(await body(17)), description: 'x'.repeat(20_000) }));
      expect(json(big.body)).toMatchObject({ error: { field: 'body', message: expect.stringContaining('at most 16384 bytes') } });
      const text = await api.handle(put(17, await body(17), WRITER, { 'content-type': 'text/plain' }));
      expect(json(text.body)).toMatchObject({ error: { field: 'content-type' } });
      for (const id of ['0', '-1', 'abc', String(MAX_ID + 1), '99999999999999999999']) {
        const response = await api.handle(put(id, await body(17)));
        expect(response.statusCode).toBe(400);
        expect(json(response.body)).toMatchObject({ error: { field: 'id' } });
      }
      expect(publishedInvalidations(eventBridge)).toEqual([]);
    });

    test('answers 405 with Allow for a method the product path does not take', async () => {
      const api = await freshApi();
      const response = await api.handle(apiEvent('/api/products/1', { method: 'DELETE', claims: WRITER }));
      expect(response.statusCode).toBe(405);
      expect(response.headers.allow).toBe('GET, HEAD, PUT');
    });
  });
});

describe('PUT /api/products/{id} with Redis down', () => {
  let server: PostgresServer;
  let pool: Pool;
  let redisServer: RedisServer;
  let client: CacheClient;
  let inspect: Redis;

  beforeAll(async () => {
    server = await PostgresServer.start();
    ({ pool } = await seededDatabase(server, { products: 30, users: 2 }));
    redisServer = await RedisServer.start();
    // The production command timeout: a hung Redis must cost the write little.
    client = await connectClient({ kind: 'standalone', server: redisServer, url: redisServer.url }, { commandTimeoutMs: 50 });
    inspect = new Redis(redisServer.url);
  });
  beforeEach(() => {
    sqs.reset();
    eventBridge.reset();
    acceptEverything(sqs, eventBridge);
  });
  afterAll(async () => {
    inspect?.disconnect();
    client?.redis.disconnect();
    await redisServer?.stop();
    await pool?.end();
    await server?.stop();
  });

  test('still commits to PostgreSQL; the stale entry keeps its TTL and the event hands its key to the purge pipeline', async () => {
    const keys = freshKeys({ kind: 'standalone', server: redisServer, url: redisServer.url });
    const api = buildWriteApi(pool, keys, client, { cache: { l1: false } });
    // Precondition: product 3 and the list are cached (retried: a 50 ms timeout may fire on a busy machine).
    await untilAccepted('product 3 is cached', async () => (await api.handle(apiEvent('/api/products/3')), await inspect.pttl(productResource.key(keys, { id: 3 }))), (ttl) => ttl > 0);
    await untilAccepted('the list is cached', () => api.handle(apiEvent('/api/products')), (res) => res.headers['x-cache'] === 'redis');
    const ttlBefore = await inspect.pttl(productResource.key(keys, { id: 3 }));
    const { rows } = await pool.query('select p.name, p.description, p.price_cents, p.stock, p.version::int as version, c.slug from products p join categories c on c.id = p.category_id where p.id = 3');
    const r = rows[0];
    redisServer.pause();
    const started = Date.now();
    let response;
    try {
      response = await api.handle(apiEvent('/api/products/3', { method: 'PUT', headers: JSON_HEADERS, claims: WRITER, body: JSON.stringify({ name: 'Written with Redis hung', description: r.description, priceCents: r.price_cents, stock: r.stock, category: r.slug, version: r.version }) }));
    } finally {
      redisServer.resume();
    }
    expect(response.statusCode).toBe(200);
    expect(Date.now() - started).toBeLessThan(2_000);
    const { rows: after } = await pool.query('select name from products where id = 3');
    expect(after[0].name).toBe('Written with Redis hung');
    // The old entry is still there, but it cannot outlive the TTL it was written with…
    const stale = decodeEnvelope<Product>(await inspect.get(productResource.key(keys, { id: 3 })));
    expect(stale?.v?.name).not.toBe('Written with Redis hung');
    expect(await inspect.pttl(productResource.key(keys, { id: 3 }))).toBeLessThanOrEqual(ttlBefore);
    expect(ttlBefore).toBeLessThanOrEqual((3600 * 1.1 + 300) * 1000);
    // …and the event carries the keys the request could not purge, for the pipeline to retry.
    const [event] = publishedInvalidations(eventBridge);
    expect(event.keys).toEqual([productResource.key(keys, { id: 3 })]);
    // The lists showing the product are unknown without Redis: the purge pipeline purges its tag once Redis answers.
    expect(event.tags).toEqual(['product:3']);
    expect(event.keyPatterns).toBeUndefined();
    expect(event.paths).toEqual(['/api/products/3', '/api/products', '/api/products?*']);
  });
});
