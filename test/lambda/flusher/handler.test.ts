/**
 * The flusher Lambda as deployed: real SQS FIFO event shapes in, a real PostgreSQL behind the pool
 * it creates from DATABASE_URL, the SQS client (dead-letter queue) mocked with aws-sdk-client-mock.
 */
import { FullBatchFailureError } from '@aws-lambda-powertools/batch';
import { SendMessageBatchCommand, SendMessageBatchCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { Pool } from 'pg';
import { PostgresServer } from '../../support/servers';
import { change, profileOf, sqsRecord, usersDatabase } from '../shared/write-behind/support';

const DLQ_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/cache-pyramid-write-behind-dlq.fifo';

describe('flusher handler (lambda/flusher/index.ts)', () => {
  const sqsMock = mockClient(SQSClient);
  let server: PostgresServer;
  let pool: Pool;
  let handler: (event: SQSEvent) => Promise<SQSBatchResponse>;

  beforeAll(async () => {
    server = await PostgresServer.start();
    const db = await usersDatabase(server, 30);
    pool = db.pool;
    process.env.DATABASE_URL = db.url;
    process.env.WRITE_BEHIND_DLQ_URL = DLQ_URL;
    process.env.AWS_REGION = 'eu-west-1';
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    ({ handler } = await import('../../../lambda/flusher/index'));
  });
  beforeEach(() => {
    sqsMock.reset();
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({ Successful: input.Entries!.map((e) => ({ Id: e.Id, MessageId: e.Id, MD5OfMessageBody: '' })), Failed: [] }));
  });
  afterAll(async () => {
    sqsMock.restore();
    await pool?.end();
    await server?.stop();
  });

  it('writes a full FIFO batch of 10 and reports no failures', async () => {
    const event: SQSEvent = { Records: Array.from({ length: 10 }, (_, i) => sqsRecord(change(i + 1, 5, { displayName: `Flushed ${i + 1}` }))) };
    await expect(handler(event)).resolves.toEqual({ batchItemFailures: [] });
    expect(await profileOf(pool, 10)).toMatchObject({ displayName: 'Flushed 10', version: 5 });
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('dead-letters a poison record to the DLQ with its reason, writes the rest and reports the batch processed', async () => {
    const poison = sqsRecord('{"userId": 11, "version": "soon"}', 1, 'user-11');
    const good = sqsRecord(change(12, 5, { bio: 'beside a poison record' }));
    await expect(handler({ Records: [poison, good] })).resolves.toEqual({ batchItemFailures: [] });
    expect((await profileOf(pool, 12)).bio).toBe('beside a poison record');
    const sent = sqsMock.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input as SendMessageBatchCommandInput);
    expect(sent).toHaveLength(1);
    expect(sent[0].QueueUrl).toBe(DLQ_URL);
    expect(sent[0].Entries![0]).toMatchObject({
      MessageBody: poison.body,
      MessageGroupId: 'user-11',
      MessageDeduplicationId: poison.messageId,
      MessageAttributes: { FailureReason: { DataType: 'String', StringValue: expect.stringMatching(/^version: version must be an integer/) }, FailureKind: { StringValue: 'poison' } },
    });
  });

  it('fails the whole invocation while PostgreSQL is down, then writes the redelivered batch once it is back', async () => {
    await pool.query('checkpoint');
    const records = [sqsRecord(change(20, 9, { bio: 'written after the outage' })), sqsRecord(change(21, 9, { bio: 'me too' }))];
    await server.kill();
    try {
      await expect(handler({ Records: records })).rejects.toBeInstanceOf(FullBatchFailureError);
    } finally {
      await server.restart();
    }
    const redelivered = records.map((r) => ({ ...r, attributes: { ...r.attributes, ApproximateReceiveCount: '2' } }));
    await expect(handler({ Records: redelivered })).resolves.toEqual({ batchItemFailures: [] });
    expect((await profileOf(pool, 20)).bio).toBe('written after the outage');
    expect((await profileOf(pool, 21)).bio).toBe('me too');
  });

  it('while PostgreSQL is down, dead-letters a record on its fifth receive and returns the others', async () => {
    await pool.query('checkpoint');
    const fifth = sqsRecord(change(22, 9, { bio: 'x' }), 5);
    const second = sqsRecord(change(23, 9, { bio: 'y' }), 2);
    await server.kill();
    try {
      await expect(handler({ Records: [fifth, second] })).resolves.toEqual({ batchItemFailures: [{ itemIdentifier: second.messageId }] });
    } finally {
      await server.restart();
    }
    const entry = (sqsMock.commandCalls(SendMessageBatchCommand)[0].args[0].input as SendMessageBatchCommandInput).Entries![0];
    expect(entry.MessageAttributes).toMatchObject({ FailureKind: { StringValue: 'exhausted' }, ReceiveCount: { StringValue: '5' }, FailureReason: { StringValue: expect.stringMatching(/^not written after 5 receives/) } });
  });
});
