import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Pool } from 'pg';
import { seedDatabase, SEED_CATEGORIES, SEED_CONFIG } from '../../db/seed/seed';
import { runMigrations } from '../../lambda/runtime/db/migrations';
import { PostgresServer } from '../support/servers';
import { createDatabase, MIGRATIONS_DIR } from '../lambda/runtime/db/support';
import { NODE, tsxArgs } from '../support/tsx';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..');

let server: PostgresServer;
const pools: Pool[] = [];

beforeAll(async () => {
  server = await PostgresServer.start();
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await server?.stop();
});

async function migrated(): Promise<Pool> {
  const pool = new Pool({ connectionString: await createDatabase(server, 'seed'), max: 2 });
  pools.push(pool);
  await runMigrations(pool, MIGRATIONS_DIR);
  return pool;
}

const fingerprint = async (pool: Pool, table: string): Promise<string> =>
  (await pool.query(`select md5(string_agg(t::text, '|' order by t.id)) as h from (select * from ${table}) t`)).rows[0].h;

const productContent = (pool: Pool) =>
  pool.query(`select md5(string_agg(concat_ws(',', id, sku, name, description, category_id, price_cents, stock), '|' order by id)) as h from products`).then((r) => r.rows[0].h as string);

describe('seedDatabase', () => {
  test('the same seed writes the same rows; another seed writes other rows', async () => {
    const [a, b, c] = await Promise.all([migrated(), migrated(), migrated()]);
    await seedDatabase(a, { products: 300, users: 30, seed: 9, batchSize: 64 });
    await seedDatabase(b, { products: 300, users: 30, seed: 9 });
    await seedDatabase(c, { products: 300, users: 30, seed: 10 });
    expect(await productContent(a)).toBe(await productContent(b));
    expect(await productContent(a)).not.toBe(await productContent(c));
  });

  test('writes the requested counts, the categories and the config rows', async () => {
    const pool = await migrated();
    expect(await seedDatabase(pool, { products: 1234, users: 56 })).toEqual({ categories: SEED_CATEGORIES.length, products: 1234, users: 56, config: Object.keys(SEED_CONFIG).length });
    const { rows } = await pool.query('select count(*)::int as n from users where password_hash is null or password_hash = $1', ['']);
    expect(rows[0].n).toBe(0);
  });

  test('running it again changes nothing, not even versions', async () => {
    const pool = await migrated();
    await seedDatabase(pool, { products: 100, users: 10 });
    const before = await fingerprint(pool, 'products');
    await seedDatabase(pool, { products: 100, users: 10 });
    expect(await fingerprint(pool, 'products')).toBe(before);
  });

  test('reset shrinks the data set, and later inserts without an id do not collide', async () => {
    const pool = await migrated();
    await seedDatabase(pool, { products: 100, users: 10 });
    await seedDatabase(pool, { products: 40, users: 4, reset: true });
    const { rows } = await pool.query('select count(*)::int as n, max(id)::int as max from products');
    expect(rows[0]).toEqual({ n: 40, max: 40 });
    const inserted = await pool.query(`insert into products (sku, name, category_id, price_cents) values ('NEW-1', 'New', 1, 100) returning id`);
    expect(Number(inserted.rows[0].id)).toBe(41);
  });

  test.each([
    [{ products: -1 }, 'products must be an integer between 0 and 10000000, got -1'],
    [{ users: 1.5 }, 'users must be an integer between 0 and 10000000, got 1.5'],
    [{ batchSize: 0 }, 'batchSize must be an integer between 1 and 100000, got 0'],
  ])('rejects %j', async (options, message) => {
    const pool = await migrated();
    await expect(seedDatabase(pool, options)).rejects.toThrow(message);
  });
});

describe('npm run db:setup', () => {
  test('migrates and seeds $DATABASE_URL with the sizes given, and is safe to run twice', async () => {
    const url = await createDatabase(server, 'cli');
    const env = { ...process.env, DATABASE_URL: url };
    const first = await run(NODE, tsxArgs('scripts/db-setup.ts', '--products', '250', '--users', '7'), { cwd: ROOT, env });
    expect(first.stdout).toMatch(/applied migrations: 001_init\.sql/);
    expect(first.stdout).toMatch(/seeded \(seed 1\): 250 products, 8 categories, 7 users, 5 config rows/);
    const second = await run(NODE, tsxArgs('scripts/db-setup.ts', '--products', '250', '--users', '7'), { cwd: ROOT, env });
    expect(second.stdout).toMatch(/migrations: already up to date/);
    const pool = new Pool({ connectionString: url });
    pools.push(pool);
    expect((await pool.query('select count(*)::int as n from products')).rows[0].n).toBe(250);
  });

  test.each([
    [['--products', 'many'], /--products must be a non-negative integer, got "many"/],
    [['--colour', 'red'], /Unknown option '--colour'/],
  ])('exits 1 with a clear message for %j', async (args, message) => {
    const error = await run(NODE, tsxArgs('scripts/db-setup.ts', ...args), { cwd: ROOT, env: { ...process.env, DATABASE_URL: server.url } }).catch((e: { code: number; stderr: string }) => e);
    expect(error).toMatchObject({ code: 1, stderr: expect.stringMatching(message) });
  });

  test('exits 1 naming DATABASE_URL when it is not set', async () => {
    const env = { ...process.env };
    delete env.DATABASE_URL;
    const error = await run(NODE, tsxArgs('scripts/db-setup.ts'), { cwd: ROOT, env }).catch((e: { code: number; stderr: string }) => e);
    expect(error).toMatchObject({ code: 1, stderr: expect.stringMatching(/DATABASE_URL is not set/) });
  });
});
