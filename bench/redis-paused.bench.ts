/**
 * Redis paused (issue #2, benchmark 5): readers run against ReadThroughCache (L1 off, so every read
 * goes to Redis) with the production timeouts; Redis is SIGSTOP'd under load, then SIGCONT'd.
 * Targets: while paused every read is answered (by the origin) and its p99 stays within the command
 * timeout plus the origin's p99 measured in the same run; after SIGCONT the hit rate returns to
 * what it was before the pause.
 */
import { Pool } from 'pg';
import { CacheClient, DEFAULT_COMMAND_TIMEOUT_MS, Loader, ReadThroughCache } from '../lambda/runtime/cache';
import { CacheKeys } from '../lambda/runtime/keys';
import { DEFAULT_TTL_SECONDS, TtlClass } from '../lambda/runtime/ttl';
import { PostgresServer, RedisServer } from '../test/support/servers';
import { BenchResult, percentile, result, row } from './support/result';

const READERS = 16;
const PRODUCTS = 200;
const ORIGIN_PHASE_MS = 2_000;
const WARM_PHASE_MS = 3_000;
const PAUSED_PHASE_MS = 3_000;
/** Longer than the circuit breaker's 5 s cool-down, so the probe that closes it happens inside. */
const RESUMED_PHASE_MS = 9_000;
const RECOVERY_WINDOW_MS = 2_000;

interface Sample {
  readonly at: number;
  readonly ms: number;
  readonly source: string;
}

interface Product {
  id: number;
  name: string;
}

/** `READERS` loops reading random products until `durationMs` has passed. */
async function drive(durationMs: number, read: (id: number) => Promise<string>): Promise<{ samples: Sample[]; failures: number }> {
  const samples: Sample[] = [];
  let failures = 0;
  const end = performance.now() + durationMs;
  await Promise.all(
    Array.from({ length: READERS }, async () => {
      while (performance.now() < end) {
        const id = 1 + Math.floor(Math.random() * PRODUCTS);
        const started = performance.now();
        try {
          const source = await read(id);
          samples.push({ at: started, ms: performance.now() - started, source });
        } catch {
          failures += 1;
        }
      }
    }),
  );
  return { samples, failures };
}

function hitRate(samples: readonly Sample[]): number {
  return samples.length === 0 ? 0 : samples.filter((s) => s.source !== 'origin').length / samples.length;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

export default async function bench(): Promise<BenchResult> {
  const redis = await RedisServer.start();
  const postgres = await PostgresServer.start();
  const pool = new Pool({ connectionString: postgres.url, max: READERS });
  const client = CacheClient.connect({ url: redis.url });
  try {
    await pool.query(`create table bench_products (id int primary key, name text not null);
      insert into bench_products select g, 'product ' || g from generate_series(1, ${PRODUCTS}) g`);
    if (!(await client.ready(5_000))) throw new Error('cache did not connect');
    const cache = new ReadThroughCache({ client, keys: new CacheKeys({ namespace: 'paused' }), ttls: DEFAULT_TTL_SECONDS, l1: false });
    const keys = new CacheKeys({ namespace: 'paused' });
    const origin = (id: number): Loader<Product> => async () => {
      const { rows } = await pool.query<Product>('select id, name from bench_products where id = $1', [id]);
      return rows[0] ? { value: rows[0] } : null;
    };
    const viaCache = async (id: number): Promise<string> => {
      const read = await cache.get(keys.product(id), TtlClass.PRODUCT, origin(id));
      if ((read.value as Product | null)?.id !== id) throw new Error(`wrong value for ${id}`);
      return read.source;
    };

    const originOnly = await drive(ORIGIN_PHASE_MS, async (id) => {
      await origin(id)();
      return 'origin';
    });
    const originP99 = percentile(originOnly.samples.map((s) => s.ms), 99);

    const warm = await drive(WARM_PHASE_MS, viaCache);
    const warmEnd = performance.now();
    const before = hitRate(warm.samples.filter((s) => s.at > warmEnd - RECOVERY_WINDOW_MS));

    redis.pause();
    let paused;
    try {
      paused = await drive(PAUSED_PHASE_MS, viaCache);
    } finally {
      redis.resume();
    }
    const resumedAt = performance.now();
    const resumed = await drive(RESUMED_PHASE_MS, viaCache);
    const resumedEnd = performance.now();
    const after = hitRate(resumed.samples.filter((s) => s.at > resumedEnd - RECOVERY_WINDOW_MS));
    const firstHit = resumed.samples.filter((s) => s.source === 'redis').sort((a, b) => a.at - b.at)[0];

    const pausedLatencies = paused.samples.map((s) => s.ms);
    const bound = DEFAULT_COMMAND_TIMEOUT_MS + originP99;
    const pausedP99 = percentile(pausedLatencies, 99);
    const answeredByOrigin = paused.samples.filter((s) => s.source === 'origin').length;
    return result(
      'redis-paused',
      `${READERS} readers over ${PRODUCTS} products, L1 off, command timeout ${DEFAULT_COMMAND_TIMEOUT_MS} ms; Redis SIGSTOP for ${PAUSED_PHASE_MS / 1000} s, then SIGCONT`,
      [
        row('reads failed while paused', paused.failures, 'reads', { target: '0', pass: paused.failures === 0 }),
        row('reads answered by the origin while paused', answeredByOrigin, 'reads', {
          baseline: { name: 'reads while paused', value: paused.samples.length },
          target: 'all',
          pass: answeredByOrigin === paused.samples.length && paused.samples.length > 0,
        }),
        row('read latency p50 while paused', round1(percentile(pausedLatencies, 50)), 'ms', {
          baseline: { name: 'origin p50 alone', value: round1(percentile(originOnly.samples.map((s) => s.ms), 50)) },
        }),
        row('read latency p99 while paused', round1(pausedP99), 'ms', {
          baseline: { name: 'command timeout + origin p99', value: round1(bound) },
          target: '≤ 1× baseline',
          pass: pausedP99 <= bound,
        }),
        row('hit rate after SIGCONT (last 2 s)', round1(after * 100), '%', {
          baseline: { name: 'hit rate before the pause', value: round1(before * 100) },
          target: '≥ 0.95× baseline',
          pass: after >= 0.95 * before,
        }),
        row('first Redis hit after SIGCONT', Math.round(firstHit ? firstHit.at - resumedAt : NaN), 'ms', {
          target: '≤ circuit cool-down (5000 ms) + 1 s',
          pass: firstHit !== undefined && firstHit.at - resumedAt <= 6_000,
        }),
      ],
    );
  } finally {
    await client.quit();
    await pool.end();
    await postgres.stop();
    await redis.stop();
  }
}
