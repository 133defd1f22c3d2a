/**
 * The flusher Lambda as deployed: real SQS FIFO event shapes in, a real PostgreSQL behind the pool
 * it creates from DATABASE_URL, the SQS client (dead-letter queue) mocked with aws-sdk-client-mock.
 */
import { FullBatchFailureError } from '@aws-lambda-powertools/batch';
import { SendMessageBatchCommand, SendMessageBatchCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { CacheClient, decodeEnvelope, encodeEnvelope } from '../../../lambda/runtime/cache';
import { CacheKeys } from '../../../lambda/runtime/keys';
import { user } from '../../../lambda/shop/resources';
import { PostgresServer, RedisServer } from '../../support/servers';
import { change, profileOf, sqsRecord, usersDatabase } from '../runtime/write-behind/support';

const DLQ_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/cache-pyramid-write-behind-dlq.fifo';

describe('flusher handler (lambda/flusher/index.ts)', () => {
  const sqsMock = mockClient(SQSClient);
  let server: PostgresServer;
  let redisServer: RedisServer;
  let redis: Redis;
  let pool: Pool;
  let handler: (event: SQSEvent) => Promise<SQSBatchResponse>;
  // The handler's module-scope cache client, closed after the suite so that Jest can exit.
  const moduleClients: CacheClient[] = [];
  const connect = CacheClient.connect.bind(CacheClient);
  jest.spyOn(CacheClient, 'connect').mockImplementation((...args) => {
    const client = connect(...args);
    moduleClients.push(client);
    return client;
  });

  beforeAll(async () => {
    server = await PostgresServer.start();
    redisServer = await RedisServer.start();
    redis = new Redis(redisServer.url);
    const db = await usersDatabase(server, 30);
    pool = db.pool;
    process.env.DATABASE_URL = db.url;
    process.env.REDIS_URL = redisServer.url;
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
    await Promise.all(moduleClients.map((c) => c.quit()));
    redis?.disconnect();
    await pool?.end();
    await server?.stop();
    await redisServer?.stop();
  });

  it('writes a full FIFO batch of 10 and reports no failures', async () => {
    const event: SQSEvent = { Records: Array.from({ length: 10 }, (_, i) => sqsRecord(change(i + 1, 5, { displayName: `Flushed ${i + 1}` }))) };
    await expect(handler(event)).resolves.toEqual({ batchItemFailures: [] });
    expect(await profileOf(pool, 10)).toMatchObject({ displayName: 'Flushed 10', version: 5 });
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('refreshes the cached profile from the row it wrote, and leaves a profile cached by a newer change alone', async () => {
    const keys = new CacheKeys();
    const now = Date.now();
    const stale = { id: 13, displayName: 'stale', bio: '', avatarUrl: null, version: 1 };
    await redis.set(user.key(keys, { id: 13 }), encodeEnvelope({ v: stale, s: now, x: now + 3_600_000, ver: 1 }), 'PX', 3_600_000);
    const newer = { id: 14, displayName: 'newer, still queued', bio: '', avatarUrl: null, version: 99 };
    await redis.set(user.key(keys, { id: 14 }), encodeEnvelope({ v: newer, s: now, x: now + 3_600_000, ver: 99 }), 'PX', 3_600_000);
    await expect(handler({ Records: [sqsRecord(change(13, 7, { displayName: 'flushed' })), sqsRecord(change(14, 7, { displayName: 'older' }))] })).resolves.toEqual({ batchItemFailures: [] });
    const row = await profileOf(pool, 13);
    expect(decodeEnvelope(await redis.get(user.key(keys, { id: 13 })))).toMatchObject({ ver: 7, v: { id: 13, displayName: row.displayName, bio: row.bio, avatarUrl: row.avatarUrl, version: 7 } });
    expect(decodeEnvelope(await redis.get(user.key(keys, { id: 14 })))).toMatchObject({ ver: 99, v: newer });
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
