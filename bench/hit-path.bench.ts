/**
 * Hit path (issue #1): the API handler answering `GET /api/products/{id}` from Redis, and from the
 * in-process L1, against a raw ioredis `GET` of the same cached value on the same server, in the
 * same run. The handler's work on a hit: route and validate, read the cache (Redis GET + envelope
 * decode, or an LRU lookup), serialise the body, hash it for the ETag, build the headers.
 *
 * A Redis hit whose bytes equal the last ones read for its key reuses their decode, and with it the
 * body and ETag (`decodedEntries`, on by default): that is the hot-key case the target is about. The
 * row "bytes not seen before" runs a handler with `decodedEntries: false`, so every hit pays the JSON
 * parse, serialisation and SHA-256, as the first read after a value changed does.
 *
 * Measured interleaved request by request (raw GET, handler via Redis, handler via L1, raw GET, …)
 * so that a busy machine slows all three alike; every figure is a per-request latency percentile.
 */
import Redis from 'ioredis';
import { Pool } from 'pg';
import * as path from 'node:path';
import { seedDatabase } from '../db/seed/seed';
import { createApi, ApiHandler } from '../lambda/shop/api/api';
import { CacheClient, ReadThroughCache, TagIndex } from '../lambda/runtime/cache';
import { runMigrations } from '../lambda/runtime/db/migrations';
import { shopOrigin } from '../lambda/shop/api/read-bindings';
import { CacheKeys } from '../lambda/runtime/keys';
import { DEFAULT_TTL_SECONDS } from '../lambda/runtime/ttl';
import { apiEvent } from '../test/lambda/api/support';
import { PostgresServer, RedisServer } from '../test/support/servers';
import { BenchResult, percentile, result, row } from './support/result';

const REQUESTS = 10_000;
const WARMUP = 2000;
const PRODUCT_ID = 42;

/** Milliseconds as microseconds, one decimal. */
function us(ms: number): number {
  return Math.round(ms * 10_000) / 10;
}

/** One request of each op in turn, `count` times; the latency of each in milliseconds. */
async function interleaved(count: number, ops: (() => Promise<unknown>)[]): Promise<number[][]> {
  const samples = ops.map(() => [] as number[]);
  for (let i = 0; i < count; i++) {
    for (let o = 0; o < ops.length; o++) {
      const started = process.hrtime.bigint();
      await ops[o]();
      samples[o].push(Number(process.hrtime.bigint() - started) / 1e6);
    }
  }
  return samples;
}

export default async function bench(): Promise<BenchResult> {
  const redisServer = await RedisServer.start();
  const pgServer = await PostgresServer.start();
  const pool = new Pool({ connectionString: pgServer.url, max: 2 });
  const raw = new Redis(redisServer.url);
  const clients: CacheClient[] = [];
  try {
    await runMigrations(pool, path.join(__dirname, '..', 'db', 'migrations'));
    await seedDatabase(pool, { products: 1000, users: 10 });
    const keys = new CacheKeys({ namespace: 'bench' });

    const api = async (l1: boolean, reuseDecoded = true): Promise<ApiHandler> => {
      const client = CacheClient.connect({ url: redisServer.url });
      clients.push(client);
      await client.ready(5000);
      const cache = new ReadThroughCache({
        client,
        keys,
        ttls: DEFAULT_TTL_SECONDS,
        l1: l1 ? undefined : false,
        earlyRefreshBeta: 0,
        ...(reuseDecoded ? {} : { decodedEntries: false as const }),
      });
      return createApi({
        cache,
        keys,
        ttls: DEFAULT_TTL_SECONDS,
        personalCache: new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, l1: false }),
        tagIndex: new TagIndex(client, keys),
        origin: shopOrigin(pool),
      });
    };
    const viaRedis = await api(false);
    const viaL1 = await api(true);
    const viaRedisNewBytes = await api(false, false);
    const event = apiEvent(`/api/products/${PRODUCT_ID}`);

    const first = await viaRedis(event);
    if (first.statusCode !== 200) throw new Error(`warm-up request answered ${first.statusCode}`);
    const key = keys.product(PRODUCT_ID);
    const checks = [await viaRedis(event), await viaL1(event), await viaL1(event), await viaRedisNewBytes(event)].map((r) => r.headers['x-cache']);
    if (checks.join() !== 'redis,redis,l1,redis') throw new Error(`expected hits from redis, redis, l1, redis; got ${checks.join()}`);
    const cachedBytes = (await raw.get(key))!.length;

    const ops = [() => raw.get(key), () => viaRedis(event), () => viaL1(event), () => viaRedisNewBytes(event)];
    await interleaved(WARMUP, ops);
    const [rawGet, redisHit, l1Hit, redisNewBytes] = await interleaved(REQUESTS, ops);

    const rawP50 = percentile(rawGet, 50);
    const rawP99 = percentile(rawGet, 99);
    return result('hit-path', `GET /api/products/{id} through the handler on a cache hit vs a raw ioredis GET of the same ${cachedBytes}-byte value (${REQUESTS} requests each, standalone Redis on localhost)`, [
      row('handler, hit from Redis, p50', us(percentile(redisHit, 50)), 'µs', { baseline: { name: 'raw GET p50', value: us(rawP50) }, target: '≤ 1.2× baseline', pass: percentile(redisHit, 50) <= 1.2 * rawP50 }),
      row('handler, hit from Redis, p99', us(percentile(redisHit, 99)), 'µs', { baseline: { name: 'raw GET p99', value: us(rawP99) } }),
      row('handler, hit from Redis, bytes not seen before, p50', us(percentile(redisNewBytes, 50)), 'µs', { baseline: { name: 'raw GET p50', value: us(rawP50) } }),
      row('handler, hit from Redis, bytes not seen before, p99', us(percentile(redisNewBytes, 99)), 'µs', { baseline: { name: 'raw GET p99', value: us(rawP99) } }),
      row('handler, hit from L1, p50', us(percentile(l1Hit, 50)), 'µs', { baseline: { name: 'raw GET p50', value: us(rawP50) }, target: '≤ 0.1× baseline', pass: percentile(l1Hit, 50) <= 0.1 * rawP50 }),
      row('handler, hit from L1, p99', us(percentile(l1Hit, 99)), 'µs', { baseline: { name: 'raw GET p99', value: us(rawP99) } }),
    ]);
  } finally {
    await Promise.all(clients.map((c) => c.quit()));
    raw.disconnect();
    await pool.end();
    await redisServer.stop();
    await pgServer.stop();
  }
}
