import { execFileSync } from 'node:child_process';
import { Pool } from 'pg';
import { SEED_CONFIG, SEED_CATEGORIES } from '../../../db/seed/seed';
import { createPool, resolveDbPoolConfig } from '../../../lambda/runtime/db/pool';
import { ConfigRepository, PRODUCT_PAGE_SIZE, ProductRepository, UserRepository } from '../../../lambda/shop/repositories';
import { OriginUnavailableError } from '../../../lambda/runtime/errors';
import { PostgresServer } from '../../support/servers';
import { seededDatabase } from '../runtime/db/support';

let server: PostgresServer;
let pool: Pool;
let url: string;

beforeAll(async () => {
  server = await PostgresServer.start();
  ({ pool, url } = await seededDatabase(server, { products: 120, users: 10 }));
});

afterAll(async () => {
  await pool?.end();
  await server?.stop();
});

describe('ProductRepository', () => {
  test('finds a product by id with every served field', async () => {
    const product = await new ProductRepository(pool).findById(7);
    expect(product).toEqual({
      id: 7,
      sku: 'SKU-00000007',
      name: expect.stringMatching(/ 7$/),
      description: expect.stringContaining('seeded for local development'),
      category: expect.stringMatching(new RegExp(`^(${SEED_CATEGORIES.map((c) => c.slug).join('|')})$`)),
      priceCents: expect.any(Number),
      stock: expect.any(Number),
      version: 1,
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  test('answers null for an id no product has', async () => {
    expect(await new ProductRepository(pool).findById(10_000)).toBeNull();
  });

  test('lists every product by id, 20 per page, and says whether more follow', async () => {
    const repo = new ProductRepository(pool);
    const first = await repo.listPage(undefined, 1);
    expect(first).toMatchObject({ category: null, page: 1, pageSize: PRODUCT_PAGE_SIZE, hasMore: true });
    expect(first!.items.map((p) => p.id)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(first!.items[0]).not.toHaveProperty('description');
    const last = await repo.listPage(undefined, 6);
    expect(last!.items.map((p) => p.id)).toEqual(Array.from({ length: 20 }, (_, i) => i + 101));
    expect(last!.hasMore).toBe(false);
    expect(await repo.listPage(undefined, 7)).toMatchObject({ items: [], hasMore: false });
  });

  test('lists one category in a stable order', async () => {
    const repo = new ProductRepository(pool);
    const { rows } = await pool.query<{ id: string }>(
      `select p.id from products p join categories c on c.id = p.category_id where c.slug = 'books' order by p.id`,
    );
    const page = await repo.listPage('books', 1);
    expect(page!.items.every((p) => p.category === 'books')).toBe(true);
    expect(page!.items.map((p) => p.id)).toEqual(rows.slice(0, 20).map((r) => Number(r.id)));
    expect(page!.hasMore).toBe(rows.length > 20);
    expect(await repo.listPage('books', 1)).toEqual(page);
  });

  test('answers null for a category that does not exist, and an empty page past the end of one that does', async () => {
    const repo = new ProductRepository(pool);
    expect(await repo.listPage('no-such-category', 1)).toBeNull();
    expect(await repo.listPage('books', 500)).toMatchObject({ category: 'books', page: 500, items: [], hasMore: false });
  });

  test('counts the last page of a listing: at least 1, null for a category that does not exist', async () => {
    const repo = new ProductRepository(pool);
    expect(await repo.lastPage(undefined)).toBe(6);
    const { rows } = await pool.query<{ n: string }>(`select count(*) as n from products p join categories c on c.id = p.category_id where c.slug = 'books'`);
    expect(await repo.lastPage('books')).toBe(Math.max(1, Math.ceil(Number(rows[0].n) / PRODUCT_PAGE_SIZE)));
    expect(await repo.lastPage('no-such-category')).toBeNull();
    await pool.query(`insert into categories (id, slug, name) values (950, 'bare', 'Bare') on conflict do nothing`);
    expect(await repo.lastPage('bare')).toBe(1);
  });
});

describe('UserRepository', () => {
  test('selects only the public summary columns, never the secret ones', async () => {
    const summary = await new UserRepository(pool).findSummary(3);
    expect(Object.keys(summary!).sort()).toEqual(['avatarUrl', 'bio', 'displayName', 'id', 'version']);
    const { rows } = await pool.query('select password_hash, mfa_secret, email from users where id = 3');
    const serialised = JSON.stringify(summary);
    for (const secret of Object.values(rows[0]).filter((v): v is string => typeof v === 'string')) {
      expect(serialised).not.toContain(secret);
    }
  });

  test('answers null for an id no user has', async () => {
    expect(await new UserRepository(pool).findSummary(999)).toBeNull();
  });
});

describe('ConfigRepository', () => {
  test('returns every config row as one object', async () => {
    expect(await new ConfigRepository(pool).load()).toEqual(SEED_CONFIG);
  });
});

describe('origin failures', () => {
  test('a connection lost while idle is retried once on a fresh one', async () => {
    const own = createPool(await resolveDbPoolConfig({ env: { DATABASE_URL: url, DB_POOL_MAX: '1' } }));
    const failures: string[] = [];
    const observed = {
      query: (text: string, values?: unknown[]) =>
        own.query(text, values).catch((error: Error) => {
          failures.push(error.message);
          throw error;
        }),
    } as Pick<Pool, 'query'> as Pool;
    try {
      const repo = new ProductRepository(observed);
      expect(await repo.findById(1)).not.toBeNull();
      const { rows } = await own.query<{ pid: number }>('select pg_backend_pid() as pid');
      // Terminated synchronously, as in a thawed Lambda sandbox: the socket is already closed, but
      // the process has not yet run the I/O callbacks that tell the pool, so the next query goes
      // out on the dead client.
      execFileSync('psql', [url, '-qAtc', `select pg_terminate_backend(${rows[0].pid})`]);
      expect((await repo.findById(1))?.id).toBe(1);
      expect(failures).toEqual([expect.stringMatching(/terminat/i)]);
    } finally {
      await own.end();
    }
  });

  test('a hung server becomes OriginUnavailableError within the statement timeout, a dead one at once', async () => {
    const own = await PostgresServer.start();
    const { pool: seeded, url: ownUrl } = await seededDatabase(own, { products: 5, users: 1 });
    await seeded.end();
    const fast = createPool(await resolveDbPoolConfig({ env: { DATABASE_URL: ownUrl, DB_STATEMENT_TIMEOUT_MS: '300', DB_CONNECT_TIMEOUT_MS: '300' } }));
    try {
      const repo = new ProductRepository(fast, { retryAfterSeconds: 7 });
      expect(await repo.findById(1)).not.toBeNull();

      own.pause();
      let started = Date.now();
      const hung = await repo.findById(1).catch((e: unknown) => e);
      expect(hung).toBeInstanceOf(OriginUnavailableError);
      expect((hung as OriginUnavailableError).retryAfterSeconds).toBe(7);
      expect(Date.now() - started).toBeLessThan(2000);
      own.resume();

      await own.kill();
      started = Date.now();
      await expect(new ConfigRepository(fast).load()).rejects.toBeInstanceOf(OriginUnavailableError);
      await expect(new UserRepository(fast).findSummary(1)).rejects.toBeInstanceOf(OriginUnavailableError);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await fast.end();
      await own.stop();
    }
  });

  test('a query error that is a bug stays what it is', async () => {
    const broken = { query: () => Promise.reject(Object.assign(new Error('column "nope" does not exist'), { code: '42703' })) };
    const error = await new ProductRepository(broken).findById(1).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(OriginUnavailableError);
    expect((error as Error).message).toMatch(/column "nope"/);
  });
});
