/**
 * Publisher and purgers agree on what one event may name: a request far over the per-event counts is
 * split by the publisher, and every part is purged by the real purger cores over real Redis
 * (EventBridge, SQS and CloudFront mocked). Also: a purgeAll event empties the namespace's values but
 * keeps the runtime's own keys, and is counted.
 */
import { CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { EventBridgeClient, PutEventsCommand, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import Redis, { Cluster } from 'ioredis';
import { TagIndex } from '../../../../lambda/runtime/cache/tag-index';
import { handleCdnPurgeBatch } from '../../../../lambda/runtime/invalidation/cdn-batch';
import { SqsDeadLetterSender } from '../../../../lambda/runtime/invalidation/dead-letter';
import { CdnPurgeForward } from '../../../../lambda/runtime/invalidation/messages';
import { InMemoryInvalidationMetrics, InvalidationMetric } from '../../../../lambda/runtime/invalidation/observability';
import { EventBridgeInvalidationPublisher } from '../../../../lambda/runtime/invalidation/publisher';
import { handleRedisPurgeRecord, waitUntilReady } from '../../../../lambda/runtime/invalidation/redis-batch';
import { redisTagStore } from '../../../../lambda/runtime/invalidation/redis-purge';
import { CacheKeys } from '../../../../lambda/runtime/keys';
import { describeEachTopology } from '../../../support/topologies';
import { eventBridgeBody, sqsRecord } from './sqs-records';

const eventBridge = mockClient(EventBridgeClient);
const sqs = mockClient(SQSClient);
const cloudFront = mockClient(CloudFrontClient);
const range = (n: number, make: (i: number) => string): string[] => Array.from({ length: n }, (_, i) => make(i));

describeEachTopology('one limit for publisher and purgers', (handle) => {
  let redis: Redis | Cluster;
  let keys: CacheKeys;
  let clusterMode: boolean;
  let counter = 0;

  beforeAll(async () => {
    const topology = handle.current();
    clusterMode = topology.kind === 'cluster';
    redis = topology.kind === 'cluster' ? new Cluster(topology.startupNodes) : new Redis(topology.url);
    await waitUntilReady(redis, 10_000);
  });
  afterAll(async () => {
    await redis.quit();
  });
  beforeEach(() => {
    keys = new CacheKeys({ namespace: `limit${++counter}`, clusterMode });
    eventBridge.reset();
    sqs.reset();
    cloudFront.reset();
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => ({ FailedEntryCount: 0, Entries: input.Entries.map(() => ({ EventId: 'e' })) }));
    sqs.on(SendMessageCommand).resolves({ MessageId: 'dlq' });
    cloudFront.on(CreateInvalidationCommand).resolves({ Invalidation: { Id: 'I', Status: 'InProgress', CreateTime: new Date(), InvalidationBatch: undefined } });
  });

  /** Runs each published event through the Redis purger core, then the forwards through the CloudFront purger core. */
  async function purgePublished(metrics: InMemoryInvalidationMetrics): Promise<string[]> {
    const entries = eventBridge.commandCalls(PutEventsCommand).flatMap((call) => call.args[0].input.Entries ?? []);
    const forwards: CdnPurgeForward[] = [];
    const deadLetter = new SqsDeadLetterSender(new SQSClient({}), 'https://sqs.eu-west-1.amazonaws.com/1/dlq', 'redis-purger');
    for (const entry of entries) {
      const record = sqsRecord(eventBridgeBody(entry.DetailType!, JSON.parse(entry.Detail!), entry.Source));
      const outcome = await handleRedisPurgeRecord(record, {
        redis: async () => redis,
        cacheKeys: keys,
        deadLetter,
        continue: async () => undefined,
        forwardCdnPurge: async (message) => void forwards.push(message),
        now: Date.now,
        deadline: Infinity,
        maxReceiveCount: 5,
        metrics,
      });
      expect(outcome).toBe('purged');
    }
    const response = await handleCdnPurgeBatch(
      forwards.map((f) => sqsRecord(JSON.stringify(f))),
      { cloudFront: new CloudFrontClient({}), distributionId: 'D1', deadLetter, maxReceiveCount: 5, keyPrefix: keys.prefix, sleep: async () => undefined, random: () => 0, now: Date.now, deadline: Infinity, metrics },
    );
    expect(response.batchItemFailures).toEqual([]);
    return cloudFront.commandCalls(CreateInvalidationCommand).flatMap((call) => call.args[0].input.InvalidationBatch?.Paths?.Items ?? []);
  }

  function covered(path: string, submitted: readonly string[]): boolean {
    return submitted.some((s) => s === path || (s.endsWith('*') && path.startsWith(s.slice(0, -1))));
  }

  it('publishes 1 500 tags, 12 000 keys and 10 500 paths, and every one is purged, nothing dead-lettered', async () => {
    const index = new TagIndex(redisTagStore(redis), keys);
    const tags = range(1_500, (i) => `item:${i}`);
    const tagged = range(1_500, (i) => keys.resource('tagged', [String(i)]));
    const plain = range(12_000, (i) => keys.resource('plain', [String(i)]));
    const paths = range(10_500, (i) => `/api/plain/${i}`);
    const ticket = await index.ticket();
    for (let i = 0; i < tags.length; i++) await index.record(ticket, tagged[i], [`/api/tagged/${i}`], [tags[i]], 300);
    for (let i = 0; i < plain.length; i += 1_000) {
      const batch = plain.slice(i, i + 1_000);
      await Promise.all(batch.map((key) => redis.set(key, 'v', 'EX', 300)));
    }
    await Promise.all(tagged.map((key) => redis.set(key, 'v', 'EX', 300)));
    const metrics = new InMemoryInvalidationMetrics();

    await new EventBridgeInvalidationPublisher({ client: new EventBridgeClient({}), eventBusName: 'bus', cacheKeys: keys }).publishInvalidation({ keys: plain, tags, paths, reason: 'bulk' });
    const submitted = await purgePublished(metrics);

    expect(metrics.get(InvalidationMetric.DEAD_LETTERED)).toBe(0);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
    const left = (await Promise.all([...plain, ...tagged].map((key) => redis.exists(key)))).reduce((a, b) => a + b, 0);
    expect(left).toBe(0);
    const wanted = [...paths, ...range(1_500, (i) => `/api/tagged/${i}`)];
    expect(wanted.filter((path) => !covered(path, submitted))).toEqual([]);
  }, 120_000);

  it('purgeAll: a whole-namespace pattern and /* purge every value but keep the runtime keys, counted once', async () => {
    const index = new TagIndex(redisTagStore(redis), keys);
    const values = range(50, (i) => keys.resource('product', [String(i)]));
    await Promise.all(values.map((key) => redis.set(key, 'v', 'EX', 300)));
    await redis.set(keys.lock(values[0]), 'token', 'EX', 60);
    await index.record(await index.ticket(), values[1], ['/api/products/1'], ['product:1'], 300);
    await index.invalidate(['other']);
    await index.record(await index.ticket(), values[2], ['/api/products/2'], ['product:2'], 300);
    const internal = [keys.tagClock(), keys.tagSet('product:2')];
    expect((await Promise.all(internal.map((key) => redis.exists(key)))).every((n) => n === 1)).toBe(true);
    const metrics = new InMemoryInvalidationMetrics();

    await new EventBridgeInvalidationPublisher({ client: new EventBridgeClient({}), eventBusName: 'bus', cacheKeys: keys }).publishInvalidation({
      keyPatterns: [`${keys.prefix}*`],
      paths: ['/*'],
      purgeAll: { reason: 'catalogue re-imported' },
    });
    const submitted = await purgePublished(metrics);

    expect((await Promise.all([...values, keys.lock(values[0])].map((key) => redis.exists(key)))).reduce((a, b) => a + b, 0)).toBe(0);
    expect((await Promise.all(internal.map((key) => redis.exists(key)))).every((n) => n === 1)).toBe(true);
    expect(submitted).toEqual(['/*']);
    expect(metrics.get(InvalidationMetric.PURGE_ALL_REQUESTED)).toBe(1);
  });

  it('without purgeAll, the same event is dead-lettered with the reason and nothing is removed', async () => {
    await redis.set(keys.resource('product', ['1']), 'v', 'EX', 300);
    const metrics = new InMemoryInvalidationMetrics();
    const record = sqsRecord(eventBridgeBody('CacheInvalidation', { keyPatterns: [`${keys.prefix}*`] }));
    const deadLetter = new SqsDeadLetterSender(new SQSClient({}), 'https://sqs.eu-west-1.amazonaws.com/1/dlq', 'redis-purger');
    const outcome = await handleRedisPurgeRecord(record, { redis: async () => redis, cacheKeys: keys, deadLetter, continue: async () => undefined, now: Date.now, deadline: Infinity, maxReceiveCount: 5, metrics });
    expect(outcome).toBe('dead-lettered');
    const sent = sqs.commandCalls(SendMessageCommand)[0].args[0].input;
    expect(JSON.stringify(sent.MessageAttributes)).toMatch(/can match the runtime's tag set keys/);
    expect(await redis.exists(keys.resource('product', ['1']))).toBe(1);
    expect(metrics.get(InvalidationMetric.PURGE_ALL_REQUESTED)).toBe(0);
  });
});
