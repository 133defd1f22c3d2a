/**
 * Fills an L1 of `bound` bytes through the resource API (the path production takes: a miss loads
 * from the origin, the value goes into L1, the answer memoises its body and ETag) until its LRU has
 * evicted, and prints what the heap grew by. Run by test/lambda/runtime/cache/l1-heap.test.ts in a
 * process of its own, with `--expose-gc`, so that nothing else lives in the heap it measures.
 *
 * node --expose-gc --import tsx test/support/l1-heap-fill.ts '{"cache":"fixed","values":"small","bound":16777216}'
 *
 * - `cache`: `fixed` (a `ReadThroughCache`'s L1, no Redis), `redis` (the same reading back the values
 *   `seedRedis` wrote to `redisUrl`: decoded entries, L1 and memo all hold them; the bound is L1's plus
 *   the decoded entries'), or `naive` (test/support/naive-local-cache.ts);
 * - `values`: `small` (product records of ~100 JSON bytes) or `large` (lists of 40 of them, ~6 KB).
 */
import Redis from 'ioredis';
import { CacheClient, encodeEnvelope, ReadThroughCache } from '../../lambda/runtime/cache';
import { CacheKeys } from '../../lambda/runtime/keys';
import { bindResource, createResourceApi, ResourceCache } from '../../lambda/runtime/resources/resource-api';
import { defineResource, Sharing } from '../../lambda/runtime/resources/resource';
import { DEFAULT_TTL_SECONDS } from '../../lambda/runtime/ttl';
import { apiEvent } from '../lambda/api/support';
import { NaiveLocalCache } from './naive-local-cache';

export interface FillOptions {
  readonly cache: 'fixed' | 'redis' | 'naive';
  readonly values: 'small' | 'large';
  /** L1's maxBytes. */
  readonly bound: number;
  /** With `cache: 'redis'`: the decoded entries' maxBytes. */
  readonly decodedBound?: number;
  /** With `cache: 'redis'`: the server `seedRedis` filled, and its namespace. */
  readonly redisUrl?: string;
  readonly namespace?: string;
}

export interface FillResult {
  /** What the heap grew by, after full collections, from an empty L1 to a full one. */
  readonly heapBytes: number;
  /** The bound the heap is judged against: L1's, plus the decoded entries' when they hold values too. */
  readonly boundBytes: number;
  /** What the L1 reports it holds, in bytes, and how many entries. */
  readonly l1Bytes: number;
  readonly l1Entries: number;
  readonly decodedBytes?: number;
  /** Requests answered (each for a value not asked for before), how many from Redis, and the mean length of a value's JSON. */
  readonly requests: number;
  readonly redisHits: number;
  readonly valueChars: number;
}

interface ProductRecord {
  readonly id: number;
  readonly sku: string;
  readonly name: string;
  readonly category: string;
  readonly priceCents: number;
  readonly stock: number;
  readonly version: number;
  readonly updatedAt: string;
}

/** A record as a repository maps a row to it (an object literal, as the shop's are). */
function product(id: number): ProductRecord {
  return { id, sku: `SKU-${id}`, name: `Product ${id}`, category: 'tools', priceCents: 1299 + (id % 1000), stock: id % 50, version: 1 + (id % 7), updatedAt: '2026-12-06T17:00:00.000Z' };
}

function valueOf(values: FillOptions['values'], id: number): unknown {
  if (values === 'small') return product(id);
  return { page: id, items: Array.from({ length: 40 }, (_, i) => product(id * 40 + i)) };
}

/** Values `seedRedis` writes: more than a full 16 MiB L1 holds (about 1 300 and 19 000 estimated bytes each). */
const SEEDED_VALUES = { small: 16_000, large: 1_100 } as const;

const collect = (globalThis as { gc?: () => void }).gc;

function heapUsed(): number {
  if (!collect) throw new Error('run node with --expose-gc');
  collect();
  collect();
  return process.memoryUsage().heapUsed;
}

const resource = defineResource<unknown>({ name: 'thing', path: '/api/things/{id}', sharing: Sharing.PUBLIC, ttl: 600 });

/**
 * What another process's fills leave in Redis at `redisUrl` under `namespace`: the envelopes of
 * SEEDED_VALUES values, written in one pipeline (run it in the test's process, not the measured one).
 */
export async function seedRedis(redisUrl: string, namespace: string, values: FillOptions['values']): Promise<void> {
  const keys = new CacheKeys({ namespace });
  const redis = new Redis(redisUrl);
  try {
    const now = Date.now();
    const pipeline = redis.pipeline();
    for (let id = 1; id <= SEEDED_VALUES[values]; id++) {
      pipeline.set(resource.key(keys, { id }), encodeEnvelope({ v: valueOf(values, id), s: now, x: now + 600_000, d: 1 }), 'PX', 900_000);
    }
    await pipeline.exec();
  } finally {
    await redis.quit();
  }
}

export async function fill(options: FillOptions): Promise<FillResult> {
  const keys = new CacheKeys({ namespace: options.namespace ?? 'heap' });
  const ttls = DEFAULT_TTL_SECONDS;
  const binding = bindResource({ resource, load: async (params) => valueOf(options.values, Number(params.id)) });
  const clients: CacheClient[] = [];
  const connect = async (): Promise<CacheClient> => {
    const client = CacheClient.connect({ url: options.redisUrl!, commandTimeoutMs: 5_000 });
    clients.push(client);
    await client.ready(10_000);
    return client;
  };
  const l1 = { maxBytes: options.bound, ttlSeconds: 60 };
  const decodedEntries = { maxBytes: options.decodedBound ?? 4 * 1024 * 1024 };
  let cache: ResourceCache;
  let held: () => { bytes: number; entries: number; decodedBytes?: number; redisHits?: number };
  let before: () => Promise<void> = async () => undefined;
  if (options.cache === 'naive') {
    const naive = new NaiveLocalCache(options.bound);
    cache = naive;
    held = () => ({ bytes: naive.sizeBytes, entries: naive.entryCount });
    before = async () => naive.clear();
  } else {
    const client = options.cache === 'redis' ? await connect() : undefined;
    const readThrough = new ReadThroughCache({ client, keys, ttls, l1, decodedEntries, earlyRefreshBeta: 0 });
    cache = readThrough;
    held = () => {
      const { l1: l1Held, decoded, served } = readThrough.stats();
      return { bytes: l1Held.bytes, entries: l1Held.entries, decodedBytes: decoded.bytes, redisHits: served.redis };
    };
    before = async () => readThrough.clearLocal();
  }
  const api = createResourceApi({ bindings: [binding], cache, keys, ttls });
  const answer = async (id: number): Promise<void> => {
    const response = await api.handle(apiEvent(`/api/things/${id}`));
    if (response?.statusCode !== 200) throw new Error(`GET /api/things/${id} answered ${response?.statusCode}`);
  };
  // Warm up (compiled code, one-time allocations), then start from an empty L1.
  for (let id = 1; id <= 50; id++) await answer(1_000_000 + id);
  await before();
  const start = heapUsed();
  const redisHitsBefore = held().redisHits ?? 0;
  let requests = 0;
  let evicted = 0;
  let valueChars = 0;
  // Until the LRU has evicted a tenth as many entries as it holds: it is full, and has churned.
  while (evicted === 0 || evicted < held().entries / 10) {
    const entries = held().entries;
    requests += 1;
    await answer(requests);
    valueChars += JSON.stringify(valueOf(options.values, requests)).length;
    if (held().entries <= entries) evicted += 1;
  }
  const heapBytes = heapUsed() - start;
  const { bytes, entries, decodedBytes, redisHits } = held();
  await Promise.all(clients.map((client) => client.quit()));
  return {
    heapBytes,
    boundBytes: options.bound + (options.cache === 'redis' ? decodedEntries.maxBytes : 0),
    l1Bytes: bytes,
    l1Entries: entries,
    ...(decodedBytes === undefined ? {} : { decodedBytes }),
    requests,
    redisHits: (redisHits ?? 0) - redisHitsBefore,
    valueChars: Math.round(valueChars / requests),
  };
}

if (require.main === module) {
  fill(JSON.parse(process.argv[2]) as FillOptions).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
