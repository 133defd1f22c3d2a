/**
 * `npm run db:setup [-- --products 10000 --users 1000 --seed 1 --reset]`: applies the migrations in
 * `db/migrations/` to `$DATABASE_URL`, then writes the deterministic seed data. Safe to run again.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'pg';
import { seedDatabase } from '../db/seed/seed';
import { runMigrations } from '../lambda/runtime/db/migrations';

const MIGRATIONS_DIR = path.join(__dirname, '..', 'db', 'migrations');

const USAGE = 'usage: npm run db:setup -- [--products N] [--users N] [--seed N] [--reset]   (uses $DATABASE_URL)';

function count(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`--${name} must be a non-negative integer, got ${JSON.stringify(raw)}\n${USAGE}`);
  return Number(raw);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      products: { type: 'string' },
      users: { type: 'string' },
      seed: { type: 'string' },
      reset: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error(`DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/postgres)\n${USAGE}`);
  const options = {
    products: count('products', values.products, 10_000),
    users: count('users', values.users, 1000),
    seed: count('seed', values.seed, 1),
    reset: values.reset,
  };
  const pool = new Pool({ connectionString: databaseUrl, max: 2, connectionTimeoutMillis: 10_000, application_name: 'cache-pyramid-db-setup' });
  try {
    const started = Date.now();
    const applied = await runMigrations(pool, MIGRATIONS_DIR);
    process.stdout.write(applied.length ? `applied migrations: ${applied.join(', ')}\n` : 'migrations: already up to date\n');
    const summary = await seedDatabase(pool, options);
    process.stdout.write(
      `seeded (seed ${options.seed}): ${summary.products} products, ${summary.categories} categories, ${summary.users} users, ${summary.config} config rows in ${Date.now() - started} ms\n`,
    );
  } finally {
    await pool.end();
  }
}

main().catch((error: Error) => {
  process.stderr.write(`db:setup failed: ${error.message}\n`);
  process.exit(1);
});
