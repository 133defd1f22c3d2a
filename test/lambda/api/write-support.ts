/**
 * Helpers of the write-route tests: the API wired as lambda/api/runtime.ts wires it (shared cache
 * with L1, personal cache without, list tags, profile sequencer), over real Redis and PostgreSQL,
 * with the SQS and EventBridge clients mocked by aws-sdk-client-mock — and the messages the API
 * sent turned back into SQS FIFO event records for the flusher.
 */
import { randomUUID } from 'node:crypto';
import { EventBridgeClient, PutEventsCommand, PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import { SendMessageBatchCommand, SendMessageBatchCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import type { Pool } from 'pg';
import { ApiDependencies, ApiHandler, createApi } from '../../../lambda/shop/api/api';
import { createWriteRoutes, WriteRoutesDependencies } from '../../../lambda/shop/api/write-routes';
import { EventBridgeInvalidationPublisher, type CacheClient, type CacheKeys, type ReadThroughCache, type ReadThroughCacheDeps, type TagIndex } from 'cache-pyramid/runtime';
import { shopOrigin } from '../../../lambda/shop/api/read-bindings';
import { UserRepository } from '../../../lambda/shop/repositories';
import { ProfileSequencer } from '../../../lambda/shop/write-behind/profile-sequencer';
import { SqsProfileChangeQueue } from '../../../lambda/shop/write-behind/queue';
import { CountingPool, TEST_TTLS, testCaches } from './support';
import { userSubject } from '../../../db/seed/seed';

export const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/cache-pyramid-write-behind.fifo';
export const BUS_NAME = 'cache-pyramid-invalidation';

export interface WriteApi {
  readonly handle: ApiHandler;
  readonly cache: ReadThroughCache;
  readonly personalCache: ReadThroughCache;
  readonly tagIndex: TagIndex;
  readonly db: CountingPool;
  readonly keys: CacheKeys;
}

export interface WriteApiOptions {
  readonly cache?: Partial<ReadThroughCacheDeps>;
  readonly api?: Partial<ApiDependencies>;
  /** Replaces write dependencies; a function receives the tag index the reads record into. */
  readonly writes?: Partial<WriteRoutesDependencies> | ((tagIndex: TagIndex) => Partial<WriteRoutesDependencies>);
}

/** The API with its write routes, as the runtime builds it, over `client` and `pool`. */
export function buildWriteApi(pool: Pool, keys: CacheKeys, client: CacheClient, options: WriteApiOptions = {}): WriteApi {
  const db = new CountingPool(pool);
  const { cache, personalCache, tagIndex } = testCaches(keys, client, options.cache);
  const users = new UserRepository(db);
  const origin = { ...shopOrigin(db), users };
  const writes = createWriteRoutes({
    db,
    cache,
    personalCache,
    keys,
    users,
    identities: origin.identities,
    tagIndex,
    publisher: new EventBridgeInvalidationPublisher({ client: new EventBridgeClient({ region: 'eu-west-1' }), eventBusName: BUS_NAME, cacheKeys: keys, sleep: async () => undefined }),
    profileQueue: new SqsProfileChangeQueue(new SQSClient({ region: 'eu-west-1' }), QUEUE_URL, { sleep: async () => undefined }),
    sequencer: new ProfileSequencer(client, keys),
    ...(typeof options.writes === 'function' ? options.writes(tagIndex) : options.writes),
  });
  const handle = createApi({
    cache,
    personalCache,
    tagIndex,
    writes,
    keys,
    ttls: TEST_TTLS,
    origin,
    ...options.api,
  });
  return { handle, cache, personalCache, tagIndex, db, keys };
}

/** Lets SendMessageBatch and PutEvents succeed for every entry (call in beforeEach after reset()). */
export function acceptEverything(sqs: AwsClientStub<SQSClient>, eventBridge: AwsClientStub<EventBridgeClient>): void {
  sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
    Successful: input.Entries!.map((e) => ({ Id: e.Id, MessageId: randomUUID(), MD5OfMessageBody: '' })),
    Failed: [],
  }));
  eventBridge.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => ({ FailedEntryCount: 0, Entries: input.Entries!.map(() => ({ EventId: randomUUID() })) }));
}

export interface PublishedInvalidation {
  readonly keys?: string[];
  readonly keyPatterns?: string[];
  readonly paths?: string[];
  readonly tags?: string[];
  readonly reason?: string;
}

/** Every CacheInvalidation detail the API put on the bus, in order. */
export function publishedInvalidations(eventBridge: AwsClientStub<EventBridgeClient>): PublishedInvalidation[] {
  return eventBridge.commandCalls(PutEventsCommand).flatMap((call) =>
    ((call.args[0].input as PutEventsCommandInput).Entries ?? []).map((entry) => {
      expect(entry).toMatchObject({ EventBusName: BUS_NAME, DetailType: 'CacheInvalidation' });
      return JSON.parse(entry.Detail!) as PublishedInvalidation;
    }),
  );
}

/** The messages the API sent to the write-behind queue, as SQS FIFO event records, in send order. */
export function sentRecords(sqs: AwsClientStub<SQSClient>): SQSRecord[] {
  return sqs.commandCalls(SendMessageBatchCommand).flatMap((call) => {
    const input = call.args[0].input as SendMessageBatchCommandInput;
    expect(input.QueueUrl).toBe(QUEUE_URL);
    return input.Entries!.map((entry) => {
      const id = randomUUID();
      return {
        messageId: id,
        receiptHandle: `AQEB${id}`,
        body: entry.MessageBody!,
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: String(Date.now()),
          SenderId: 'AROAEXAMPLE:api',
          ApproximateFirstReceiveTimestamp: String(Date.now()),
          SequenceNumber: String(Date.now()),
          MessageGroupId: entry.MessageGroupId!,
          MessageDeduplicationId: entry.MessageDeduplicationId!,
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:cache-pyramid-write-behind.fifo',
        awsRegion: 'eu-west-1',
      };
    });
  });
}

/**
 * Claims as API Gateway's JWT authorizer passes them (strings), with the scope claim when given: a
 * number is a seed user, named by its subject (a UUID, as Cognito names users); a string is the sub as is.
 */
export function claims(user: number | string, scope?: string): Record<string, string> {
  return { sub: typeof user === 'number' ? userSubject(user) : user, ...(scope ? { scope } : {}) };
}
