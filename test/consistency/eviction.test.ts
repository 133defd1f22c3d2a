/**
 * The whole pyramid over a full Redis (issue 20, part 2): every Redis server (the standalone one, each
 * cluster master) runs with a small `maxmemory` under `allkeys-lru`, the template's policy, and
 * filler traffic keeps it evicting while the hot list page (and the marks its reads fetch) stay
 * recently used. The cold tag set of a product on that page is evicted, then the product is
 * written. The checker (test/consistency/checker.ts) judges every answer, edge included:
 * - fixed: the page is unreadable in Redis at once (its tag's mark is above the page's ticket); the
 *   writer, told the tag set is gone (`unknownTags`), purges every list path at the edge;
 * - naive (the tag index before issue 20): the invalidation finds no member, the old page is served
 *   from Redis after the 2xx, and its edge copy is never purged.
 */
import { Template } from 'aws-cdk-lib/assertions';
import Redis, { Cluster } from 'ioredis';
import { Pool } from 'pg';
import type { CacheClient } from '../../lambda/runtime/cache';
import { addCachePyramidStacks } from '../../lib/cache-pyramid-app';
import { loadStageConfig } from '../../lib/stages';
import { connectClient, inspector } from '../lambda/runtime/cache/support';
import { seededDatabase } from '../lambda/runtime/db/support';
import { testApp } from '../support/cdk';
import { PostgresServer } from '../support/servers';
import { describeEachTopology } from '../support/topologies';
import { productList } from '../../lambda/shop/resources';
import { Layer } from './checker';
import { L1_TTL_MS, Ordering, Pyramid } from './pyramid';

const INSTANCES = 3;
/** Small enough that a few hundred KB of filler makes every node evict. */
const MAXMEMORY = ['--maxmemory', '3mb', '--maxmemory-policy', 'allkeys-lru', '--maxmemory-samples', '10'];
const FILLER_BYTES = 8 * 1024;
/** Filler rounds before giving up on evicting the tag set (each round writes 40 keys). */
const MAX_PRESSURE_ROUNDS = 60;

let template: Template;
beforeAll(() => {
  const app = testApp({ stage: 'dev' });
  template = Template.fromStack(addCachePyramidStacks(app, loadStageConfig(app)).pyramid);
});

describeEachTopology(
  'whole-pyramid consistency over a Redis at maxmemory (allkeys-lru)',
  (handle) => {
    let server: PostgresServer;
    let pool: Pool;
    let redis: Redis | Cluster;
    let category: string;
    const clients: CacheClient[] = [];
    let histories = 0;

    beforeAll(async () => {
      server = await PostgresServer.start();
      ({ pool } = await seededDatabase(server, { products: 12, users: 2 }));
      const { rows } = await pool.query<{ slug: string }>('select c.slug from products p join categories c on c.id = p.category_id where p.id = 1');
      category = rows[0].slug;
      redis = await inspector(handle.current());
      for (let i = 0; i < INSTANCES; i++) clients.push(await connectClient(handle.current()));
    });
    afterAll(async () => {
      await Promise.all(clients.map((c) => c.quit()));
      redis?.disconnect();
      await pool?.end();
      await server?.stop();
    });

    test('the servers evict under allkeys-lru', async () => {
      const nodes = 'nodes' in redis ? redis.nodes('master') : [redis];
      for (const node of nodes) expect(await node.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'allkeys-lru']);
    });

    /**
     * Writes filler until LRU has evicted the tag set of `product:<id>` while the page stays, reading
     * the page and its marks between filler keys as its readers do. Redis's LRU clock ticks once a
     * second, so a round waits a little over that: the page is then younger than the cold tag set.
     * Should the page go too (LRU is sampled), another edge location's miss fills it again (same
     * version: nothing was written yet). Returns the filler rounds used.
     */
    async function evictTagSet(p: Pyramid, page: string, id: number): Promise<number> {
      const tagSet = p.keys.tagSet(`product:${id}`);
      const hot = [page, p.keys.tagMark(`product:${id}`), p.keys.tagMark(`category:${category}`)];
      const filler = 'x'.repeat(FILLER_BYTES);
      for (let round = 1; round <= MAX_PRESSURE_ROUNDS; round++) {
        await new Promise((resolve) => setTimeout(resolve, 1_100));
        for (let i = 0; i < 40; i++) {
          await redis.set(`${p.keys.prefix}filler:${round}:${i}`, filler, 'EX', 60);
          for (const key of hot) await redis.get(key);
        }
        if ((await redis.exists(page)) === 0) {
          await p.readList(`c1@i1`, 1, category);
          continue;
        }
        if ((await redis.exists(tagSet)) === 0) return round;
      }
      throw new Error(`the tag set was not evicted after ${MAX_PRESSURE_ROUNDS} filler rounds`);
    }

    /** A hot list page cached everywhere; its product's tag set evicted; the product written; the page read again from every layer. */
    async function evictedTagSetThenWrite(naive: boolean): Promise<Pyramid> {
      histories += 1;
      const p = new Pyramid({
        pool,
        clients,
        purgerRedis: redis,
        clusterMode: handle.current().kind === 'cluster',
        template,
        ordering: Ordering.BOTTOM_UP,
        namespace: `e${process.pid}-${histories}`,
        edgeLocations: 3,
        naiveTagIndex: naive,
      });
      const first = await p.readList('c0@i0', 0, category);
      expect(first.status).toBe(200);
      const id = Number(Object.keys(first.versions)[0]);
      const page = productList.key(p.keys, { category, page: 1 });
      expect(await redis.exists(page)).toBe(1);
      const rounds = await evictTagSet(p, page, id);
      process.stdout.write(`eviction (${handle.current().kind}, ${naive ? 'naive' : 'fixed'}): tag set of product ${id} evicted after ${rounds} filler round(s), page kept\n`);
      await p.time.advance(1_000);
      expect((await p.writeProduct('c1@i1', 1, id, false)).status).toBe(200);
      await p.time.advance(1);
      // Another client, at another edge location, through another instance: Redis answers.
      await p.readList('c2@i2', 2, category);
      await p.time.advance(1);
      await p.time.drain();
      // Past the edge's bound (the forwarded CDN purge's delay and batching window) and every L1 TTL, well within the page's max-age.
      await p.time.advance(Math.max(p.timing.cdnPurgeDelayMs + p.timing.cdnBatchWindowMs, L1_TTL_MS) + 1_000);
      // The first client's edge location holds the page it cached before the write, unless it was purged.
      for (let client = 0; client < 3; client++) {
        await p.readList(`c${client}@i${client}`, client, category);
        await p.time.advance(1);
      }
      return p;
    }

    test('fixed: an evicted tag set changes nothing; every answer after the 2xx is within its layer\'s bound', async () => {
      const p = await evictedTagSetThenWrite(false);
      p.checker().assertConsistent();
      expect(p.deadLettered).toEqual([]);
    });

    test('naive: the old page is served from Redis after the 2xx, and from the edge past its bound', async () => {
      const p = await evictedTagSetThenWrite(true);
      const violations = p.checker().violations();
      const layers = new Set(violations.map((v) => v.read.layer));
      expect(layers).toEqual(new Set([Layer.REDIS, Layer.EDGE]));
    });
  },
  { args: MAXMEMORY },
);
