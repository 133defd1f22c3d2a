/**
 * `npm run dev` without `REDIS_URL` or `DATABASE_URL`: the test harness's own Redis and PostgreSQL
 * (test/support/servers.ts), each on a free port in a temp folder, so `npm ci && npm run dev` works
 * on a machine with the server binaries and nothing configured. PostgreSQL gets the migrations and
 * the deterministic seed. Both stop with the dev server (and are killed if it dies).
 */
import { Pool } from 'pg';
import { seedDatabase } from '../db/seed/seed';
import { runMigrations } from '../lambda/runtime/db/migrations';
import { PostgresServer, RedisServer } from '../test/support/servers';
import * as path from 'node:path';

const MIGRATIONS_DIR = path.join(__dirname, '..', 'db', 'migrations');

export interface LocalServers {
  /** The environment to run the API with: the given one plus what was started. */
  readonly env: Record<string, string | undefined>;
  /** One line per server started, for the developer. */
  readonly started: string[];
  stop(): Promise<void>;
}

/** Starts what `env` does not point at; with both variables set, starts nothing. */
export async function startMissingServers(env: Readonly<Record<string, string | undefined>>, seed = { products: 1000, users: 100 }): Promise<LocalServers> {
  const started: string[] = [];
  const stops: Array<() => Promise<void>> = [];
  const result: Record<string, string | undefined> = { ...env };
  try {
    if (!env.REDIS_URL) {
      const redis = await RedisServer.start();
      stops.push(() => redis.stop());
      result.REDIS_URL = redis.url;
      result.CACHE_CLUSTER_MODE = 'false';
      started.push(`REDIS_URL is not set: started Redis at ${redis.url}`);
    }
    if (!env.DATABASE_URL) {
      const pg = await PostgresServer.start();
      stops.push(() => pg.stop());
      const pool = new Pool({ connectionString: pg.url, max: 2 });
      try {
        const applied = await runMigrations(pool, MIGRATIONS_DIR);
        const summary = await seedDatabase(pool, seed);
        started.push(`DATABASE_URL is not set: started PostgreSQL at ${pg.url}, applied ${applied.length} migrations, seeded ${summary.products} products and ${summary.users} users`);
      } finally {
        await pool.end();
      }
      result.DATABASE_URL = pg.url;
    }
  } catch (error) {
    await Promise.allSettled(stops.map((stop) => stop()));
    throw error;
  }
  return {
    env: result,
    started,
    stop: async () => {
      await Promise.allSettled(stops.reverse().map((stop) => stop()));
    },
  };
}
