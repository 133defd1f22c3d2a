import { SqsFifoPartialProcessorAsync, processPartialResponse } from '@aws-lambda-powertools/batch';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { Pool } from 'pg';
import { DeadLetterKind, FlushRecord, InMemoryDeadLetterSink, SqsDeadLetterSink } from '../../../../lambda/runtime/write-behind/dead-letters';
import { flushProfileChanges } from '../../../../lambda/shop/write-behind/flusher';
import { PostgresServer } from '../../../support/servers';
import { CountingDb, change, profileOf, record, usersDatabase } from '../../runtime/write-behind/support';

const DLQ_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/write-behind-dlq.fifo';

describe('flushProfileChanges', () => {
  let server: PostgresServer;
  let pool: Pool;

  beforeAll(async () => {
    server = await PostgresServer.start();
    ({ pool } = await usersDatabase(server, 200));
  });
  afterAll(async () => {
    await pool?.end();
    await server?.stop();
  });

  it('writes a batch of 100 changes of 100 users with one database round trip', async () => {
    const db = new CountingDb(pool);
    const records = Array.from({ length: 100 }, (_, i) => record(change(i + 1, 1000, { bio: `bio ${i + 1}` })));
    const report = await flushProfileChanges(records, { db, deadLetters: new InMemoryDeadLetterSink() });
    expect(db.roundTrips).toBe(1);
    expect(report).toMatchObject({ applied: 100, batchItemFailures: [], originFailed: false });
    expect((await profileOf(pool, 1)).bio).toBe('bio 1');
    expect((await profileOf(pool, 100)).bio).toBe('bio 100');
  });

  it('applies the same change delivered twice in one batch once, and again in a later batch not at all', async () => {
    const c = change(101, 7, { displayName: 'twice' });
    const sink = new InMemoryDeadLetterSink();
    const first = await flushProfileChanges([record(c), record(c)], { db: pool, deadLetters: sink });
    expect(first).toMatchObject({ applied: 1, duplicates: 1, batchItemFailures: [] });
    await pool.query("update users set display_name = 'changed since' where id = 101");
    const redelivered = await flushProfileChanges([record(c)], { db: pool, deadLetters: sink });
    expect(redelivered).toMatchObject({ applied: 0, superseded: 1, batchItemFailures: [] });
    expect((await profileOf(pool, 101)).displayName).toBe('changed since');
  });

  it('applies the changes of one user received out of order so that the newest wins', async () => {
    const report = await flushProfileChanges([record(change(102, 9, { bio: 'newest' })), record(change(102, 8, { bio: 'older' }))], { db: pool, deadLetters: new InMemoryDeadLetterSink() });
    expect(report.batchItemFailures).toEqual([]);
    const late = await flushProfileChanges([record(change(102, 7, { bio: 'oldest, arriving last' }))], { db: pool, deadLetters: new InMemoryDeadLetterSink() });
    expect(late.superseded).toBe(1);
    expect(await profileOf(pool, 102)).toMatchObject({ bio: 'newest', version: 9 });
  });

  it('dead-letters a malformed record with the reason and writes the rest of the batch', async () => {
    const sink = new InMemoryDeadLetterSink();
    const bad = [
      record('{"userId": 103, "version": 1'),
      record(JSON.stringify({ ...change(104, 1, { bio: 'x' }), fields: { nickname: 'x' } })),
      record(JSON.stringify({ ...change(105, 1, { bio: 'x' }), userId: -5 })),
      record(change(106, 1, { bio: 'wrong group' }), 1, 'user-999'),
    ];
    const good = record(change(107, 1, { bio: 'landed' }));
    const report = await flushProfileChanges([...bad, good], { db: pool, deadLetters: sink });
    expect(report.batchItemFailures).toEqual([]);
    expect(report.deadLettered).toEqual({ poison: 4, exhausted: 0 });
    expect(sink.letters.map((l) => [l.record.id, l.kind])).toEqual(bad.map((r) => [r.id, DeadLetterKind.POISON]));
    expect(sink.letters.map((l) => l.reason)).toEqual([
      expect.stringMatching(/^body: message body is not JSON/),
      expect.stringMatching(/^fields\.nickname: unknown field "nickname"/),
      expect.stringMatching(/^userId: userId must be an integer between 1 and/),
      expect.stringMatching(/^messageGroupId: message group user-999 does not match user 106/),
    ]);
    expect((await profileOf(pool, 107)).bio).toBe('landed');
    expect((await profileOf(pool, 106)).version).toBe(0);
  });

  it('isolates a record PostgreSQL refuses, dead-letters it with PostgreSQL\'s reason and writes the others', async () => {
    await pool.query('alter table users add constraint bio_not_forbidden check (bio <> $$forbidden$$)');
    try {
      const db = new CountingDb(pool);
      const sink = new InMemoryDeadLetterSink();
      const records = Array.from({ length: 16 }, (_, i) => record(change(110 + i, 1, { bio: i === 11 ? 'forbidden' : `ok ${i}` })));
      const report = await flushProfileChanges(records, { db, deadLetters: sink });
      expect(report).toMatchObject({ applied: 15, batchItemFailures: [], deadLettered: { poison: 1, exhausted: 0 } });
      expect(sink.letters).toEqual([expect.objectContaining({ record: records[11], kind: DeadLetterKind.POISON, reason: expect.stringContaining('23514') })]);
      expect((await profileOf(pool, 121)).version).toBe(0);
      expect((await profileOf(pool, 125)).bio).toBe('ok 15');
      // Halving 16 → 8 → 4 → 2 → 1 costs one failed and one good statement per level, plus the first.
      expect(db.roundTrips).toBeLessThanOrEqual(1 + 2 * 4);
    } finally {
      await pool.query('alter table users drop constraint bio_not_forbidden');
    }
  });

  it('when the dead-letter send fails, returns the record and every later record of its group, and writes the other groups', async () => {
    const sqs = mockClient(SQSClient);
    try {
      sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [{ Id: 'd0', Code: 'InternalError', SenderFault: false, Message: 'try again' }] });
      const sink = new SqsDeadLetterSink(new SQSClient({ region: 'eu-west-1' }), DLQ_URL, { sleep: async () => undefined, maxAttempts: 2 });
      const poison = record('not json', 1, 'user-130');
      const laterSameUser = record(change(130, 2, { bio: 'after the poison' }));
      const otherUser = record(change(131, 2, { bio: 'other group' }));
      const report = await flushProfileChanges([poison, laterSameUser, otherUser], { db: pool, deadLetters: sink });
      expect(report.batchItemFailures).toEqual([{ itemIdentifier: poison.id }, { itemIdentifier: laterSameUser.id }]);
      expect((await profileOf(pool, 130)).version).toBe(0);
      expect((await profileOf(pool, 131)).bio).toBe('other group');
    } finally {
      sqs.restore();
    }
  });

  it('sends a dead letter to SQS with the original body and the reason as message attributes', async () => {
    const sqs = mockClient(SQSClient);
    try {
      sqs.on(SendMessageBatchCommand).resolves({ Successful: [{ Id: 'd0', MessageId: 'x', MD5OfMessageBody: 'x' }], Failed: [] });
      const sink = new SqsDeadLetterSink(new SQSClient({ region: 'eu-west-1' }), DLQ_URL);
      const poison = record('{"userId": "7"}', 1, 'user-7');
      const report = await flushProfileChanges([poison], { db: pool, deadLetters: sink });
      expect(report.batchItemFailures).toEqual([]);
      const sent = sqs.commandCalls(SendMessageBatchCommand)[0].args[0].input;
      expect(sent.QueueUrl).toBe(DLQ_URL);
      expect(sent.Entries).toEqual([
        {
          Id: 'd0',
          MessageBody: '{"userId": "7"}',
          MessageGroupId: 'user-7',
          MessageDeduplicationId: poison.id,
          MessageAttributes: {
            FailureReason: { DataType: 'String', StringValue: expect.stringMatching(/^userId: userId must be an integer/) },
            FailureKind: { DataType: 'String', StringValue: 'poison' },
            SourceMessageId: { DataType: 'String', StringValue: poison.id },
            ReceiveCount: { DataType: 'Number', StringValue: '1' },
          },
        },
      ]);
    } finally {
      sqs.restore();
    }
  });

  it('with PostgreSQL killed, returns every record and loses nothing; after the restart the same records land', async () => {
    const db = new Pool({ connectionString: (pool as unknown as { options: { connectionString: string } }).options.connectionString, max: 2, connectionTimeoutMillis: 500, query_timeout: 2000 });
    db.on('error', () => undefined);
    try {
      await db.query('checkpoint');
      const records = [record(change(140, 1, { bio: 'survives the outage' })), record(change(141, 1, { displayName: 'also' })), record(change(140, 2, { displayName: 'and this' }))];
      const sink = new InMemoryDeadLetterSink();
      await server.kill();
      const during = await flushProfileChanges(records, { db, deadLetters: sink });
      expect(during.originFailed).toBe(true);
      expect(during.batchItemFailures).toEqual(records.map((r) => ({ itemIdentifier: r.id })));
      expect(sink.letters).toEqual([]);

      await server.restart();
      const redelivered = records.map((r) => ({ ...r, receiveCount: 2 }));
      const after = await flushProfileChanges(redelivered, { db, deadLetters: sink });
      expect(after).toMatchObject({ applied: 3, batchItemFailures: [], originFailed: false });
      expect(await profileOf(db, 140)).toMatchObject({ bio: 'survives the outage', displayName: 'and this', version: 2 });
      expect(await profileOf(db, 141)).toMatchObject({ displayName: 'also', version: 1 });
    } finally {
      await db.end();
    }
  });

  it('with PostgreSQL down at a record\'s last allowed receive, dead-letters it with the error instead of a silent redrive', async () => {
    const db = new Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 200 });
    db.on('error', () => undefined);
    try {
      const sink = new InMemoryDeadLetterSink();
      const last = record(change(150, 1, { bio: 'x' }), 5);
      const early = record(change(151, 1, { bio: 'y' }), 2);
      const report = await flushProfileChanges([last, early], { db, deadLetters: sink, maxReceiveCount: 5 });
      expect(report.batchItemFailures).toEqual([{ itemIdentifier: early.id }]);
      expect(sink.letters).toEqual([expect.objectContaining({ record: last, kind: DeadLetterKind.EXHAUSTED, reason: expect.stringMatching(/^not written after 5 receives: .*ECONNREFUSED/) })]);
    } finally {
      await db.end();
    }
  });
});

describe('flushProfileChanges keeps the FIFO rules of Powertools SqsFifoPartialProcessorAsync (skipGroupOnError)', () => {
  let server: PostgresServer;
  let pool: Pool;

  beforeAll(async () => {
    server = await PostgresServer.start();
    ({ pool } = await usersDatabase(server, 5));
  });
  afterAll(async () => {
    await pool?.end();
    await server?.stop();
  });

  it('reports exactly the failures Powertools would report for the same per-record verdicts', async () => {
    let version = 1;
    const recordArb = fc.record({ user: fc.integer({ min: 1, max: 4 }), malformed: fc.boolean(), deadLetterFails: fc.boolean(), duplicateOfPrevious: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(recordArb, { minLength: 1, maxLength: 12 }), async (specs) => {
        const sqs = mockClient(SQSClient);
        try {
          const records: FlushRecord[] = [];
          const undeliverable = new Set<string>();
          // The records that fail on their own: malformed ones whose dead-letter send fails.
          const intrinsic = new Set<string>();
          for (const spec of specs) {
            const previous = records[records.length - 1];
            const r =
              spec.duplicateOfPrevious && previous && !previous.body.startsWith('!')
                ? { ...previous, id: `${previous.id}-again` }
                : spec.malformed
                  ? record(`!malformed ${version++}`, 1, `user-${spec.user}`)
                  : record(change(spec.user, version++, { bio: `v${version}` }));
            records.push(r);
            if (spec.deadLetterFails) undeliverable.add(r.id);
            if (spec.deadLetterFails && r.body.startsWith('!')) intrinsic.add(r.id);
          }
          sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string; MessageDeduplicationId: string }[] }) => ({
            Successful: input.Entries.filter((e) => !undeliverable.has(e.MessageDeduplicationId)).map((e) => ({ Id: e.Id, MessageId: e.Id, MD5OfMessageBody: '' })),
            Failed: input.Entries.filter((e) => undeliverable.has(e.MessageDeduplicationId)).map((e) => ({ Id: e.Id, Code: 'InternalError', SenderFault: true })),
          }));
          const sink = new SqsDeadLetterSink(new SQSClient({ region: 'eu-west-1' }), DLQ_URL);
          const report = await flushProfileChanges(records, { db: pool, deadLetters: sink });

          // Powertools, handed the same per-record verdicts, decides which records return.
          const event: SQSEvent = { Records: records.map((r) => ({ messageId: r.id, body: r.body, attributes: { MessageGroupId: r.messageGroupId, ApproximateReceiveCount: '1' } }) as unknown as SQSRecord) };
          const powertools = await processPartialResponse(
            event,
            async (r: SQSRecord) => {
              if (intrinsic.has(r.messageId)) throw new Error('failed');
            },
            new SqsFifoPartialProcessorAsync(),
            { skipGroupOnError: true, throwOnFullBatchFailure: false },
          );
          expect(report.batchItemFailures).toEqual(powertools.batchItemFailures);
        } finally {
          sqs.restore();
        }
      }),
      { numRuns: 60 },
    );
  });
});
