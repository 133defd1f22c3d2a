/**
 * The Redis and PostgreSQL a local run needs, started when the environment does not point at its
 * own (`REDIS_URL`, `DATABASE_URL`): the harness's servers (servers.ts) on free ports in temp dirs,
 * PostgreSQL migrated with the app's migrations. `npm run dev` and `cache-pyramid dev` use it.
 */
import { Pool } from 'pg';
import { runMigrations } from '../../lambda/runtime/db/migrations';
import { PostgresServer, RedisServer } from './servers';

export interface LocalServersOptions {
  /** The environment: a server is started for each of `REDIS_URL` and `DATABASE_URL` it does not set. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Folder of `NNN_name.sql` migrations applied to a PostgreSQL started here (`runMigrations`). @default - none applied */
  readonly migrationsDirectory?: string;
  /** Runs on a PostgreSQL started here, after the migrations (a seed); its text, if any, is reported in `started`. @default - nothing */
  readonly prepare?: (pool: Pool) => Promise<string | void>;
}

export interface LocalServers {
  /** The environment to run with: the given one plus the URLs of what was started. */
  readonly env: Record<string, string | undefined>;
  /** One line per server started, for the developer. */
  readonly started: string[];
  /** Stops what was started (nothing else). */
  stop(): Promise<void>;
}

/** Starts what `env` does not point at; with both variables set, starts nothing. */
export async function startLocalServers(options: LocalServersOptions): Promise<LocalServers> {
  const { env } = options;
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
        const applied = options.migrationsDirectory === undefined ? [] : await runMigrations(pool, options.migrationsDirectory);
        const prepared = await options.prepare?.(pool);
        started.push(`DATABASE_URL is not set: started PostgreSQL at ${pg.url}, applied ${applied.length} migrations${prepared ? `, ${prepared}` : ''}`);
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
