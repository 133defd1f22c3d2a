import type { SQSClient, SendMessageCommand, SendMessageCommandInput } from '@aws-sdk/client-sqs';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import Redis, { Cluster } from 'ioredis';
import { CacheKeys } from '../../../lambda/runtime/keys';
import { CDN_PURGE_KIND, REDIS_PURGE_CONTINUATION_KIND, decodeInvalidationMessage, pathsOf } from '../../../lambda/runtime/invalidation/messages';
import { describeEachTopology } from '../../support/topologies';
import { eventBridgeBody, lambdaContext, sqsEvent, sqsRecord } from '../runtime/invalidation/sqs-records';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/111111111111/redis-purge';
const DLQ_URL = 'https://sqs.eu-west-1.amazonaws.com/111111111111/redis-purge-dlq';
const CDN_QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/111111111111/cdn-purge';

type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** Loads a fresh copy of the adapter (it reads its environment and creates clients at module scope). */
async function loadAdapter(env: Record<string, string>): Promise<{
  handler: Handler;
  sqs: AwsClientStub<SQSClient>;
  sendMessage: typeof SendMessageCommand;
  clients: { disconnect(): void }[];
}> {
  Object.assign(process.env, env);
  let loaded: Awaited<ReturnType<typeof loadAdapter>> | undefined;
  await jest.isolateModulesAsync(async () => {
    const sqsModule = await import('@aws-sdk/client-sqs');
    const { mockClient } = await import('aws-sdk-client-mock');
    // Record the clients the adapter creates, so the test can close them (their reconnect loops would outlive it).
    const ioredis = await import('ioredis');
    const clients: { disconnect(): void }[] = [];
    for (const ctor of [ioredis.default, ioredis.Cluster] as { prototype: { connect: (...args: unknown[]) => unknown } }[]) {
      const connect = ctor.prototype.connect;
      ctor.prototype.connect = function (this: { disconnect(): void }, ...args: unknown[]) {
        clients.push(this);
        return connect.apply(this, args);
      };
    }
    const sqs = mockClient(sqsModule.SQSClient);
    sqs.on(sqsModule.SendMessageCommand).resolves({ MessageId: 'sent' });
    const { handler } = await import('../../../lambda/redis-purger');
    loaded = { handler, sqs, sendMessage: sqsModule.SendMessageCommand, clients };
  });
  return loaded!;
}

describeEachTopology('redis-purger handler', (handle) => {
  let adapter: Awaited<ReturnType<typeof loadAdapter>>;
  let redis: Redis | Cluster;
  let keys: CacheKeys;

  const baseEnv = {
    PURGE_QUEUE_URL: QUEUE_URL,
    DEAD_LETTER_QUEUE_URL: DLQ_URL,
    MAX_RECEIVE_COUNT: '5',
    SCAN_TIME_BUDGET_MS: '20000',
    MAX_CONTINUATIONS: '100',
    CDN_PURGE_QUEUE_URL: CDN_QUEUE_URL,
    CDN_PURGE_DELAY_SECONDS: '15',
    CACHE_KEY_NAMESPACE: 'app',
    CACHE_KEY_SCHEMA_VERSION: '1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  };

  beforeAll(async () => {
    const topology = handle.current();
    const clusterMode = topology.kind === 'cluster';
    const url = topology.kind === 'cluster' ? `redis://127.0.0.1:${topology.startupNodes[0].port}` : topology.url;
    keys = new CacheKeys({ clusterMode });
    redis = topology.kind === 'cluster' ? new Cluster(topology.startupNodes) : new Redis(topology.url);
    adapter = await loadAdapter({ ...baseEnv, REDIS_URL: url, CACHE_CLUSTER_MODE: String(clusterMode) });
  });

  afterAll(async () => {
    for (const client of adapter.clients) client.disconnect();
    await redis.quit();
  });

  beforeEach(() => {
    adapter.sqs.resetHistory();
  });

  async function existing(...names: string[]): Promise<number> {
    const flags = await Promise.all(names.map((name) => redis.exists(name)));
    return flags.reduce((a, b) => a + b, 0);
  }

  function sent(): SendMessageCommandInput[] {
    return adapter.sqs.commandCalls(adapter.sendMessage).map((c) => c.args[0].input);
  }

  it('purges keys, tags and patterns, and dead-letters a malformed record with the reason', async () => {
    await Promise.all(Array.from({ length: 200 }, (_, i) => redis.set(keys.product(i), 'p', 'EX', 600)));
    await redis.set(keys.resource('product-list', ['_', '1']), 'list', 'EX', 600);
    await redis.zadd(keys.tagSet('product:5'), 0, keys.resource('product-list', ['_', '1']));
    await redis.set(keys.resource('user', [String(1)]), 'u', 'EX', 600);
    await redis.set(keys.resource('order', [String(1)]), 'o', 'EX', 600);

    const response = await adapter.handler(
      sqsEvent([
        sqsRecord(eventBridgeBody('CacheInvalidation', { keys: [keys.resource('user', [String(1)])], tags: ['product:5'], keyPatterns: [keys.resourcePattern('product')] }), { messageId: 'ok' }),
        sqsRecord('{oops', { messageId: 'malformed' }),
        sqsRecord(eventBridgeBody('CacheInvalidation', { keys: ['someone-else:v1:user:1'] }), { messageId: 'foreign' }),
      ]),
      lambdaContext(),
    );

    expect(response).toEqual({ batchItemFailures: [] });
    expect(await existing(...Array.from({ length: 200 }, (_, i) => keys.product(i)))).toBe(0);
    expect(await existing(keys.resource('user', [String(1)]), keys.resource('product-list', ['_', '1']), keys.tagSet('product:5'))).toBe(0);
    expect(await existing(keys.resource('order', [String(1)]))).toBe(1);
    expect(sent().map((m) => [m.QueueUrl, m.MessageAttributes?.OriginalMessageId.StringValue, m.MessageAttributes?.DeadLetterReason.StringValue])).toEqual([
      [DLQ_URL, 'malformed', expect.stringMatching(/^message body is not JSON/)],
      [DLQ_URL, 'foreign', 'keys[0] "someone-else:v1:user:1" is outside the app namespace "app:v1:"'],
    ]);
  });

  it('continues a pattern purge that runs out of time in a new message, which then finishes it', async () => {
    await Promise.all(Array.from({ length: 3000 }, (_, i) => redis.set(keys.resource('order', [String(i)]), 'o', 'EX', 600)));
    // 5 001 ms left minus the 5 s safety margin: a budget of about 1 ms, so the scan stops after one step.
    const first = await adapter.handler(
      sqsEvent([sqsRecord(eventBridgeBody('CacheInvalidation', { keyPatterns: [keys.resourcePattern('order')] }), { messageId: 'big' })]),
      lambdaContext(5_001),
    );
    expect(first).toEqual({ batchItemFailures: [] });
    const [continuation] = sent();
    expect(continuation.QueueUrl).toBe(QUEUE_URL);
    const body = JSON.parse(continuation.MessageBody!);
    expect(body).toMatchObject({ kind: REDIS_PURGE_CONTINUATION_KIND, version: 1, hop: 1 });
    expect(await existing(...Array.from({ length: 3000 }, (_, i) => keys.resource('order', [String(i)])))).toBeGreaterThan(0);

    let message = continuation.MessageBody!;
    for (let hop = 0; hop < 200 && message; hop++) {
      adapter.sqs.resetHistory();
      const next = await adapter.handler(sqsEvent([sqsRecord(message)]), lambdaContext(60_000));
      expect(next).toEqual({ batchItemFailures: [] });
      message = sent()[0]?.MessageBody ?? '';
    }
    expect(message).toBe('');
    expect(await existing(...Array.from({ length: 3000 }, (_, i) => keys.resource('order', [String(i)])))).toBe(0);
  });

  describe('bottom-up order: the CDN purge follows the Redis purge', () => {
    it('forwards the event\'s paths and those recorded in the cleared tag sets to the CloudFront queue, delayed by the L1 TTL + margin, once Redis is clean', async () => {
      const tag = keys.tagSet('category:garden');
      await redis.set(keys.resource('product-list', ['garden', '2']), 'page', 'EX', 600);
      await redis.zadd(tag, 0, keys.resource('product-list', ['garden', '2']), 0, '/api/products?category=garden&page=2');
      const response = await adapter.handler(
        sqsEvent([sqsRecord(eventBridgeBody('CacheInvalidation', { tags: ['category:garden'], paths: ['/api/products/7'], reason: 'product 7 moved' }), { messageId: 'move' })]),
        lambdaContext(),
      );
      expect(response).toEqual({ batchItemFailures: [] });
      expect(await existing(keys.resource('product-list', ['garden', '2']), tag)).toBe(0);
      const [forward, ...others] = sent();
      expect(others).toEqual([]);
      expect(forward).toMatchObject({ QueueUrl: CDN_QUEUE_URL, DelaySeconds: 15 });
      const body = JSON.parse(forward.MessageBody!);
      expect(body).toMatchObject({ kind: CDN_PURGE_KIND, version: 1, reason: 'product 7 moved', redisPurgedAt: expect.any(Number) });
      // The CloudFront purger decodes it like any message and purges exactly these paths.
      expect(pathsOf(decodeInvalidationMessage(forward.MessageBody!, 'app:v1:')).sort()).toEqual(['/api/products/7', '/api/products?category=garden&page=2']);
    });

    it('a paths-only event is forwarded as well (nothing to purge in Redis, but the delay still applies)', async () => {
      await adapter.handler(sqsEvent([sqsRecord(eventBridgeBody('CacheInvalidation', { paths: ['/pages/about'] }))]), lambdaContext());
      expect(sent()).toMatchObject([{ QueueUrl: CDN_QUEUE_URL, DelaySeconds: 15 }]);
    });

    it('a pattern purge continued over several messages forwards its paths once, after the last one', async () => {
      await Promise.all(Array.from({ length: 3000 }, (_, i) => redis.set(keys.resource('order', [String(i)]), 'o', 'EX', 600)));
      await adapter.handler(
        sqsEvent([sqsRecord(eventBridgeBody('CacheInvalidation', { keyPatterns: [keys.resourcePattern('order')], paths: ['/api/orders*'] }))]),
        lambdaContext(5_001),
      );
      let message = sent()[0];
      expect(message.QueueUrl).toBe(QUEUE_URL);
      const forwards = [];
      for (let hop = 0; hop < 200 && message?.QueueUrl === QUEUE_URL; hop++) {
        adapter.sqs.resetHistory();
        await adapter.handler(sqsEvent([sqsRecord(message.MessageBody!)]), lambdaContext(60_000));
        message = sent()[0];
        if (message?.QueueUrl === CDN_QUEUE_URL) forwards.push(message);
      }
      expect(await existing(...Array.from({ length: 3000 }, (_, i) => keys.resource('order', [String(i)])))).toBe(0);
      expect(forwards).toHaveLength(1);
      expect(JSON.parse(forwards[0].MessageBody!).paths).toEqual(['/api/orders*']);
    });

    it('forwards nothing while Redis fails; the retry that succeeds forwards the CDN purge', async () => {
      await redis.set(keys.resource('config', ['banner']), 'old', 'EX', 600);
      const body = eventBridgeBody('CacheInvalidation', { keys: [keys.resource('config', ['banner'])], paths: ['/api/config'] });
      const broken = await loadAdapter({ ...baseEnv, REDIS_URL: 'redis://127.0.0.1:1', CACHE_CLUSTER_MODE: 'false' });
      try {
        const failed = await broken.handler(sqsEvent([sqsRecord(body, { messageId: 'm', receiveCount: 1 })]), lambdaContext());
        expect(failed).toEqual({ batchItemFailures: [{ itemIdentifier: 'm' }] });
        expect(broken.sqs.commandCalls(broken.sendMessage)).toHaveLength(0);
      } finally {
        for (const client of broken.clients) client.disconnect();
      }
      const retried = await adapter.handler(sqsEvent([sqsRecord(body, { messageId: 'm', receiveCount: 2 })]), lambdaContext());
      expect(retried).toEqual({ batchItemFailures: [] });
      expect(await existing(keys.resource('config', ['banner']))).toBe(0);
      expect(sent()).toMatchObject([{ QueueUrl: CDN_QUEUE_URL, DelaySeconds: 15 }]);
    });
  });

  it('returns the record to the queue when Redis fails, and dead-letters it with the reason on the last receive', async () => {
    await redis.set(keys.resource('config', ['flags']), 'c', 'EX', 600);
    // A container whose cache is unreachable: the same code, an endpoint nothing listens on.
    const broken = await loadAdapter({ ...baseEnv, REDIS_URL: 'redis://127.0.0.1:1', CACHE_CLUSTER_MODE: 'false' });
    try {
      const body = eventBridgeBody('CacheInvalidation', { keys: [keys.resource('config', ['flags'])] });
      const response = await broken.handler(sqsEvent([sqsRecord(body, { messageId: 'early', receiveCount: 1 }), sqsRecord(body, { messageId: 'late', receiveCount: 5 })]), lambdaContext());
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'early' }] });
      const dlq = broken.sqs.commandCalls(broken.sendMessage).map((c) => c.args[0].input);
      expect(dlq.map((m) => [m.QueueUrl, m.MessageAttributes?.OriginalMessageId.StringValue, m.MessageAttributes?.DeadLetterReason.StringValue])).toEqual([
        [DLQ_URL, 'late', expect.stringMatching(/^Redis purge failed on receive 5 of 5: Redis was not ready within 4000 ms/)],
      ]);
      expect(await existing(keys.resource('config', ['flags']))).toBe(1);
    } finally {
      for (const client of broken.clients) client.disconnect();
    }
  });
});
