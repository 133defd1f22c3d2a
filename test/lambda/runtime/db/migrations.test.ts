import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Pool } from 'pg';
import { MIGRATION_LOCK_KEY, readMigrations, runMigrations } from '../../../../lambda/runtime/db/migrations';
import { PostgresServer } from '../../../support/servers';
import { createDatabase, MIGRATIONS_DIR } from './support';

let server: PostgresServer;
const pools: Pool[] = [];

beforeAll(async () => {
  server = await PostgresServer.start();
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await server?.stop();
});

async function freshPool(): Promise<Pool> {
  const pool = new Pool({ connectionString: await createDatabase(server, 'mig'), max: 3 });
  pools.push(pool);
  return pool;
}

/** Every migration file of the project, in the order they apply. */
const PROJECT_MIGRATIONS = fs.readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).sort();

function migrationsDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cache-pyramid-migrations-'));
  for (const [name, sql] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), sql);
  return dir;
}

describe('runMigrations', () => {
  test('applies every migration of the project once and records it', async () => {
    const pool = await freshPool();
    expect(await runMigrations(pool, MIGRATIONS_DIR)).toEqual(PROJECT_MIGRATIONS);
    expect(await runMigrations(pool, MIGRATIONS_DIR)).toEqual([]);
    const { rows } = await pool.query('select name from schema_migrations order by name');
    expect(rows.map((r) => r.name)).toEqual(PROJECT_MIGRATIONS);
    const tables = await pool.query(`select table_name from information_schema.tables where table_schema = 'public' order by 1`);
    expect(tables.rows.map((r) => r.table_name)).toEqual(['categories', 'config', 'order_items', 'orders', 'products', 'schema_migrations', 'users']);
  });

  test('applies files in name order, only the new ones on a later run', async () => {
    const pool = await freshPool();
    const dir = migrationsDir({
      '002_b.sql': 'insert into log values (2);',
      '001_a.sql': 'create table log (n int);',
    });
    expect(await runMigrations(pool, dir)).toEqual(['001_a.sql', '002_b.sql']);
    fs.writeFileSync(path.join(dir, '003_c.sql'), 'insert into log values (3);');
    expect(await runMigrations(pool, dir)).toEqual(['003_c.sql']);
    const { rows } = await pool.query('select n from log order by n');
    expect(rows.map((r) => r.n)).toEqual([2, 3]);
  });

  test('concurrent runners apply each migration exactly once', async () => {
    const url = await createDatabase(server, 'mig');
    const dir = migrationsDir({
      '001_a.sql': 'create table counter (n int); select pg_sleep(0.3);',
      '002_b.sql': 'insert into counter values (1);',
    });
    const runners = Array.from({ length: 4 }, () => new Pool({ connectionString: url, max: 1 }));
    pools.push(...runners);
    const results = await Promise.all(runners.map((p) => runMigrations(p, dir, { lockPollMs: 20 })));
    expect(results.filter((r) => r.length > 0)).toEqual([['001_a.sql', '002_b.sql']]);
    const { rows } = await runners[0].query('select count(*)::int as n from counter');
    expect(rows[0].n).toBe(1);
  });

  test('accepts a connected client as well as a pool, and releases its lock when done', async () => {
    const url = await createDatabase(server, 'mig');
    const client = new Client({ connectionString: url });
    const other = new Client({ connectionString: url });
    await client.connect();
    await other.connect();
    try {
      expect(await runMigrations(client, MIGRATIONS_DIR)).toEqual(PROJECT_MIGRATIONS);
      const { rows } = await other.query('select pg_try_advisory_lock($1) as free', [MIGRATION_LOCK_KEY]);
      expect(rows[0].free).toBe(true);
    } finally {
      await client.end();
      await other.end();
    }
  });

  test('a failing migration leaves neither its changes nor a record, and names the file', async () => {
    const pool = await freshPool();
    const dir = migrationsDir({
      '001_a.sql': 'create table ok (n int);',
      '002_bad.sql': 'create table half (n int); select no_such_function();',
    });
    await expect(runMigrations(pool, dir)).rejects.toThrow(/migration 002_bad\.sql failed: .*no_such_function/);
    const { rows } = await pool.query('select name from schema_migrations');
    expect(rows.map((r) => r.name)).toEqual(['001_a.sql']);
    const half = await pool.query(`select to_regclass('half') as t`);
    expect(half.rows[0].t).toBeNull();
    fs.writeFileSync(path.join(dir, '002_bad.sql'), 'create table half (n int);');
    expect(await runMigrations(pool, dir)).toEqual(['002_bad.sql']);
  });

  test('refuses to run when an applied migration was edited', async () => {
    const pool = await freshPool();
    const dir = migrationsDir({ '001_a.sql': 'create table t (n int);' });
    await runMigrations(pool, dir);
    fs.writeFileSync(path.join(dir, '001_a.sql'), 'create table t (n bigint);');
    await expect(runMigrations(pool, dir)).rejects.toThrow(/migration 001_a\.sql was changed after it was applied/);
  });

  test('gives up after the lock timeout while another runner holds the lock', async () => {
    const pool = await freshPool();
    const holder = await pool.connect();
    const dir = migrationsDir({ '001_a.sql': 'select 1;' });
    try {
      await holder.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      await expect(runMigrations(pool, dir, { lockTimeoutMs: 200, lockPollMs: 20 })).rejects.toThrow(/held the schema_migrations lock for more than 200 ms/);
    } finally {
      holder.release(true);
    }
    expect(await runMigrations(pool, dir)).toEqual(['001_a.sql']);
  });
});

describe('readMigrations', () => {
  test('rejects file names that do not follow NNN_name.sql', async () => {
    await expect(readMigrations(migrationsDir({ 'init.sql': 'select 1;' }))).rejects.toThrow(/must match .* got "init\.sql"/);
  });

  test('rejects two files with the same number', async () => {
    await expect(readMigrations(migrationsDir({ '001_a.sql': '', '001_b.sql': '' }))).rejects.toThrow(/001_a\.sql and 001_b\.sql share the number 001/);
  });
});
