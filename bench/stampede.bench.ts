/**
 * Stampede (issue #2, benchmark 2): 500 concurrent requests from 4 processes for one cold key whose
 * origin query takes 50 ms (a real PostgreSQL function that records each call and sleeps). Target:
 * exactly one origin query with ReadThroughCache (in-process single-flight + the cross-process
 * lock); the naive cache-aside (GET, miss → query → SET) of the same requests is the baseline.
 * Waiters in the other processes either poll for the fill (no bus) or are told of it by the
 * invalidation bus (issue #12): with the bus, p99 ≤ the origin query's own time (measured alone, in
 * the same run) + 10 ms. Several rounds, each with its own cold key; the worst round is reported.
 */
import { ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';
import { Pool } from 'pg';
import { PostgresServer, RedisServer } from '../test/support/servers';
import type { StampedeMode, StampedeOrder, StampedeReport } from './support/stampede-worker';
import { BenchResult, percentile, result, row } from './support/result';

const PROCESSES = 4;
const REQUESTS = 500;
const ROUNDS = 5;
const ORIGIN_SECONDS = 0.05;

const ORIGIN_SQL = `
create table origin_queries (id bigserial primary key, run text not null, at timestamptz not null default clock_timestamp());
create function origin_product(p_id int, p_run text) returns table (id int, name text) language plpgsql as $$
begin
  insert into origin_queries (run) values (p_run);
  perform pg_sleep(${ORIGIN_SECONDS});
  return query select p_id, 'product ' || p_id;
end $$;`;

interface Worker {
  readonly child: ChildProcess;
  next<T>(type: string): Promise<T>;
}

function startWorker(redisUrl: string, databaseUrl: string): Worker {
  const child = fork(path.join(__dirname, 'support', 'stampede-worker.ts'), [redisUrl, databaseUrl], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map<string, { resolve: (payload: unknown) => void; reject: (error: Error) => void }>();
  child.on('message', (message: { type: string; report?: StampedeReport }) => {
    const waiter = waiting.get(message.type);
    waiting.delete(message.type);
    waiter?.resolve(message.report);
  });
  child.once('exit', (code) => {
    for (const [type, waiter] of waiting) waiter.reject(new Error(`stampede worker exited with ${code} while waiting for ${type}`));
    waiting.clear();
  });
  return {
    child,
    next: <T>(type: string) => new Promise<T>((resolve, reject) => waiting.set(type, { resolve: resolve as (payload: unknown) => void, reject })),
  };
}

interface Round {
  readonly originQueries: number;
  readonly latenciesMs: number[];
  readonly wrongValues: number;
  readonly fromOrigin: number;
}

async function round(workers: Worker[], pool: Pool, mode: StampedeMode, run: string): Promise<Round> {
  const perProcess = REQUESTS / workers.length;
  const reports = workers.map((w) => w.next<StampedeReport>('report'));
  const order: StampedeOrder = { mode, run, productId: 42, concurrency: perProcess };
  for (const worker of workers) worker.child.send({ type: 'go', order });
  const done = await Promise.all(reports);
  const { rows } = await pool.query<{ n: string }>('select count(*) as n from origin_queries where run = $1', [run]);
  return {
    originQueries: Number(rows[0].n),
    latenciesMs: done.flatMap((r) => r.latenciesMs),
    wrongValues: done.reduce((sum, r) => sum + r.wrongValues, 0),
    fromOrigin: done.reduce((sum, r) => sum + (r.sources.origin ?? 0), 0),
  };
}

export default async function bench(): Promise<BenchResult> {
  const redis = await RedisServer.start();
  const postgres = await PostgresServer.start();
  const pool = new Pool({ connectionString: postgres.url, max: 2 });
  const workers: Worker[] = [];
  try {
    await pool.query(ORIGIN_SQL);
    for (let i = 0; i < PROCESSES; i++) workers.push(startWorker(redis.url, postgres.url));
    await Promise.all(workers.map((w) => w.next('ready')));

    const coalesced: Round[] = [];
    const told: Round[] = [];
    const naive: Round[] = [];
    const originAlone: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      naive.push(await round(workers, pool, 'naive', `naive-${i}`));
      coalesced.push(await round(workers, pool, 'coalesced', `coalesced-${i}`));
      told.push(await round(workers, pool, 'told', `told-${i}`));
      for (let j = 0; j < 5; j++) {
        const started = process.hrtime.bigint();
        await pool.query('select * from origin_product($1, $2)', [42, `alone-${i}`]);
        originAlone.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
    }
    const worst = (rounds: Round[]) => Math.max(...rounds.map((r) => r.originQueries));
    const latencies = (rounds: Round[]) => rounds.flatMap((r) => r.latenciesMs);
    const wrong = [...coalesced, ...told, ...naive].reduce((sum, r) => sum + r.wrongValues, 0);
    if (wrong > 0) throw new Error(`${wrong} reads returned a wrong value`);
    const naiveWorst = worst(naive);
    const coalescedWorst = worst(coalesced);
    const naiveLatency = latencies(naive);
    const coalescedLatency = latencies(coalesced);
    return result(
      'stampede',
      `${REQUESTS} concurrent requests from ${PROCESSES} processes for one cold key, ${ORIGIN_SECONDS * 1000} ms PostgreSQL origin, worst of ${ROUNDS} rounds`,
      [
        row('origin queries per cold key (ReadThroughCache)', coalescedWorst, 'queries', {
          baseline: { name: 'naive cache-aside', value: naiveWorst },
          target: 'exactly 1',
          pass: coalesced.every((r) => r.originQueries === 1),
        }),
        row('request latency p50 (ReadThroughCache)', round1(percentile(coalescedLatency, 50)), 'ms', {
          baseline: { name: 'naive cache-aside', value: round1(percentile(naiveLatency, 50)) },
        }),
        row('request latency p99 (ReadThroughCache)', round1(percentile(coalescedLatency, 99)), 'ms', {
          baseline: { name: 'naive cache-aside', value: round1(percentile(naiveLatency, 99)) },
        }),
        row('origin queries per cold key (ReadThroughCache, waiters told by the bus)', worst(told), 'queries', {
          baseline: { name: 'naive cache-aside', value: naiveWorst },
          target: 'exactly 1',
          pass: told.every((r) => r.originQueries === 1),
        }),
        row('request latency p99 (ReadThroughCache, waiters told by the bus)', round1(percentile(latencies(told), 99)), 'ms', {
          baseline: { name: 'origin query alone, median', value: round1(percentile(originAlone, 50)) },
          target: '≤ baseline + 10 ms',
          pass: percentile(latencies(told), 99) <= percentile(originAlone, 50) + 10,
        }),
        row('request latency p50 (ReadThroughCache, waiters told by the bus)', round1(percentile(latencies(told), 50)), 'ms', {
          baseline: { name: 'waiters polling, p50', value: round1(percentile(coalescedLatency, 50)) },
        }),
      ],
    );
  } finally {
    for (const worker of workers) if (worker.child.connected) worker.child.send({ type: 'stop' });
    await Promise.all(workers.map((w) => new Promise((resolve) => (w.child.exitCode === null ? w.child.once('exit', resolve) : resolve(null)))));
    await pool.end();
    await postgres.stop();
    await redis.stop();
  }
}

function round1(ms: number): number {
  return Math.round(ms * 10) / 10;
}
