/**
 * A tag purge that fails after it found the tagged pages must still purge their CDN paths when it
 * is retried (issue 20, part 4). Real Redis (both topologies) and the real record handlers; only
 * CloudFront is mocked (aws-sdk-client-mock). Each step after the purge found the members fails once:
 * the forward to the CloudFront queue (SQS send), the continuation send, a SCAN step of a pattern
 * purged with the tag, the Lambda timeout. The retry finds the members again (they leave their sets
 * only once the paths are safe), and the edge is purged. Naive: the members removed right after the
 * purge read them (the old `TagIndex.invalidate`), then the same failure: the retry finds nothing.
 */
import { CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { mockClient } from 'aws-sdk-client-mock';
import Redis, { Cluster } from 'ioredis';
import { TagIndex } from '../../../../lambda/runtime/cache/tag-index';
import { CacheKeys } from '../../../../lambda/runtime/keys';
import { handleCdnPurgeBatch } from '../../../../lambda/runtime/invalidation/cdn-batch';
import type { CdnPurgeForward, RedisPurgeContinuation } from '../../../../lambda/runtime/invalidation/messages';
import { handleRedisPurgeRecord, RedisRecordOptions } from '../../../../lambda/runtime/invalidation/redis-batch';
import { cleanupTags, purgeRedis, redisTagStore } from '../../../../lambda/runtime/invalidation/redis-purge';
import { inspector } from '../cache/support';
import { describeEachTopology } from '../../../support/topologies';
import { eventBridgeBody, sqsRecord } from './sqs-records';

const cloudFront = mockClient(CloudFrontClient);
const TAG = 'category:garden';
const PAGE_PATH = '/api/products?category=garden';

type FailingStep = 'forward' | 'continuation' | 'scan' | 'timeout';

let namespaces = 0;

describeEachTopology('a retried tag purge keeps the CDN paths it found', (topology) => {
  let redis: Redis | Cluster;

  beforeAll(async () => {
    redis = await inspector(topology.current());
  });
  afterAll(() => redis?.disconnect());
  beforeEach(() => {
    cloudFront.reset();
    cloudFront.on(CreateInvalidationCommand).resolves({ Invalidation: { Id: 'I1', Status: 'InProgress', CreateTime: new Date(), InvalidationBatch: { CallerReference: 'c', Paths: { Quantity: 0 } } } });
  });

  /** The paths CloudFront was asked to purge. */
  function purgedAtTheEdge(): string[] {
    return cloudFront.commandCalls(CreateInvalidationCommand).flatMap((call) => call.args[0].input.InvalidationBatch?.Paths?.Items ?? []);
  }

  async function cdnPurge(message: CdnPurgeForward): Promise<void> {
    const outcome = await handleCdnPurgeBatch([sqsRecord(JSON.stringify(message))], {
      cloudFront: new CloudFrontClient({ region: 'us-east-1' }),
      distributionId: 'EDGE',
      deadLetter: { send: async () => undefined },
      maxReceiveCount: 5,
      keyPrefix: 'x',
      sleep: async () => undefined,
      random: () => 0,
      now: Date.now,
      deadline: Number.POSITIVE_INFINITY,
    });
    expect(outcome.batchItemFailures).toEqual([]);
  }

  /** A namespace with a cached page recorded under the tag, and keys for a pattern purge alongside. */
  async function seed(): Promise<{ keys: CacheKeys; page: string }> {
    namespaces += 1;
    const keys = new CacheKeys({ namespace: `r${process.pid}-${namespaces}`, clusterMode: topology.current().kind === 'cluster' });
    const index = new TagIndex(redisTagStore(redis), keys);
    const page = keys.resource('product-list', ['garden', '1']);
    await redis.set(page, 'page', 'EX', 600);
    expect(await index.record(await index.ticket(), page, [PAGE_PATH], [TAG], 300)).toBe(true);
    for (let i = 0; i < 5; i++) await redis.set(keys.resource('order', [String(i)]), 'o', 'EX', 600);
    return { keys, page };
  }

  /**
   * Runs the event's record until it is done: receive 1 meets the failing step, later receives (and
   * continuations) succeed; a forwarded CDN purge is run by the CloudFront purger's core.
   */
  async function deliver(keys: CacheKeys, step: FailingStep, naive: boolean): Promise<{ scanFailed: boolean; continuations: number }> {
    const body = eventBridgeBody('CacheInvalidation', { tags: [TAG], keyPatterns: [keys.resourcePattern('order')], reason: 'garden renamed' });
    let receive = 0;
    let scanFailed = false;
    let continuations = 0;
    const queue: string[] = [body];
    const failingScan = new Proxy(redis, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (property === 'nodes' && typeof value === 'function') {
          return (...args: unknown[]) =>
            (value as (...a: unknown[]) => Redis[]).apply(target, args).map(
              (node) =>
                new Proxy(node, {
                  get(n, p, r) {
                    if (p === 'scan' && !scanFailed) {
                      return async () => {
                        scanFailed = true;
                        throw new Error('injected: SCAN step failed');
                      };
                    }
                    return Reflect.get(n, p, r) as unknown;
                  },
                }),
            );
        }
        if (property === 'scan' && !scanFailed) {
          return async () => {
            scanFailed = true;
            throw new Error('injected: SCAN step failed');
          };
        }
        return value;
      },
    });
    while (queue.length > 0) {
      const message = queue[0];
      receive += 1;
      const first = receive === 1;
      const options: RedisRecordOptions = {
        redis: async () => (first && step === 'scan' ? failingScan : redis),
        cacheKeys: keys,
        deadLetter: { send: async (_record, reason) => Promise.reject(new Error(`dead-lettered: ${reason}`)) },
        continue: async (continuation: RedisPurgeContinuation) => {
          if (first && step === 'continuation') throw new Error('injected: SQS SendMessage of the continuation failed');
          continuations += 1;
          queue.push(JSON.stringify(continuation));
        },
        forwardCdnPurge: async (forward: CdnPurgeForward) => {
          if (first && step === 'forward') throw new Error('injected: SQS SendMessage to the CloudFront queue failed');
          if (first && step === 'timeout') throw new Error('Task timed out after 30.00 seconds');
          await cdnPurge(forward);
        },
        now: Date.now,
        // The pattern purge is continued once: the first hop stops after its first SCAN step.
        deadline: Date.now(),
        // Its second pass follows at once: no fill is in flight here.
        fillWindowMs: 0,
        scanCount: 2,
        maxReceiveCount: 5,
      };
      if (first && naive) {
        // The old order: the purge empties the tag sets as it reads them, before anything is forwarded.
        const result = await purgeRedis({ keys: [], scans: [], tags: [TAG] }, { redis, cacheKeys: keys, now: Date.now, deadline: Infinity, announceOnBus: false });
        await cleanupTags(redis, keys, result.tagCleanup!);
      }
      try {
        await handleRedisPurgeRecord(sqsRecord(message, { receiveCount: receive }), options);
        queue.shift();
      } catch {
        // Back to the queue: received again after its visibility timeout.
      }
      if (receive > 60) throw new Error('the record never finished');
    }
    expect(receive).toBeGreaterThan(1);
    return { scanFailed, continuations };
  }

  test.each<FailingStep>(['forward', 'continuation', 'scan', 'timeout'])('the %s failing after the purge found the page: the retry purges its CDN path', async (step) => {
    const { keys, page } = await seed();
    const delivered = await deliver(keys, step, false);
    // The faults were real: the scan did fail once, and the pattern purge was continued.
    expect(delivered.scanFailed).toBe(step === 'scan');
    expect(delivered.continuations).toBeGreaterThan(0);
    expect(await redis.exists(page)).toBe(0);
    expect(purgedAtTheEdge()).toContain(PAGE_PATH);
  });

  test.each<FailingStep>(['forward', 'continuation'])('naive: members removed before the %s fails, the retry finds no page and the edge keeps it', async (step) => {
    const { keys } = await seed();
    await deliver(keys, step, true);
    expect(purgedAtTheEdge()).not.toContain(PAGE_PATH);
  });
});
