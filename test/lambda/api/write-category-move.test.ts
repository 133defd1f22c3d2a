/**
 * A product moved to another category changes the pages of BOTH categories: the new one gains it,
 * and in the old one every page from the product's on shifts by one — a later page keeps showing a
 * product that has moved up, and misses the one that moved onto it. Real Redis (both topologies)
 * and PostgreSQL, EventBridge mocked. The naive variant looks up only the new category's pages (the
 * write path as it was) and shows the old category's page 2 left shifted.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { Pool } from 'pg';
import type { CacheClient } from '../../../lambda/runtime/cache';
import { PRODUCT_PAGE_SIZE, ProductPage, ProductRepository } from '../../../lambda/shop/repositories';
import { PostgresServer } from '../../support/servers';
import { describeEachTopology } from '../../support/topologies';
import { connectClient, freshKeys } from '../runtime/cache/support';
import { seededDatabase } from '../runtime/db/support';
import { apiEvent, json } from './support';
import { acceptEverything, buildWriteApi, claims, publishedInvalidations, WriteApi, WriteApiOptions } from './write-support';

const WRITER = claims(1, 'products:write');
const JSON_HEADERS = { 'content-type': 'application/json' };
const sqs = mockClient(SQSClient);
const eventBridge = mockClient(EventBridgeClient);

afterAll(() => {
  sqs.restore();
  eventBridge.restore();
});

describeEachTopology('a product moved to another category', (topology) => {
  let server: PostgresServer;
  let pool: Pool;
  const clients: CacheClient[] = [];

  beforeAll(async () => {
    server = await PostgresServer.start();
    // 8 categories: 500 products give each category about three pages.
    ({ pool } = await seededDatabase(server, { products: 500, users: 3 }));
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

  async function freshApi(options: WriteApiOptions = {}): Promise<WriteApi> {
    const keys = freshKeys(topology.current());
    const client = await connectClient(topology.current());
    clients.push(client);
    return buildWriteApi(pool, keys, client, options);
  }

  async function page(api: WriteApi, category: string, n: number): Promise<{ page: ProductPage; source: string }> {
    const response = await api.handle(apiEvent('/api/products', { query: n === 1 ? `category=${category}` : `category=${category}&page=${n}` }));
    expect(response.statusCode).toBe(200);
    return { page: json(response.body) as ProductPage, source: response.headers['x-cache'] };
  }

  /**
   * Caches pages 1-3 of a category, moves the first product of page 1 to another category, then
   * returns what each old-category page serves and what PostgreSQL holds.
   */
  async function moveOffFirstPage(api: WriteApi) {
    const { rows } = await pool.query<{ slug: string }>(
      'select c.slug from products p join categories c on c.id = p.category_id group by c.slug having count(*) > $1 order by count(*) desc, c.slug limit 2',
      [2 * PRODUCT_PAGE_SIZE + 5],
    );
    const [from, to] = [rows[0].slug, rows[1].slug];
    const first = await page(api, from, 1);
    for (const n of [2, 3]) await page(api, from, n);
    for (const n of [1, 2, 3]) expect((await page(api, from, n)).source).toBe('l1');
    const moved = first.page.items[0].id;
    const current = await new ProductRepository(pool).findById(moved);
    const response = await api.handle(
      apiEvent(`/api/products/${moved}`, { method: 'PUT', headers: JSON_HEADERS, claims: WRITER, body: JSON.stringify({ ...current, category: to }) }),
    );
    expect(response.statusCode).toBe(200);
    const repositories = new ProductRepository(pool);
    const pages = [];
    for (const n of [1, 2, 3]) {
      const served = (await page(api, from, n)).page.items.map((p) => p.id);
      const truth = (await repositories.listPage(from, n))!.items.map((p) => p.id);
      pages.push({ n, served, truth });
    }
    return { pages, from };
  }

  test('every cached page of the category it left equals PostgreSQL right after the 200, and the event names them for the CDN', async () => {
    const api = await freshApi();
    const { pages, from } = await moveOffFirstPage(api);
    for (const { served, truth } of pages) expect(served).toEqual(truth);
    const [event] = publishedInvalidations(eventBridge);
    expect(event.paths).toEqual(expect.arrayContaining([`/api/products?category=${from}&page=2`, `/api/products?category=${from}&page=3`]));
  });

  test('naive: looking up only the category moved into leaves the later pages of the old category shifted', async () => {
    const api = await freshApi({
      // The write path as it was: the product's own tag and the category moved INTO, not the one it left.
      writes: (tagIndex) => ({ tagIndex: { invalidate: (tags: readonly string[]) => tagIndex.invalidate(tags.slice(0, 2)) } }),
    });
    const { pages } = await moveOffFirstPage(api);
    expect(pages[0].served).toEqual(pages[0].truth);
    expect(pages[1].served).not.toEqual(pages[1].truth);
    expect(pages[2].served).not.toEqual(pages[2].truth);
  });
});
