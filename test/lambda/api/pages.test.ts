/**
 * Pages past the end of a listing (issue 20): `GET /api/products?page=N` beyond the last page answers
 * 404 from the listing's cached last page number, without an `OFFSET` query, and a write that adds a
 * product to a listing makes its new last page answer 200 right after the write's 2xx. Real Redis
 * (both topologies) and PostgreSQL, EventBridge and SQS mocked. The naive variant (the listing as it
 * was, without `paging`) is run on the same pages and shows one cold `OFFSET` scan and a `200 []` each.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { Pool } from 'pg';
import { bindResource, createResourceApi, defineResource, type ApiResponse, type CacheClient } from 'cache-pyramid/runtime';
import { shopOrigin } from '../../../lambda/shop/api/read-bindings';
import { PRODUCT_PAGE_SIZE, ProductPage, ProductRepository } from '../../../lambda/shop/repositories';
import { productList } from '../../../lambda/shop/resources';
import { PostgresServer } from '../../support/servers';
import { describeEachTopology } from '../../support/topologies';
import { connectClient, freshKeys } from '../runtime/cache/support';
import { seededDatabase } from '../runtime/db/support';
import { apiEvent, CountingPool, json, TEST_TTLS, testCaches } from './support';
import { acceptEverything, buildWriteApi, claims, WriteApi } from './write-support';

const WRITER = claims(1, 'products:write');
const sqs = mockClient(SQSClient);
const eventBridge = mockClient(EventBridgeClient);
/** Distinct page numbers past the end requested by each test. */
const PAGES_PAST_THE_END = 100;

afterAll(() => {
  sqs.restore();
  eventBridge.restore();
});

/** The product listing as declared before issue 20: the same resource without `paging`, bound without `lastPage`. */
const unpagedSpec = {
  name: productList.name,
  path: productList.path,
  query: productList.query,
  sharing: productList.sharing,
  ttl: productList.ttl,
  tags: productList.tags,
};
const unpagedList = defineResource<ProductPage>(unpagedSpec);

describeEachTopology('pages past the end of a listing', (topology) => {
  let server: PostgresServer;
  let pool: Pool;
  const clients: CacheClient[] = [];

  beforeAll(async () => {
    server = await PostgresServer.start();
    // 60 products: the unfiltered listing has 3 pages.
    ({ pool } = await seededDatabase(server, { products: 60, users: 3 }));
  });
  beforeEach(() => {
    sqs.reset();
    eventBridge.reset();
    acceptEverything(sqs, eventBridge);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit()));
    await pool?.end();
    await server?.stop();
  });

  async function client(): Promise<CacheClient> {
    const connected = await connectClient(topology.current());
    clients.push(connected);
    return connected;
  }

  async function freshApi(): Promise<WriteApi> {
    return buildWriteApi(pool, freshKeys(topology.current()), await client());
  }

  /** The unfiltered listing's last page, from PostgreSQL. */
  async function lastPageOfEverything(): Promise<number> {
    const { rows } = await pool.query<{ n: string }>('select count(*) as n from products');
    return Math.ceil(Number(rows[0].n) / PRODUCT_PAGE_SIZE);
  }

  /** Requests PAGES_PAST_THE_END distinct pages after `last` of the unfiltered listing. */
  async function requestPastTheEnd(handle: (event: ReturnType<typeof apiEvent>) => Promise<ApiResponse | undefined>, last: number): Promise<ApiResponse[]> {
    const answers: ApiResponse[] = [];
    for (let page = last + 1; page <= last + PAGES_PAST_THE_END; page++) answers.push((await handle(apiEvent('/api/products', { query: `page=${page}` })))!);
    return answers;
  }

  test('100 distinct pages past the end answer 404 no-store, with no OFFSET scan and one count query', async () => {
    const api = await freshApi();
    const last = await lastPageOfEverything();
    const answers = await requestPastTheEnd(api.handle, last);
    for (const answer of answers) {
      expect(answer).toMatchObject({ statusCode: 404, headers: { 'cache-control': 'no-store' } });
      expect((json(answer.body) as { error: { code: string } }).error.code).toBe('not_found');
    }
    expect(json(answers[0].body)).toEqual({ error: { code: 'not_found', message: `page ${last + 1} is past the last page (${last}) of /api/products` } });
    expect(api.db.offsetScans).toBe(0);
    expect(api.db.statements).toBe(1);
    // The last page itself still answers, and one past it still costs no scan.
    expect((await api.handle(apiEvent('/api/products', { query: `page=${last}` }))).statusCode).toBe(200);
    expect((await api.handle(apiEvent('/api/products', { query: `page=${last + 1}` }))).statusCode).toBe(404);
    expect(api.db.offsetScans).toBe(1);
  });

  test('naive: without paging, each page past the end is a cold OFFSET scan answered 200 with no items', async () => {
    const keys = freshKeys(topology.current());
    const db = new CountingPool(pool);
    const { cache, tagIndex } = testCaches(keys, await client());
    const origin = shopOrigin(db);
    const naive = createResourceApi({
      bindings: [bindResource({ resource: unpagedList, load: (params) => origin.products.listPage(params.category as string | undefined, params.page as number) })],
      cache,
      tagIndex,
      keys,
      ttls: TEST_TTLS,
    });
    const answers = await requestPastTheEnd((event) => naive.handle(event), await lastPageOfEverything());
    for (const answer of answers) {
      expect(answer.statusCode).toBe(200);
      expect((json(answer.body) as ProductPage).items).toEqual([]);
    }
    expect(db.offsetScans).toBe(PAGES_PAST_THE_END);
  });

  test('page 1 of an empty listing is 200 with no items; page 2 is 404; pages of an unknown category are 404 without a scan', async () => {
    await pool.query(`insert into categories (id, slug, name) values (900, 'empty-shelf', 'Empty shelf') on conflict do nothing`);
    const api = await freshApi();
    const first = await api.handle(apiEvent('/api/products', { query: 'category=empty-shelf' }));
    expect(first.statusCode).toBe(200);
    expect(json(first.body)).toMatchObject({ category: 'empty-shelf', page: 1, items: [], hasMore: false });
    expect((await api.handle(apiEvent('/api/products', { query: 'category=empty-shelf&page=2' }))).statusCode).toBe(404);
    const scans = api.db.offsetScans;
    for (const page of [2, 3, 10_000]) {
      const unknown = await api.handle(apiEvent('/api/products', { query: `category=unicorns&page=${page}` }));
      expect(unknown).toMatchObject({ statusCode: 404, headers: { 'cache-control': 'no-store' } });
      expect(json(unknown.body)).toEqual({ error: { code: 'not_found', message: 'category unicorns does not exist' } });
    }
    expect(api.db.offsetScans).toBe(scans);
  });

  /**
   * Fills a category of its own with exactly one page, reads its page 2 (404, then from L1) through
   * `reads` (the API's own by default), moves one more product into it through the API's write route,
   * and returns what page 2 and page 3 answer right after the write's 200.
   */
  async function extendFullListing(api: WriteApi, slug: string, reads: (event: ReturnType<typeof apiEvent>) => Promise<ApiResponse | undefined> = api.handle) {
    await pool.query(`insert into categories (id, slug, name) values ((select max(id) + 1 from categories), $1, $1)`, [slug]);
    const { rows } = await pool.query<{ id: string }>('select id from products order by id desc limit $1', [PRODUCT_PAGE_SIZE + 1]);
    const [joining, ...filling] = rows.map((r) => Number(r.id));
    await pool.query('update products set category_id = (select id from categories where slug = $1) where id = any($2)', [slug, filling]);
    const listing = async (page: number) => (await reads(apiEvent('/api/products', { query: page === 1 ? `category=${slug}` : `category=${slug}&page=${page}` })))!;
    expect(json((await listing(1)).body)).toMatchObject({ hasMore: false, items: expect.arrayContaining([expect.objectContaining({ id: filling[0] })]) });
    expect((await listing(2)).statusCode).toBe(404);
    expect(await listing(2)).toMatchObject({ statusCode: 404, headers: { 'x-cache': 'l1' } });

    const current = await new ProductRepository(pool).findById(joining);
    const write = await api.handle(
      apiEvent(`/api/products/${joining}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, claims: WRITER, body: JSON.stringify({ ...current, category: slug }) }),
    );
    expect(write.statusCode).toBe(200);
    return { joining, second: await listing(2), third: await listing(3) };
  }

  test('a product moved into a full listing makes its next page 200 with that product right after the 200 of the write', async () => {
    const { joining, second, third } = await extendFullListing(await freshApi(), 'one-page');
    expect(second.statusCode).toBe(200);
    expect((json(second.body) as ProductPage).items.map((p) => p.id)).toEqual([joining]);
    expect(third.statusCode).toBe(404);
  });

  test('naive: a last page number cached without the listing\'s tag keeps the new page 404 after the write', async () => {
    const api = await freshApi();
    const origin = shopOrigin(api.db);
    const untaggedCount = defineResource<ProductPage>({ ...unpagedSpec, paging: { pageParam: 'page', listTags: () => [] } });
    const reads = createResourceApi({
      bindings: [
        bindResource({
          resource: untaggedCount,
          load: (params) => origin.products.listPage(params.category as string | undefined, params.page as number),
          lastPage: (params) => origin.products.lastPage(params.category as string | undefined),
        }),
      ],
      cache: api.cache,
      tagIndex: api.tagIndex,
      keys: api.keys,
      ttls: TEST_TTLS,
    });
    const { second } = await extendFullListing(api, 'one-page-naive', (event) => reads.handle(event));
    expect(second.statusCode).toBe(404);
  });
});
