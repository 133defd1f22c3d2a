/**
 * Deterministic seed data for the origin: the same options always produce the same rows, so a
 * benchmark or a bug report can be reproduced from `--seed` alone.
 *
 * Rows are written in batches with `unnest` (one round trip per batch, not per row) and upserted by
 * id, so running it again is harmless: unchanged rows stay untouched (their `version` too), changed
 * ones get a new version. `reset` empties the tables first, for a size smaller than the last run.
 */
import { createHash } from 'node:crypto';
import type { ClientBase, Pool } from 'pg';

/**
 * The identity-provider subject (`sub`) of seed user `id`: a version-4-shaped UUID derived from the
 * id, so that a dev token (`npm run token -- --sub <uuid>`) and the tests can name a seed user the
 * way Cognito names a signed-in one.
 */
export function userSubject(id: number): string {
  const hex = createHash('sha256').update(`cache-pyramid-seed-user:${id}`).digest('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface SeedOptions {
  /** Number of products, ids 1…n. @default 10000 */
  readonly products?: number;
  /** Number of users, ids 1…n. @default 1000 */
  readonly users?: number;
  /** PRNG seed. @default 1 */
  readonly seed?: number;
  /** Rows per insert statement. @default 5000 */
  readonly batchSize?: number;
  /** Truncate products, users, orders, categories and config first. @default false */
  readonly reset?: boolean;
}

export interface SeedSummary {
  readonly categories: number;
  readonly products: number;
  readonly users: number;
  readonly config: number;
}

export const SEED_CATEGORIES: readonly { readonly id: number; readonly slug: string; readonly name: string }[] = [
  { id: 1, slug: 'books', name: 'Books' },
  { id: 2, slug: 'electronics', name: 'Electronics' },
  { id: 3, slug: 'garden', name: 'Garden' },
  { id: 4, slug: 'kitchen', name: 'Kitchen' },
  { id: 5, slug: 'music', name: 'Music' },
  { id: 6, slug: 'outdoor', name: 'Outdoor' },
  { id: 7, slug: 'sports', name: 'Sports' },
  { id: 8, slug: 'toys', name: 'Toys' },
];

export const SEED_CONFIG: Readonly<Record<string, unknown>> = {
  'catalog.currency': 'EUR',
  'catalog.pageSize': 20,
  'checkout.maxItemsPerOrder': 50,
  'feature.recommendations': true,
  'support.email': 'support@example.test',
};

const ADJECTIVES = ['Compact', 'Classic', 'Durable', 'Ergonomic', 'Handmade', 'Lightweight', 'Modern', 'Portable', 'Rugged', 'Smart', 'Solid', 'Vintage'];
const NOUNS = ['Backpack', 'Blender', 'Chair', 'Guitar', 'Headphones', 'Kettle', 'Lamp', 'Notebook', 'Speaker', 'Tent', 'Trowel', 'Watch'];
const FIRST_NAMES = ['Ada', 'Alan', 'Barbara', 'Dennis', 'Edsger', 'Frances', 'Grace', 'Ken', 'Leslie', 'Margaret', 'Niklaus', 'Radia'];

/** mulberry32: tiny, fast and good enough to make varied but reproducible rows. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

function hex(random: () => number, bytes: number): string {
  let out = '';
  for (let i = 0; i < bytes; i++) out += Math.floor(random() * 256).toString(16).padStart(2, '0');
  return out;
}

function checkCount(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer between ${min} and ${max}, got ${value}`);
  return value;
}

type Db = Pool | ClientBase;

async function inBatches(count: number, batchSize: number, write: (from: number, to: number) => Promise<void>): Promise<void> {
  for (let from = 1; from <= count; from += batchSize) await write(from, Math.min(count, from + batchSize - 1));
}

/** Writes the seed rows into a migrated database and returns how many rows of each kind it holds. */
export async function seedDatabase(db: Db, options: SeedOptions = {}): Promise<SeedSummary> {
  const products = checkCount('products', options.products ?? 10_000, 0, 10_000_000);
  const users = checkCount('users', options.users ?? 1000, 0, 10_000_000);
  const batchSize = checkCount('batchSize', options.batchSize ?? 5000, 1, 100_000);
  const seed = options.seed ?? 1;

  if (options.reset) await db.query('truncate order_items, orders, products, users, categories, config restart identity cascade');

  await db.query(
    `insert into categories (id, slug, name)
     select * from unnest($1::int[], $2::text[], $3::text[])
     on conflict (id) do update set slug = excluded.slug, name = excluded.name`,
    [SEED_CATEGORIES.map((c) => c.id), SEED_CATEGORIES.map((c) => c.slug), SEED_CATEGORIES.map((c) => c.name)],
  );

  // One stream per table, so that the products do not change when only the number of users does.
  const productRandom = prng(seed);
  await inBatches(products, batchSize, async (from, to) => {
    const cols = { id: [] as number[], sku: [] as string[], name: [] as string[], description: [] as string[], category: [] as number[], price: [] as number[], stock: [] as number[] };
    for (let id = from; id <= to; id++) {
      const name = `${pick(productRandom, ADJECTIVES)} ${pick(productRandom, NOUNS)} ${id}`;
      cols.id.push(id);
      cols.sku.push(`SKU-${String(id).padStart(8, '0')}`);
      cols.name.push(name);
      cols.description.push(`The ${name.toLowerCase()}, seeded for local development.`);
      cols.category.push(pick(productRandom, SEED_CATEGORIES).id);
      cols.price.push(100 + Math.floor(productRandom() * 99_900));
      cols.stock.push(Math.floor(productRandom() * 500));
    }
    await db.query(
      `insert into products (id, sku, name, description, category_id, price_cents, stock)
       select * from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::int[])
       on conflict (id) do update
          set sku = excluded.sku, name = excluded.name, description = excluded.description,
              category_id = excluded.category_id, price_cents = excluded.price_cents, stock = excluded.stock,
              version = products.version + 1, updated_at = now()
        where (products.sku, products.name, products.description, products.category_id, products.price_cents, products.stock)
              is distinct from
              (excluded.sku, excluded.name, excluded.description, excluded.category_id, excluded.price_cents, excluded.stock)`,
      [cols.id, cols.sku, cols.name, cols.description, cols.category, cols.price, cols.stock],
    );
  });

  const userRandom = prng(seed + 1);
  await inBatches(users, batchSize, async (from, to) => {
    const cols = { id: [] as number[], subject: [] as string[], email: [] as string[], name: [] as string[], bio: [] as string[], avatar: [] as (string | null)[], hash: [] as string[], mfa: [] as (string | null)[] };
    for (let id = from; id <= to; id++) {
      const first = pick(userRandom, FIRST_NAMES);
      cols.id.push(id);
      cols.subject.push(userSubject(id));
      cols.email.push(`user${id}@example.test`);
      cols.name.push(`${first} ${id}`);
      cols.bio.push(`${first} is seed user ${id}.`);
      cols.avatar.push(userRandom() < 0.7 ? `https://avatars.example.test/${id}.png` : null);
      // Shaped like a scrypt PHC string so that a leak is recognisable, but it hashes no password.
      cols.hash.push(`$scrypt$ln=15,r=8,p=1$${hex(userRandom, 16)}$${hex(userRandom, 32)}`);
      cols.mfa.push(userRandom() < 0.3 ? hex(userRandom, 20).toUpperCase() : null);
    }
    await db.query(
      `insert into users (id, email, display_name, bio, avatar_url, password_hash, mfa_secret, subject)
       select * from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::uuid[])
       on conflict (id) do update
          set email = excluded.email, display_name = excluded.display_name, bio = excluded.bio,
              avatar_url = excluded.avatar_url, password_hash = excluded.password_hash, mfa_secret = excluded.mfa_secret,
              subject = excluded.subject, updated_at = now()
        where (users.email, users.display_name, users.bio, users.avatar_url, users.password_hash, users.mfa_secret, users.subject)
              is distinct from
              (excluded.email, excluded.display_name, excluded.bio, excluded.avatar_url, excluded.password_hash, excluded.mfa_secret, excluded.subject)`,
      [cols.id, cols.email, cols.name, cols.bio, cols.avatar, cols.hash, cols.mfa, cols.subject],
    );
  });

  const configKeys = Object.keys(SEED_CONFIG);
  await db.query(
    `insert into config (key, value)
     select key, value from unnest($1::text[], $2::jsonb[]) as t(key, value)
     on conflict (key) do update set value = excluded.value, updated_at = now()
      where config.value is distinct from excluded.value`,
    [configKeys, configKeys.map((k) => JSON.stringify(SEED_CONFIG[k]))],
  );

  // Explicit ids leave the identity sequences behind; later inserts without an id must not collide.
  await db.query(`select setval(pg_get_serial_sequence('products', 'id'), greatest((select max(id) from products), 1))`);
  await db.query(`select setval(pg_get_serial_sequence('users', 'id'), greatest((select max(id) from users), 1))`);

  const { rows } = await db.query<{ categories: string; products: string; users: string; config: string }>(
    `select (select count(*) from categories) as categories, (select count(*) from products) as products,
            (select count(*) from users) as users, (select count(*) from config) as config`,
  );
  return { categories: Number(rows[0].categories), products: Number(rows[0].products), users: Number(rows[0].users), config: Number(rows[0].config) };
}
