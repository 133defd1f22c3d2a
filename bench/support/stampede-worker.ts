/**
 * One process of the stampede benchmark (forked by `bench/stampede.bench.ts`). On `go` it fires
 * `concurrency` reads of one cold key at once, either through ReadThroughCache (coalescing; waiters
 * poll for the fill, or with the invalidation bus are told of it) or the naive cache-aside (GET, on a
 * miss query the origin and SET), and reports each read's latency.
 *
 * The origin is a real PostgreSQL query: `origin_product(id, run)` records itself in
 * `origin_queries` and sleeps 50 ms, so the parent counts origin queries in the database.
 */
import Redis from 'ioredis';
import { Pool } from 'pg';
import { CacheClient, InvalidationBus, ReadThroughCache } from '../../lambda/runtime/cache';
import { CacheKeys } from '../../lambda/runtime/keys';
import { DEFAULT_TTL_SECONDS, TtlClass } from '../../lambda/runtime/ttl';

export type StampedeMode = 'coalesced' | 'told' | 'naive';

export interface StampedeOrder {
  readonly mode: StampedeMode;
  readonly run: string;
  readonly productId: number;
  readonly concurrency: number;
}

export interface StampedeReport {
  readonly latenciesMs: number[];
  readonly sources: Record<string, number>;
  readonly wrongValues: number;
}

type Message = { type: 'go'; order: StampedeOrder } | { type: 'stop' };

interface Product {
  id: number;
  name: string;
}

async function main(): Promise<void> {
  const [redisUrl, databaseUrl] = process.argv.slice(2);
  const pool = new Pool({ connectionString: databaseUrl, max: 40 });
  // Open the connections before the signal, so the benchmark measures the stampede, not connects.
  const warm = await Promise.all(Array.from({ length: 40 }, () => pool.connect()));
  warm.forEach((client) => client.release());
  const client = CacheClient.connect({ url: redisUrl, commandTimeoutMs: 1_000, connectTimeoutMs: 1_000 });
  const raw = new Redis(redisUrl);
  if (!(await client.ready(10_000))) throw new Error('cache did not connect');
  const keys = new CacheKeys({ namespace: 'stampede' });
  const cache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS });
  const bus = InvalidationBus.connect(client, { channel: `${keys.prefix}bus` });
  if (!(await bus.subscribed(10_000))) throw new Error('bus did not subscribe');
  const toldCache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, bus });

  const origin = async (id: number, run: string): Promise<Product> => {
    const { rows } = await pool.query<Product>('select * from origin_product($1, $2)', [id, run]);
    return rows[0];
  };

  const readOnce = async (order: StampedeOrder): Promise<{ source: string; value: Product | null }> => {
    const key = keys.product(`${order.run}-${order.productId}`);
    if (order.mode === 'coalesced' || order.mode === 'told') {
      const read = await (order.mode === 'told' ? toldCache : cache).get(key, TtlClass.PRODUCT, async () => ({ value: await origin(order.productId, order.run) }));
      return { source: read.source, value: read.value };
    }
    const cached = await raw.get(key);
    if (cached !== null) return { source: 'redis', value: JSON.parse(cached) as Product };
    const value = await origin(order.productId, order.run);
    await raw.set(key, JSON.stringify(value), 'EX', DEFAULT_TTL_SECONDS[TtlClass.PRODUCT]);
    return { source: 'origin', value };
  };

  process.on('message', (message: Message) => {
    if (message.type === 'stop') {
      void Promise.all([bus.close(), client.quit(), raw.quit(), pool.end()]).finally(() => process.exit(0));
      return;
    }
    const { order } = message;
    void Promise.all(
      Array.from({ length: order.concurrency }, async () => {
        const started = process.hrtime.bigint();
        const read = await readOnce(order);
        return { ...read, ms: Number(process.hrtime.bigint() - started) / 1e6 };
      }),
    ).then((reads) => {
      const sources: Record<string, number> = {};
      for (const read of reads) sources[read.source] = (sources[read.source] ?? 0) + 1;
      const report: StampedeReport = {
        latenciesMs: reads.map((r) => r.ms),
        sources,
        wrongValues: reads.filter((r) => r.value?.id !== order.productId).length,
      };
      process.send!({ type: 'report', report });
    });
  });
  process.send!({ type: 'ready' });
}

main().catch((error: unknown) => {
  process.stderr.write(`stampede worker failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
