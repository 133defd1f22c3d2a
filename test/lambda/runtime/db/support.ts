/**
 * A migrated, seeded PostgreSQL for runtime tests: one server per suite, one database per caller,
 * so that each test owns its schema and data.
 */
import * as path from 'node:path';
import { Pool } from 'pg';
import { seedDatabase, SeedOptions, SeedSummary } from '../../../../db/seed/seed';
import { runMigrations } from '../../../../lambda/runtime/db/migrations';
import { PostgresServer } from '../../../support/servers';

export const MIGRATIONS_DIR = path.join(__dirname, '..', '..', '..', '..', 'db', 'migrations');

let counter = 0;

/** Creates an empty database on `server` and returns its URL. */
export async function createDatabase(server: PostgresServer, prefix = 'test'): Promise<string> {
  const name = `${prefix}_${process.pid}_${++counter}`;
  const admin = new Pool({ connectionString: server.url, max: 1 });
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  return server.url.replace(/\/[^/]+$/, `/${name}`);
}

/** A new database with the migrations applied and the seed written; the caller ends the pool. */
export async function seededDatabase(server: PostgresServer, seed: SeedOptions = { products: 200, users: 20 }): Promise<{ url: string; pool: Pool; summary: SeedSummary }> {
  const url = await createDatabase(server, 'seeded');
  const pool = new Pool({ connectionString: url, max: 4 });
  await runMigrations(pool, MIGRATIONS_DIR);
  const summary = await seedDatabase(pool, seed);
  return { url, pool, summary };
}
