import { EventBridgeClient, PutEventsCommand, PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import Redis from 'ioredis';
import { InvalidationPublishError, ValidationError } from '../../../../lambda/runtime/errors';
import { CacheKeys } from '../../../../lambda/runtime/keys';
import { InvalidationLogger } from '../../../../lambda/runtime/invalidation/observability';
import {
  EventBridgeInvalidationPublisher,
  LocalInvalidationPublisher,
  PUT_EVENTS_MAX_BYTES,
  defineDomainEvent,
  putEventsEntrySize,
} from '../../../../lambda/runtime/invalidation/publisher';
import { TagIndex } from '../../../../lambda/runtime/cache/tag-index';
import { redisTagStore } from '../../../../lambda/runtime/invalidation/redis-purge';
import { ParamKind, Sharing, defineResource } from '../../../../lambda/runtime/resources/resource';
import { RedisServer } from '../../../support/servers';

const eventBridgeMock = mockClient(EventBridgeClient);
const ProductUpdated = defineDomainEvent<{ id: number }>('shop.catalog', 'ProductUpdated');
const product = defineResource({ name: 'product', path: '/api/products/{id}', sharing: Sharing.PUBLIC, ttl: 60 });
const productList = defineResource({
  name: 'product-list',
  path: '/api/products',
  query: { category: { kind: ParamKind.SLUG }, page: { kind: ParamKind.PAGE, default: 1 } },
  sharing: Sharing.PUBLIC,
  ttl: 60,
});
const user = defineResource({ name: 'user', path: '/api/users/{id}', sharing: Sharing.PER_SUBJECT, subjectParam: 'id', ttl: 60 });

function calls(): PutEventsCommandInput[] {
  return eventBridgeMock.commandCalls(PutEventsCommand).map((c) => c.args[0].input);
}

function publisher(overrides: Partial<ConstructorParameters<typeof EventBridgeInvalidationPublisher>[0]> = {}) {
  const sleeps: number[] = [];
  const instance = new EventBridgeInvalidationPublisher({
    client: new EventBridgeClient({ region: 'eu-west-1' }),
    eventBusName: 'cache-pyramid-invalidation',
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...overrides,
  });
  return { instance, sleeps };
}

beforeEach(() => eventBridgeMock.reset());

describe('EventBridgeInvalidationPublisher', () => {
  it('publishes a CacheInvalidation event with the DESIGN.md schema on the pipeline bus', async () => {
    eventBridgeMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });
    await publisher().instance.publishInvalidation({ keys: ['app:v1:product:42'], paths: ['/api/products/42'], reason: 'product 42 updated' });
    expect(calls()).toEqual([
      {
        Entries: [
          {
            EventBusName: 'cache-pyramid-invalidation',
            Source: 'cache-pyramid',
            DetailType: 'CacheInvalidation',
            Detail: JSON.stringify({ keys: ['app:v1:product:42'], paths: ['/api/products/42'], reason: 'product 42 updated' }),
          },
        ],
      },
    ]);
  });

  it('publishes typed domain events in chunks of at most 10 entries', async () => {
    eventBridgeMock.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => ({ FailedEntryCount: 0, Entries: input.Entries!.map(() => ({ EventId: 'x' })) }));
    await publisher().instance.publishDomainEvents(Array.from({ length: 25 }, (_, id) => ProductUpdated({ id })));
    expect(calls().map((c) => c.Entries!.length)).toEqual([10, 10, 5]);
    expect(calls()[0].Entries![3]).toEqual({ EventBusName: 'cache-pyramid-invalidation', Source: 'shop.catalog', DetailType: 'ProductUpdated', Detail: '{"id":3}' });
  });

  it('keeps every PutEvents call within 256 KB', async () => {
    eventBridgeMock.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => ({ FailedEntryCount: 0, Entries: input.Entries!.map(() => ({})) }));
    const big = defineDomainEvent<{ blob: string }>('shop', 'Big');
    await publisher().instance.publishDomainEvents(Array.from({ length: 5 }, () => big({ blob: 'x'.repeat(100 * 1024) })));
    expect(calls().map((c) => c.Entries!.length)).toEqual([2, 2, 1]);
    for (const call of calls()) {
      expect(call.Entries!.reduce((sum, e) => sum + putEventsEntrySize(e), 0)).toBeLessThanOrEqual(PUT_EVENTS_MAX_BYTES);
    }
  });

  it('splits an invalidation too large for one event into several, losing nothing', async () => {
    eventBridgeMock.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => ({ FailedEntryCount: 0, Entries: input.Entries!.map(() => ({})) }));
    const paths = Array.from({ length: 20_000 }, (_, i) => `/api/products/${i}/with/a/long/enough/path/to/fill/the/event`);
    await publisher().instance.publishInvalidation({ paths, reason: 'reindex' });
    const entries = calls().flatMap((c) => c.Entries!);
    expect(entries.length).toBeGreaterThan(1);
    for (const entry of entries) expect(putEventsEntrySize(entry)).toBeLessThanOrEqual(PUT_EVENTS_MAX_BYTES);
    const sent = entries.flatMap((e) => JSON.parse(e.Detail!).paths as string[]);
    expect(sent).toEqual(paths);
    expect(entries.every((e) => JSON.parse(e.Detail!).reason === 'reindex')).toBe(true);
  });

  it('retries only the entries EventBridge failed, with backoff', async () => {
    eventBridgeMock
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ EventId: 'a' }, { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }, { EventId: 'c' }] })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'b' }] });
    const { instance, sleeps } = publisher();

    await instance.publishDomainEvents([ProductUpdated({ id: 1 }), ProductUpdated({ id: 2 }), ProductUpdated({ id: 3 })]);

    expect(calls()).toHaveLength(2);
    expect(calls()[1].Entries!.map((e) => e.Detail)).toEqual(['{"id":2}']);
    expect(sleeps).toEqual([50]);
  });

  it('throws a typed error naming the entries that still fail after the retries', async () => {
    eventBridgeMock.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try later' }] });
    const { instance, sleeps } = publisher({ maxAttempts: 3 });

    const error = await instance.publishDomainEvent(ProductUpdated({ id: 9 })).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidationPublishError);
    expect((error as InvalidationPublishError).failures).toEqual([{ source: 'shop.catalog', detailType: 'ProductUpdated', errorCode: 'InternalFailure', errorMessage: 'try later' }]);
    expect((error as Error).message).toBe('EventBridge refused 1 of 1 event(s): ProductUpdated (InternalFailure)');
    expect(calls()).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
  });

  it('does not retry an entry refused for good, but still retries the others', async () => {
    eventBridgeMock
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 2, Entries: [{ ErrorCode: 'MalformedDetail', ErrorMessage: 'bad json' }, { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow' }] })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'ok' }] });

    const error = await publisher().instance.publishDomainEvents([ProductUpdated({ id: 1 }), ProductUpdated({ id: 2 })]).catch((e: unknown) => e);

    expect(calls()).toHaveLength(2);
    expect(calls()[1].Entries!.map((e) => e.Detail)).toEqual(['{"id":2}']);
    expect((error as InvalidationPublishError).failures.map((f) => f.errorCode)).toEqual(['MalformedDetail']);
  });

  it('retries a whole call that failed at the transport', async () => {
    eventBridgeMock.on(PutEventsCommand).rejectsOnce(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' })).resolves({ FailedEntryCount: 0, Entries: [{}] });
    await publisher().instance.publishDomainEvent(ProductUpdated({ id: 1 }));
    expect(calls()).toHaveLength(2);
  });

  it('refuses bad input before sending, naming the field', async () => {
    const { instance } = publisher({ cacheKeys: new CacheKeys() });
    await expect(instance.publishInvalidation({})).rejects.toThrow(ValidationError);
    await expect(instance.publishInvalidation({ paths: ['/a', 'b'] })).rejects.toMatchObject({ field: 'paths[1]' });
    await expect(instance.publishInvalidation({ keys: ['other:v1:product:1'] })).rejects.toMatchObject({ field: 'keys[0]' });
    await expect(instance.publishInvalidation({ paths: ['/a'], upToVersion: 3 })).rejects.toMatchObject({ field: 'upToVersion' });
    await expect(instance.publishInvalidation({ keys: ['app:v1:product:1'], upToVersion: Number.NaN })).rejects.toMatchObject({ field: 'upToVersion' });
    expect(calls()).toHaveLength(0);
  });
});

describe('LocalInvalidationPublisher (npm run dev)', () => {
  let server: RedisServer;
  let redis: Redis;
  const keys = new CacheKeys({ namespace: 'dev' });
  const logged: { message: string; attributes?: Record<string, unknown> }[] = [];
  const logger: InvalidationLogger = {
    debug: (message, attributes) => logged.push({ message, attributes }),
    info: (message, attributes) => logged.push({ message, attributes }),
    warn: (message, attributes) => logged.push({ message, attributes }),
    error: (message, attributes) => logged.push({ message, attributes }),
  };

  beforeAll(async () => {
    server = await RedisServer.start();
    redis = new Redis(server.url);
  });

  afterAll(async () => {
    await redis.quit();
    await server.stop();
  });

  it('purges the keys and patterns of an invalidation and logs the CloudFront paths as skipped', async () => {
    await redis.mset(product.key(keys, { id: 1 }), 'a', product.key(keys, { id: 2 }), 'b', user.key(keys, { id: 1 }), 'c');
    const local = new LocalInvalidationPublisher({ redis, cacheKeys: keys, logger });

    await local.publishInvalidation({ keys: [user.key(keys, { id: 1 })], keyPatterns: [keys.resourcePattern('product')], paths: ['/api/products/1'] });

    expect(await redis.exists(product.key(keys, { id: 1 }), product.key(keys, { id: 2 }), user.key(keys, { id: 1 }))).toBe(0);
    expect(logged.at(-1)).toEqual({
      message: 'local invalidation: Redis purged; CloudFront skipped (no distribution in dev)',
      attributes: { unlinked: 3, skippedPaths: ['/api/products/1'], reason: undefined },
    });
  });

  it('maps a domain event through the same mappings the stack wires', async () => {
    const index = new TagIndex(redisTagStore(redis), keys);
    const page = (n: number) => ({ category: 'garden', page: n });
    await redis.mset(product.key(keys, { id: 42 }), 'p', product.key(keys, { id: 43 }), 'q', productList.key(keys, page(1)), 'l1', productList.key(keys, page(2)), 'l2');
    // The list pages carry the product's tag, recorded as a read-through fill records it.
    for (const n of [1, 2]) await index.record(await index.ticket(), productList.key(keys, page(n)), productList.cdnPaths(page(n)), ['product:42'], 300);
    const local = new LocalInvalidationPublisher({
      redis,
      cacheKeys: keys,
      logger,
      mappings: [{ source: 'shop.catalog', detailType: 'ProductUpdated', resources: [{ resource: product, params: { id: '{detail.id}' } }], tags: ['product:{detail.id}'] }],
    });

    await local.publishDomainEvent(ProductUpdated({ id: 42 }));

    expect(await redis.exists(product.key(keys, { id: 42 }), productList.key(keys, page(1)), productList.key(keys, page(2)))).toBe(0);
    // Only the sentinel that says the set is whole is left.
    expect(await redis.zrange(keys.tagSet('product:42'), 0, -1)).toEqual(['#']);
    expect(await redis.exists(product.key(keys, { id: 43 }))).toBe(1);
    const attributes = logged.at(-1)?.attributes as { skippedPaths: string[] };
    expect(logged.at(-1)?.attributes).toMatchObject({ reason: 'ProductUpdated from shop.catalog' });
    // The resource's own path, then the paths the tag recorded: forwarded to the CDN after Redis.
    expect(attributes.skippedPaths[0]).toBe('/api/products/42');
    expect([...attributes.skippedPaths].sort()).toEqual(['/api/products/42', '/api/products?category=garden', '/api/products?category=garden&page=2']);
  });

  it('refuses a mapping that breaks the template rules when it is created', () => {
    expect(() => new LocalInvalidationPublisher({ redis, cacheKeys: keys, mappings: [{ source: 's', detailType: 'D', paths: ['no-slash'] }] })).toThrow(/paths\[0\] must start with "\/"/);
  });
});
