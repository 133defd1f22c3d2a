/**
 * Origin offload (issue #3): Zipf-distributed (s = 1.0) reads of `GET /api/products/{id}` over
 * 100 000 products, 200 000 requests of which 1 % are updates (SQL UPDATE, then `invalidate` of the
 * product's key), served by four API instances (four simulated Lambda sandboxes, each with its own
 * Redis connection) sharing one Redis and one PostgreSQL, 16 requests in flight.
 *
 * Three windows, in order:
 * 1. cold: 200 000 requests against an empty cache (its figure is printed for comparison);
 * 2. history: at steady state Redis holds every product read within the product TTL (3600 s). An
 *    hour of traffic at 500 requests/s (the API's default throttling rate) is 1.8 M Zipf draws;
 *    re-reading a cached key changes nothing, so the history reads each distinct product of those
 *    draws once, through the same API, instead of replaying 1.8 M requests;
 * 3. measured: 200 000 requests, the target applies here.
 *
 * Every read records the highest version committed for its product before it started; a response
 * older than that is a stale read. L1 is off: another sandbox's L1 may legitimately serve a value up
 * to its TTL (10 s) after an update, which is the documented cross-process bound, not what this
 * benchmark checks.
 */
import * as path from 'node:path';
import { Pool } from 'pg';
import { prng, seedDatabase } from '../db/seed/seed';
import { ApiHandler, createApi } from '../lambda/shop/api/api';
import { CacheClient, ReadThroughCache, TagIndex } from '../lambda/runtime/cache';
import { runMigrations } from '../lambda/runtime/db/migrations';
import { shopOrigin } from '../lambda/shop/api/read-bindings';
import { CacheKeys } from '../lambda/runtime/keys';
import { DEFAULT_TTL_SECONDS } from '../lambda/runtime/ttl';
import { apiEvent, CountingPool } from '../test/lambda/api/support';
import { PostgresServer, RedisServer } from '../test/support/servers';
import { BenchResult, result, row } from './support/result';

const PRODUCTS = 100_000;
const REQUESTS = 200_000;
const UPDATE_SHARE = 0.01;
const ZIPF_S = 1.0;
const INSTANCES = 4;
const IN_FLIGHT = 16;
const MIN_OFFLOAD = 0.95;
/** One product TTL (3600 s) of traffic at 500 requests/s. */
const HISTORY_DRAWS = 3600 * 500;

/** Draws product ids with P(rank k) ∝ 1/k^s; ranks map to ids through a fixed shuffle, so hot products are spread over the id space. */
function zipfSampler(n: number, s: number, random: () => number): () => number {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let k = 1; k <= n; k++) {
    total += 1 / k ** s;
    cdf[k - 1] = total;
  }
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  return () => {
    const u = random() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return ids[lo];
  };
}

interface Instance {
  readonly handle: ApiHandler;
  readonly cache: ReadThroughCache;
}

/**
 * A write path must not give up on an invalidation: Redis may be briefly unreachable (or its
 * circuit open on this busy machine). Retries until it succeeds, as the invalidation queue would.
 */
async function invalidateWithRetry(cache: ReadThroughCache, key: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await cache.invalidate(key);
      return;
    } catch (error) {
      if (attempt >= 300) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

interface WindowStats {
  reads: number;
  updates: number;
  staleReads: number;
  /** x-cache of each stale read: where the old value came from. */
  staleSources: string[];
  errors: number;
  originQueries: number;
  seconds: number;
}

export default async function bench(): Promise<BenchResult> {
  const redisServer = await RedisServer.start();
  const pgServer = await PostgresServer.start();
  const readPool = new Pool({ connectionString: pgServer.url, max: 8 });
  const writePool = new Pool({ connectionString: pgServer.url, max: 4 });
  const clients: CacheClient[] = [];
  try {
    await runMigrations(writePool, path.join(__dirname, '..', 'db', 'migrations'));
    await seedDatabase(writePool, { products: PRODUCTS, users: 0 });

    const keys = new CacheKeys({ namespace: 'offload' });
    const origin = new CountingPool(readPool);
    const instances: Instance[] = [];
    for (let i = 0; i < INSTANCES; i++) {
      const client = CacheClient.connect({ url: redisServer.url });
      clients.push(client);
      await client.ready(5000);
      const cache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, l1: false });
      const handle = createApi({
        cache,
        keys,
        ttls: DEFAULT_TTL_SECONDS,
        personalCache: new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, l1: false }),
        tagIndex: new TagIndex(client, keys),
        origin: shopOrigin(origin),
      });
      instances.push({ handle, cache });
    }

    const random = prng(20_261_126);
    const nextId = zipfSampler(PRODUCTS, ZIPF_S, random);
    /** Highest version whose update (SQL and invalidation) has returned, per product. */
    const committed = new Map<number, number>();

    /** Runs `ids` (or `requests` Zipf draws) through the API, updating `updateShare` of them. */
    async function runWindow(requests: number, updateShare: number, ids?: number[]): Promise<WindowStats> {
      const stats: WindowStats = { reads: 0, updates: 0, staleReads: 0, staleSources: [], errors: 0, originQueries: 0, seconds: 0 };
      const queriesBefore = origin.statements;
      const started = process.hrtime.bigint();
      let issued = 0;
      const worker = async (w: number): Promise<void> => {
        const instance = instances[w % INSTANCES];
        while (issued < requests) {
          const id = ids ? ids[issued] : nextId();
          issued += 1;
          if (random() < updateShare) {
            const { rows } = await writePool.query<{ version: string }>(
              'update products set price_cents = price_cents % 99900 + 1, version = version + 1, updated_at = now() where id = $1 returning version',
              [id],
            );
            await invalidateWithRetry(instance.cache, keys.product(id));
            committed.set(id, Math.max(committed.get(id) ?? 1, Number(rows[0].version)));
            stats.updates += 1;
            continue;
          }
          const mustSee = committed.get(id) ?? 1;
          const res = await instance.handle(apiEvent(`/api/products/${id}`));
          stats.reads += 1;
          if (res.statusCode !== 200) {
            stats.errors += 1;
            continue;
          }
          if ((JSON.parse(res.body) as { version: number }).version < mustSee) {
            stats.staleReads += 1;
            stats.staleSources.push(res.headers['x-cache']);
          }
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, (_, w) => worker(w)));
      await Promise.all(instances.map((i) => i.cache.drain()));
      stats.originQueries = origin.statements - queriesBefore;
      stats.seconds = Number(process.hrtime.bigint() - started) / 1e9;
      return stats;
    }

    const cold = await runWindow(REQUESTS, UPDATE_SHARE);
    const historyIds = [...new Set(Array.from({ length: HISTORY_DRAWS }, nextId))];
    const history = await runWindow(historyIds.length, 0, historyIds);
    const measured = await runWindow(REQUESTS, UPDATE_SHARE);
    const windows = [cold, history, measured];
    const stale = windows.reduce((sum, w) => sum + w.staleReads, 0);
    const staleSources = windows.flatMap((w) => w.staleSources);
    const bySource = [...new Set(staleSources)].map((source) => `${source} ${staleSources.filter((x) => x === source).length}`).join(', ');
    const errors = windows.reduce((sum, w) => sum + w.errors, 0);
    const updates = windows.reduce((sum, w) => sum + w.updates, 0);

    const pct = (x: number) => Math.round(x * 1000) / 10;
    const offload = 1 - measured.originQueries / measured.reads;
    return result(
      'offload',
      `Zipf s=${ZIPF_S} over ${PRODUCTS} products, ${REQUESTS} requests with ${UPDATE_SHARE * 100} % updates + invalidate, ${INSTANCES} API instances sharing one Redis, ${IN_FLIGHT} in flight; measured at steady state (after one TTL of history at 500 req/s: ${historyIds.length} distinct products)`,
      [
        row('PostgreSQL reads (measured window)', measured.originQueries, 'queries', {
          baseline: { name: 'without a cache: one per read', value: measured.reads },
          target: `≤ ${(1 - MIN_OFFLOAD).toFixed(2)}× baseline (≥ ${MIN_OFFLOAD * 100} % of reads never reach PostgreSQL)`,
          pass: offload >= MIN_OFFLOAD,
        }),
        row('reads that never reached PostgreSQL (measured window)', pct(offload), '%'),
        row('reads that never reached PostgreSQL (cold window, empty cache)', pct(1 - cold.originQueries / cold.reads), '%'),
        row(`stale reads after an update returned (all windows${bySource ? `; x-cache of those: ${bySource}` : ''})`, stale, 'reads', {
          baseline: { name: 'updates', value: updates },
          target: '= 0',
          pass: stale === 0,
        }),
        row('non-200 answers (all windows)', errors, 'responses', { target: '= 0', pass: errors === 0 }),
        row('throughput (measured window)', Math.round((measured.reads + measured.updates) / measured.seconds), 'req/s'),
      ],
    );
  } finally {
    await Promise.all(clients.map((c) => c.quit()));
    await readPool.end();
    await writePool.end();
    await redisServer.stop();
    await pgServer.stop();
  }
}
