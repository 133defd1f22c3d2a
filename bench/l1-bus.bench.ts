/**
 * The L1 invalidation bus (lambda/runtime/cache/invalidation-bus.ts): two processes, A writes a new
 * version of a key (write-through, which publishes on the bus) and B, holding the old version in its
 * L1, reads the key in a loop. Staleness = from just before A's write starts until B first reads the
 * new value (CLOCK_MONOTONIC in both processes). Baseline, in the same run: the same B without the
 * bus, which sees the write only when its L1 copy expires (the default 10 s L1 TTL).
 *
 * Also in the same run: an L1 hit with the bus subscribed against a raw ioredis GET of the same
 * value (the bus must not slow the hit path), and the cost of the per-invocation `sync()` (one PING
 * on the subscriber connection) against that raw GET. Standalone Redis and a 3-master cluster
 * (sharded pub/sub).
 */
import { ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';
import Redis, { Cluster } from 'ioredis';
import { CacheClient, CacheClientConfig, InvalidationBus, ReadThroughCache } from '../lambda/runtime/cache';
import { CacheKeys } from '../lambda/runtime/keys';
import { DEFAULT_TTL_SECONDS, TtlClass } from '../lambda/runtime/ttl';
import { RedisCluster, RedisServer } from '../test/support/servers';
import type { Message, Reply } from './support/bus-reader';
import { BenchResult, BenchRow, percentile, result, row } from './support/result';

const ROUNDS = 200;
const BASELINE_KEYS = 3;
const HIT_SAMPLES = 20_000;
const SYNC_SAMPLES = 2_000;
const MAX_STALENESS_P99_MS = 50;
const MAX_L1_HIT_RATIO = 0.1;

interface Reader {
  send(message: Message): void;
  next(type: Reply['type'], key?: string): Promise<Reply>;
  stop(): Promise<void>;
}

function startReader(mode: 'bus' | 'ttl', config: CacheClientConfig): Reader {
  const child: ChildProcess = fork(path.join(__dirname, 'support', 'bus-reader.ts'), [mode, JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting: { type: string; key?: string; resolve: (reply: Reply) => void }[] = [];
  const early: Reply[] = [];
  child.on('message', (reply: Reply) => {
    const i = waiting.findIndex((w) => w.type === reply.type && (w.key === undefined || ('key' in reply && w.key === reply.key)));
    if (i < 0) return void early.push(reply);
    waiting.splice(i, 1)[0].resolve(reply);
  });
  return {
    send: (message) => child.send(message),
    next: (type, key) =>
      new Promise<Reply>((resolve) => {
        const i = early.findIndex((r) => r.type === type && (key === undefined || ('key' in r && r.key === key)));
        if (i >= 0) return resolve(early.splice(i, 1)[0]);
        waiting.push({ type, key, resolve });
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.send({ type: 'stop' });
      }),
  };
}

interface Setup {
  readonly config: CacheClientConfig;
  readonly raw: Redis | Cluster;
}

async function staleness(setup: Setup, writer: ReadThroughCache, keys: CacheKeys, mode: 'bus' | 'ttl', rounds: number, parallel: number): Promise<number[]> {
  const reader = startReader(mode, setup.config);
  await reader.next('ready');
  const samples: number[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      const batch = Array.from({ length: parallel }, (_, i) => keys.product(`${mode}-${r}-${i}`));
      for (const key of batch) await setup.raw.set(`${key}:truth`, JSON.stringify({ value: 'old', version: 1 }));
      const watching = batch.map((key) => reader.next('watching', key));
      for (const key of batch) reader.send({ type: 'watch', key, expect: 'new' });
      await Promise.all(watching);
      const seen = batch.map((key) => reader.next('seen', key));
      const started = process.hrtime.bigint();
      await Promise.all(
        batch.map(async (key) => {
          await setup.raw.set(`${key}:truth`, JSON.stringify({ value: 'new', version: 2 }));
          await writer.put(key, TtlClass.PRODUCT, 'new', { version: 2 });
        }),
      );
      for (const reply of await Promise.all(seen)) {
        if (reply.type === 'seen') samples.push(Number(BigInt(reply.atNs) - started) / 1e6);
      }
    }
  } finally {
    await reader.stop();
  }
  return samples;
}

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

async function measure(kind: 'standalone' | 'cluster', setup: Setup): Promise<BenchRow[]> {
  const client = CacheClient.connect({ ...setup.config, commandTimeoutMs: 1_000, connectTimeoutMs: 1_000 });
  if (!(await client.ready(10_000))) throw new Error('cache did not connect');
  const keys = new CacheKeys({ namespace: 'busbench', clusterMode: client.isCluster });
  const bus = InvalidationBus.connect(client, { channel: `${keys.prefix}bus` });
  try {
    if (!(await bus.subscribed(10_000))) throw new Error('bus did not subscribe');
    const writer = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, bus, earlyRefreshBeta: 0 });
    const withBus = await staleness(setup, writer, keys, 'bus', kind === 'standalone' ? ROUNDS : ROUNDS / 2, 1);
    const ttlOnly = await staleness(setup, writer, keys, 'ttl', 1, BASELINE_KEYS);

    // The hit path with the bus subscribed, against a raw GET of the same stored value.
    const hitKey = keys.product('hit');
    await writer.put(hitKey, TtlClass.PRODUCT, { id: 1, name: 'kettle', priceCents: 2599 }, { version: 1 });
    const fail = async () => {
      throw new Error('the hit path reached the origin');
    };
    const ops = [() => setup.raw.get(hitKey), () => writer.get(hitKey, TtlClass.PRODUCT, fail), () => bus.sync()];
    await interleaved(1_000, ops);
    const [rawGet, l1Hit] = await interleaved(HIT_SAMPLES, ops.slice(0, 2));
    const [rawForSync, sync] = await interleaved(SYNC_SAMPLES, [ops[0], ops[2]]);
    if (writer.stats().served.l1 < HIT_SAMPLES) throw new Error('L1 hits were not all from L1');

    const rawP50 = percentile(rawGet, 50);
    const label = `${kind} Redis`;
    return [
      row(`cross-instance staleness after a write, p99, bus (${label}, ${withBus.length} writes)`, round2(percentile(withBus, 99)), 'ms', {
        baseline: { name: `L1 TTL only, no bus (${ttlOnly.length} writes)`, value: round2(percentile(ttlOnly, 99)) },
        target: `≤ ${MAX_STALENESS_P99_MS} ms`,
        pass: percentile(withBus, 99) <= MAX_STALENESS_P99_MS,
      }),
      row(`cross-instance staleness after a write, p50, bus (${label})`, round2(percentile(withBus, 50)), 'ms', {
        baseline: { name: 'L1 TTL only, no bus', value: round2(percentile(ttlOnly, 50)) },
      }),
      row(`L1 hit with the bus subscribed, p50 (${label})`, us(percentile(l1Hit, 50)), 'µs', {
        baseline: { name: 'raw ioredis GET p50', value: us(rawP50) },
        target: `≤ ${MAX_L1_HIT_RATIO}× baseline`,
        pass: percentile(l1Hit, 50) <= MAX_L1_HIT_RATIO * rawP50,
      }),
      row(`per-invocation sync (PING on the subscriber connection), p50 (${label})`, us(percentile(sync, 50)), 'µs', {
        baseline: { name: 'raw ioredis GET p50', value: us(percentile(rawForSync, 50)) },
      }),
      row(`per-invocation sync, p99 (${label})`, us(percentile(sync, 99)), 'µs', {
        baseline: { name: 'raw ioredis GET p99', value: us(percentile(rawForSync, 99)) },
      }),
    ];
  } finally {
    await bus.close();
    await client.quit();
  }
}

export default async function bench(): Promise<BenchResult> {
  const rows: BenchRow[] = [];
  const server = await RedisServer.start();
  const raw = new Redis(server.url);
  try {
    rows.push(...(await measure('standalone', { config: { url: server.url }, raw })));
  } finally {
    raw.disconnect();
    await server.stop();
  }
  const cluster = await RedisCluster.start();
  const rawCluster = new Cluster(cluster.startupNodes);
  try {
    rows.push(...(await measure('cluster', { config: { clusterNodes: cluster.startupNodes }, raw: rawCluster })));
  } finally {
    rawCluster.disconnect();
    await cluster.stop();
  }
  return result('l1-bus', 'Cross-instance L1 staleness after a write with the invalidation bus vs the L1 TTL alone; L1 hit and per-invocation sync cost vs a raw GET', rows);
}

function round2(ms: number): number {
  return Math.round(ms * 100) / 100;
}

function us(ms: number): number {
  return Math.round(ms * 10_000) / 10;
}
