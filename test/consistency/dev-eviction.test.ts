/**
 * Issue 20 on the dev API over a full Redis: two `npm run dev` instances (L1 bus on, the dev
 * default) over one real Redis with `maxmemory 2mb` under `allkeys-lru` (the template's policy) and
 * one real PostgreSQL. A hot list page is read while other keys fill Redis, until LRU has evicted
 * the tag set of a product on that page and kept the page (both checked with EXISTS); the product is
 * then renamed through one instance, and right after the PUT's 2xx the page is read through that
 * instance and through the other one. The in-process version, over both topologies and with the
 * edge, is ./eviction.test.ts.
 *
 * The instances answer most reads of the hot page from their L1 (10 s) without touching Redis, so
 * while filling, the test also reads the page's key and its tags' marks from Redis directly, as the
 * reads of other instances (a read fetches the entry with its marks) keep them recently used.
 *
 * - fixed: the entry carries its tags; a read finds the product's mark above the entry's ticket and
 *   goes to PostgreSQL: both instances serve the new name;
 * - naive (the tag index before issue 20, ../support/naive-tag-index-preload.ts): the purge finds no
 *   member in the evicted set, the page stays readable in Redis and in the writer's L1, and both
 *   instances serve the old name after the 2xx.
 */
import Redis from 'ioredis';
import { Pool } from 'pg';
import { userSubject } from '../../db/seed/seed';
import { CacheKeys } from '../../lambda/runtime/keys';
import { categoryTag, productList, productTag } from '../../lambda/shop/resources';
import { devJwtSettings, signDevToken } from '../../scripts/dev-auth';
import { seededDatabase } from '../lambda/runtime/db/support';
import { DevServer, killDevServer, NAIVE_TAG_INDEX_PRELOAD, startDevServer } from '../support/dev-server';
import { PostgresServer, RedisServer } from '../support/servers';

const MAXMEMORY = ['--maxmemory', '2mb', '--maxmemory-policy', 'allkeys-lru', '--maxmemory-samples', '10'];
const FILLER_BYTES = 8 * 1024;
const FILLERS_PER_ROUND = 40;
/** Filler rounds before giving up on the tag set being evicted while the page stays. */
const MAX_PRESSURE_ROUNDS = 60;
const RENAMED = 'Renamed while its tag set was evicted';

interface Page {
  readonly items: { id: number; name: string; version: number }[];
}

interface Seen {
  readonly name: string;
  readonly xCache: string | null;
}

describe('npm run dev over a Redis at maxmemory (allkeys-lru): a renamed product on a hot page whose tag set was evicted', () => {
  let postgres: PostgresServer;
  let pool: Pool;
  let databaseUrl: string;
  let category: string;
  let authorization: string;
  const keys = new CacheKeys({ clusterMode: false });

  beforeAll(async () => {
    postgres = await PostgresServer.start();
    ({ pool, url: databaseUrl } = await seededDatabase(postgres, { products: 12, users: 2 }));
    const { rows } = await pool.query<{ slug: string }>('select c.slug from products p join categories c on c.id = p.category_id where p.id = 1');
    category = rows[0].slug;
    authorization = `Bearer ${await signDevToken(devJwtSettings(process.env), { sub: userSubject(1), scopes: ['products:write'] })}`;
  });
  afterAll(async () => {
    await pool?.end();
    await postgres?.stop();
  });

  async function getPage(server: DevServer): Promise<{ page: Page; xCache: string | null }> {
    const response = await fetch(`${server.base}/api/products?category=${category}`);
    expect(response.status).toBe(200);
    return { page: (await response.json()) as Page, xCache: response.headers.get('x-cache') };
  }

  /**
   * Fills Redis with other keys, reading the page (through `writer`, and its key and marks from
   * Redis) between them, until the tag set is gone and the page is not. Redis's LRU clock ticks
   * once a second, so each round waits a little over that: the page is then younger than the cold
   * tag set. Returns the rounds used.
   */
  async function evictTagSet(redis: Redis, writer: DevServer, page: string, tagSet: string, hot: readonly string[]): Promise<number> {
    const filler = 'x'.repeat(FILLER_BYTES);
    for (let round = 1; round <= MAX_PRESSURE_ROUNDS; round++) {
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await getPage(writer);
      for (let i = 0; i < FILLERS_PER_ROUND; i++) {
        await redis.set(`filler:${round}:${i}`, filler, 'EX', 300);
        await redis.mget(...hot);
      }
      if ((await redis.exists(page)) === 1 && (await redis.exists(tagSet)) === 0) return round;
    }
    throw new Error(`the tag set was not evicted with the page kept after ${MAX_PRESSURE_ROUNDS} filler rounds`);
  }

  /** Two dev servers on a full Redis; the page made hot, the tag set evicted, the product renamed through the first; what each then serves. */
  async function renameAfterEviction(naive: boolean): Promise<{ before: string; writer: Seen; other: Seen; rounds: number; evicted: number }> {
    const redisServer = await RedisServer.start({ args: MAXMEMORY });
    const redis = new Redis(redisServer.url);
    const servers: DevServer[] = [];
    try {
      const env = { REDIS_URL: redisServer.url, DATABASE_URL: databaseUrl };
      for (let i = 0; i < 2; i++) servers.push(await startDevServer(env, naive ? { preload: NAIVE_TAG_INDEX_PRELOAD } : {}));
      const [writer, other] = servers;
      expect(await redis.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'allkeys-lru']);

      const { page: first } = await getPage(writer);
      const product = first.items[0];
      const pageKey = productList.key(keys, { category, page: 1 });
      const tagSet = keys.tagSet(productTag(product.id));
      expect(await redis.exists(pageKey, tagSet)).toBe(2);
      const hot = [pageKey, keys.tagMark(categoryTag(category)), ...first.items.map((item) => keys.tagMark(productTag(item.id)))];
      const rounds = await evictTagSet(redis, writer, pageKey, tagSet, hot);
      expect(await redis.exists(pageKey)).toBe(1);
      expect(await redis.exists(tagSet)).toBe(0);
      const evicted = Number(/evicted_keys:(\d+)/.exec(await redis.info('stats'))![1]);

      const { rows } = await pool.query<{ description: string; price_cents: number; stock: number; version: number }>(
        'select description, price_cents, stock, version::int as version from products where id = $1',
        [product.id],
      );
      const current = rows[0];
      const put = await fetch(`${writer.base}/api/products/${product.id}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify({ name: `${RENAMED} (${naive ? 'naive' : 'fixed'})`, description: current.description, priceCents: current.price_cents, stock: current.stock, category, version: current.version }),
      });
      expect(put.status).toBe(200);
      await put.arrayBuffer();

      const seen = async (server: DevServer): Promise<Seen> => {
        const { page, xCache } = await getPage(server);
        return { name: page.items.find((item) => item.id === product.id)!.name, xCache };
      };
      // The other instance first: its L1 never held the page, so Redis answers it, before the writer's read could refill Redis.
      const otherSeen = await seen(other);
      return { before: product.name, other: otherSeen, writer: await seen(writer), rounds, evicted };
    } finally {
      for (const server of servers) await killDevServer(server.child);
      redis.disconnect();
      await redisServer.stop();
    }
  }

  function report(label: string, result: Awaited<ReturnType<typeof renameAfterEviction>>): void {
    process.stdout.write(
      `dev eviction (${label}): tag set evicted, page kept after ${result.rounds} filler round(s) (${result.evicted} keys evicted); ` +
        `"${result.before}" renamed; after the PUT's 2xx the other instance served "${result.other.name}" (x-cache ${result.other.xCache}), then the writer "${result.writer.name}" (x-cache ${result.writer.xCache})\n`,
    );
  }

  test('fixed: right after the PUT\'s 2xx, both instances serve the new name', async () => {
    const result = await renameAfterEviction(false);
    report('fixed', result);
    expect(result.writer.name).toBe(`${RENAMED} (fixed)`);
    expect(result.other.name).toBe(`${RENAMED} (fixed)`);
  }, 240_000);

  test('naive tag index: after the PUT\'s 2xx, both instances still serve the old name', async () => {
    const result = await renameAfterEviction(true);
    report('naive tag index', result);
    expect(result.other).toEqual({ name: result.before, xCache: 'redis' });
    expect(result.writer.name).toBe(result.before);
  }, 240_000);
});
