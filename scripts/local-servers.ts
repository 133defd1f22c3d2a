/**
 * `npm run dev` without `REDIS_URL` or `DATABASE_URL`: the package's local servers
 * (lib/testing/local-servers.ts), PostgreSQL with the shop's migrations and the deterministic seed.
 * Both stop with the dev server (and are killed if it dies).
 */
import * as path from 'node:path';
import { seedDatabase } from '../db/seed/seed';
import { LocalServers, startLocalServers } from '../lib/testing/local-servers';

export type { LocalServers };

const MIGRATIONS_DIR = path.join(__dirname, '..', 'db', 'migrations');

/** Starts what `env` does not point at; with both variables set, starts nothing. */
export async function startMissingServers(env: Readonly<Record<string, string | undefined>>, seed = { products: 1000, users: 100 }): Promise<LocalServers> {
  return startLocalServers({
    env,
    migrationsDirectory: MIGRATIONS_DIR,
    prepare: async (pool) => {
      const summary = await seedDatabase(pool, seed);
      return `seeded ${summary.products} products and ${summary.users} users`;
    },
  });
}
