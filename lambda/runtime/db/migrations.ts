/**
 * Applies `db/migrations/NNN_name.sql` files in name order, once each, recording them in
 * `schema_migrations`. Used by `npm run db:setup`, the tests and the AWS migration custom resource.
 *
 * Safe when several runners start at once (two deploys, a deploy and a developer): each runner
 * holds a session advisory lock for the whole run, so the second one waits, then finds every file
 * already recorded and applies nothing. Each file runs in its own transaction together with its
 * `schema_migrations` row, so a failing file leaves neither half-applied DDL nor a record of it.
 * A recorded file whose content has changed since it was applied is refused: editing an applied
 * migration is a bug that would silently diverge environments.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ClientBase, Pool, PoolClient } from 'pg';

/** A pool (a client is checked out for the run) or a connected client. */
export type MigrationTarget = Pool | ClientBase;

export interface MigrationOptions {
  /** How long to wait for another runner's lock before giving up. @default 120000 */
  readonly lockTimeoutMs?: number;
  /** Interval between lock attempts while another runner holds it. @default 250 */
  readonly lockPollMs?: number;
}

/** `pg_advisory_lock` key of the migration runner: the first 8 bytes of sha256('cache-pyramid:migrations'). */
export const MIGRATION_LOCK_KEY = createHash('sha256').update('cache-pyramid:migrations').digest().readBigInt64BE(0).toString();

const MIGRATION_FILE = /^(\d{3,})_[a-z0-9_]+\.sql$/;

interface MigrationFile {
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

function isPool(target: MigrationTarget): target is Pool {
  return 'totalCount' in target && 'idleCount' in target;
}

/** Reads and checks the migration files of `dir`: every `*.sql` must be `NNN_snake_name.sql`, numbers unique. */
export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const entries = (await fs.readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const seen = new Map<string, string>();
  const files: MigrationFile[] = [];
  for (const name of entries) {
    const match = MIGRATION_FILE.exec(name);
    if (!match) throw new Error(`migration file names must match ${MIGRATION_FILE}, got ${JSON.stringify(name)} in ${dir}`);
    const previous = seen.get(match[1]);
    if (previous) throw new Error(`migrations ${previous} and ${name} share the number ${match[1]}`);
    seen.set(match[1], name);
    const sql = await fs.readFile(path.join(dir, name), 'utf8');
    files.push({ name, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  return files;
}

/**
 * Applies every migration of `migrationsDir` not yet recorded in `schema_migrations` and returns the
 * names it applied, in order (empty when the database was already current).
 */
export async function runMigrations(target: MigrationTarget, migrationsDir: string, options: MigrationOptions = {}): Promise<string[]> {
  const files = await readMigrations(migrationsDir);
  const client: ClientBase = isPool(target) ? await target.connect() : target;
  let locked = false;
  let broken: Error | undefined;
  try {
    await acquireLock(client, options.lockTimeoutMs ?? 120_000, options.lockPollMs ?? 250);
    locked = true;
    await client.query(`create table if not exists schema_migrations (
      name       text primary key,
      checksum   text not null,
      applied_at timestamptz not null default now()
    )`);
    const { rows } = await client.query<{ name: string; checksum: string }>('select name, checksum from schema_migrations');
    const applied = new Map(rows.map((r) => [r.name, r.checksum]));
    for (const file of files) {
      const recorded = applied.get(file.name);
      if (recorded !== undefined && recorded !== file.checksum) {
        throw new Error(`migration ${file.name} was changed after it was applied (checksum ${recorded} in schema_migrations, ${file.checksum} on disk); add a new migration instead`);
      }
    }
    const done: string[] = [];
    for (const file of files) {
      if (applied.has(file.name)) continue;
      await client.query('begin');
      try {
        // Migrations may legitimately run longer than the pool's request-sized statement timeout.
        await client.query('set local statement_timeout = 0');
        await client.query(file.sql);
        await client.query('insert into schema_migrations (name, checksum) values ($1, $2)', [file.name, file.checksum]);
        await client.query('commit');
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        throw new Error(`migration ${file.name} failed: ${(error as Error).message}`, { cause: error });
      }
      done.push(file.name);
    }
    return done;
  } catch (error) {
    broken = error as Error;
    throw error;
  } finally {
    if (locked) await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    // A client that saw an error may be mid-transaction or disconnected: the pool discards it.
    if (isPool(target)) (client as PoolClient).release(broken);
  }
}

async function acquireLock(client: ClientBase, timeoutMs: number, pollMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [MIGRATION_LOCK_KEY]);
    if (rows[0].locked) return;
    if (Date.now() >= deadline) {
      throw new Error(`another migration runner held the schema_migrations lock for more than ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
