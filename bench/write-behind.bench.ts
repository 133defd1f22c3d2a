/**
 * Write-behind flush: 10 000 profile changes (5 000 users, two changes each, interleaved as they
 * would be queued) written by the flusher core in batches of 100 — one statement per batch — against
 * the naive baseline of one guarded UPDATE per change, on the harness's real PostgreSQL, in the same
 * run. Both runs start from the same rows and must end with the same rows.
 */
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { Pool, QueryResult, QueryResultRow } from 'pg';
import { seedDatabase } from '../db/seed/seed';
import { runMigrations } from '../lambda/runtime/db/migrations';
import type { Queryable } from '../lambda/shop/repositories';
import { InMemoryDeadLetterSink } from '../lambda/runtime/write-behind/dead-letters';
import { flushProfileChanges } from '../lambda/shop/write-behind/flusher';
import { ProfileChange, profileMessageGroupId, serializeProfileChange } from '../lambda/shop/write-behind/profile-change';
import { PostgresServer } from '../test/support/servers';
import { BenchResult, result, row } from './support/result';

const CHANGES = 10_000;
const USERS = 5_000;
const BATCH = 100;
const MAX_ROUND_TRIPS = 110;

class CountingDb implements Queryable {
  roundTrips = 0;
  constructor(private readonly inner: Queryable) {}
  query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>> {
    this.roundTrips++;
    return this.inner.query<R>(text, values);
  }
}

function changes(): ProfileChange[] {
  const base = Date.now() * 1000;
  return Array.from({ length: CHANGES }, (_, i) => {
    const userId = (i % USERS) + 1;
    const round = Math.floor(i / USERS);
    return {
      userId,
      changeId: randomUUID(),
      version: base + round,
      fields: round === 0 ? { displayName: `Bench ${userId}`, bio: `first bio of ${userId}` } : { bio: `second bio of ${userId}` },
      requestedAt: new Date().toISOString(),
    };
  });
}

async function reset(pool: Pool): Promise<void> {
  await pool.query("update users set profile_version = 0, display_name = 'before', bio = ''");
}

async function fingerprint(pool: Pool): Promise<string> {
  const { rows } = await pool.query<{ md5: string }>("select md5(string_agg(id || ':' || display_name || ':' || bio || ':' || profile_version, ',' order by id)) as md5 from users");
  return rows[0].md5;
}

/** The naive write-behind: one guarded UPDATE per change, in queue order. */
async function onePerChange(db: Queryable, batch: readonly ProfileChange[]): Promise<void> {
  for (const c of batch) {
    await db.query(
      `update users set display_name = coalesce($3, display_name), bio = coalesce($4, bio), profile_version = $2, updated_at = now()
        where id = $1 and profile_version < $2`,
      [c.userId, c.version, c.fields.displayName ?? null, c.fields.bio ?? null],
    );
  }
}

export default async function bench(): Promise<BenchResult> {
  const server = await PostgresServer.start();
  const pool = new Pool({ connectionString: server.url, max: 2 });
  try {
    await runMigrations(pool, path.join(__dirname, '..', 'db', 'migrations'));
    await seedDatabase(pool, { products: 0, users: USERS });
    const work = changes();

    await reset(pool);
    const naive = new CountingDb(pool);
    const naiveStarted = process.hrtime.bigint();
    await onePerChange(naive, work);
    const naiveSeconds = Number(process.hrtime.bigint() - naiveStarted) / 1e9;
    const naiveResult = await fingerprint(pool);

    await reset(pool);
    const batched = new CountingDb(pool);
    const sink = new InMemoryDeadLetterSink();
    let failures = 0;
    const started = process.hrtime.bigint();
    for (let from = 0; from < work.length; from += BATCH) {
      const records = work.slice(from, from + BATCH).map((c, i) => ({ id: `m${from + i}`, body: serializeProfileChange(c), messageGroupId: profileMessageGroupId(c.userId), receiveCount: 1 }));
      const report = await flushProfileChanges(records, { db: batched, deadLetters: sink });
      failures += report.batchItemFailures.length;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const batchedResult = await fingerprint(pool);
    if (failures > 0 || sink.letters.length > 0) throw new Error(`the flush reported ${failures} failures and ${sink.letters.length} dead letters`);
    if (batchedResult !== naiveResult) throw new Error('the batched flush and the one-per-change baseline ended with different rows');

    const rate = CHANGES / seconds;
    const naiveRate = CHANGES / naiveSeconds;
    return result('write-behind', `${CHANGES} profile changes of ${USERS} users flushed in batches of ${BATCH}, one statement per batch, against one guarded UPDATE per change; same rows at the end`, [
      row('flush round trips', batched.roundTrips, 'round trips', {
        baseline: { name: 'one UPDATE per change', value: naive.roundTrips },
        target: `≤ ${MAX_ROUND_TRIPS}`,
        pass: batched.roundTrips <= MAX_ROUND_TRIPS,
      }),
      row('flush throughput', Math.round(rate), 'changes/s', {
        baseline: { name: 'one UPDATE per change', value: Math.round(naiveRate) },
        target: '≥ 2× baseline',
        pass: rate >= 2 * naiveRate,
      }),
    ]);
  } finally {
    await pool.end();
    await server.stop();
  }
}
