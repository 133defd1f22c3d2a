/**
 * A migrated PostgreSQL database with seeded users for the write-behind tests (one database per
 * caller, so each test owns its rows), a query-counting wrapper, and builders of profile changes
 * and SQS-shaped records.
 */
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import type { SQSRecord } from 'aws-lambda';
import { Pool, QueryResult, QueryResultRow } from 'pg';
import { seedDatabase } from '../../../../db/seed/seed';
import { runMigrations } from '../../../../lambda/runtime/db/migrations';
import type { Queryable } from '../../../../lambda/shop/repositories';
import type { FlushRecord } from '../../../../lambda/runtime/write-behind/dead-letters';
import { ProfileChange, ProfileFields, profileMessageGroupId, serializeProfileChange } from '../../../../lambda/shop/write-behind/profile-change';
import { PostgresServer } from '../../../support/servers';

const MIGRATIONS_DIR = path.join(__dirname, '..', '..', '..', '..', 'db', 'migrations');
let databases = 0;

/** A fresh database on `server` with the migrations applied and `users` seeded users (ids 1..users). */
export async function usersDatabase(server: PostgresServer, users = 20): Promise<{ url: string; pool: Pool }> {
  const name = `wb_${process.pid}_${++databases}`;
  const admin = new Pool({ connectionString: server.url, max: 1 });
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = server.url.replace(/\/[^/]+$/, `/${name}`);
  const pool = new Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 2000, query_timeout: 5000 });
  pool.on('error', () => undefined);
  await runMigrations(pool, MIGRATIONS_DIR);
  await seedDatabase(pool, { products: 0, users });
  return { url, pool };
}

/** Wraps a pool and counts the statements sent through it: the database round trips. */
export class CountingDb implements Queryable {
  roundTrips = 0;
  constructor(private readonly inner: Queryable) {}
  query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>> {
    this.roundTrips++;
    return this.inner.query<R>(text, values);
  }
}

export interface ProfileRow {
  displayName: string;
  bio: string;
  avatarUrl: string | null;
  version: number;
}

export async function profileOf(db: Queryable, userId: number): Promise<ProfileRow> {
  const { rows } = await db.query<{ display_name: string; bio: string; avatar_url: string | null; profile_version: string }>(
    'select display_name, bio, avatar_url, profile_version from users where id = $1',
    [userId],
  );
  if (rows.length === 0) throw new Error(`no user ${userId}`);
  return { displayName: rows[0].display_name, bio: rows[0].bio, avatarUrl: rows[0].avatar_url, version: Number(rows[0].profile_version) };
}

export function change(userId: number, version: number, fields: ProfileFields): ProfileChange {
  return { userId, version, fields, changeId: randomUUID(), requestedAt: new Date(Date.UTC(2025, 0, 1)).toISOString() };
}

let messages = 0;

/** A core record for `body` (a change, or raw text for malformed ones). */
export function record(body: ProfileChange | string, receiveCount = 1, messageGroupId?: string): FlushRecord {
  const text = typeof body === 'string' ? body : serializeProfileChange(body);
  const group = messageGroupId ?? (typeof body === 'string' ? 'user-0' : profileMessageGroupId(body.userId));
  return { id: `m-${++messages}`, body: text, messageGroupId: group, receiveCount };
}

/** A record exactly as the SQS event source hands it to Lambda (FIFO attributes included). */
export function sqsRecord(body: ProfileChange | string, receiveCount = 1, messageGroupId?: string): SQSRecord {
  const core = record(body, receiveCount, messageGroupId);
  const id = randomUUID();
  return {
    messageId: id,
    receiptHandle: `AQEB${id.replace(/-/g, '')}`,
    body: core.body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: '1735689600000',
      SenderId: 'AROAEXAMPLE:api',
      ApproximateFirstReceiveTimestamp: '1735689600100',
      SequenceNumber: String(18_000_000_000_000_000_000n + BigInt(messages)),
      MessageGroupId: core.messageGroupId!,
      MessageDeduplicationId: typeof body === 'string' ? id : body.changeId,
    },
    messageAttributes: {},
    md5OfBody: 'ignored-by-the-flusher',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:write-behind.fifo',
    awsRegion: 'eu-west-1',
  };
}
