import IORedis, { Cluster } from 'ioredis';
import type Redis from 'ioredis';
import { purgeRedis } from '../../../../lambda/runtime/invalidation/redis-purge';
import {
  BusState,
  CacheClient,
  decodeBusMessage,
  encodeBusMessage,
  InvalidationBus,
  ReadThroughCache,
  ReadThroughCacheDeps,
} from '../../../../lambda/runtime/cache';
import type { CacheKeys } from '../../../../lambda/runtime/keys';
import { DEFAULT_TTL_SECONDS, TtlClass, TtlTable } from '../../../../lambda/runtime/ttl';
import { RedisServer } from '../../../support/servers';
import { describeEachTopology, Topology } from '../../../support/topologies';
import { connectClient, countingLoader, freshKeys } from './support';

const TTLS: TtlTable = { ...DEFAULT_TTL_SECONDS, [TtlClass.PRODUCT]: 600 };
/** Long enough that, without the bus, no copy in these tests would expire on its own. */
const L1 = { maxBytes: 1024 * 1024, ttlSeconds: 60 };
/** A generous bound for "within milliseconds" on a loaded 2-core machine; the L1 TTL is 60 s. */
const DELIVERY_BOUND_MS = 5_000;

async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = DELIVERY_BOUND_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
}

/** The bus's own subscriber connection (tests freeze it to stand for a frozen Lambda sandbox). */
function subscriberOf(bus: InvalidationBus): Redis {
  return (bus as unknown as { subscriber: Redis }).subscriber;
}

/** The server holding the bus channel: the standalone server, or the master of the channel's slot. */
function channelNode(topology: Topology, channel: string): RedisServer {
  return topology.kind === 'standalone' ? topology.server : topology.cluster.masterFor(channel);
}

describe('bus message format', () => {
  test('a message survives encoding, keys with and without a version', () => {
    const message = { origin: 'a', keys: [{ key: 'k1', version: 7 }, { key: 'k2' }], tags: ['t'], filled: ['k3'] };
    expect(decodeBusMessage(encodeBusMessage(message))).toEqual(message);
    expect(encodeBusMessage({ origin: 'a', keys: [{ key: 'k' }], tags: [], filled: [] })).toBe('{"f":1,"o":"a","k":[["k"]]}');
  });

  test.each([
    ['not JSON', 'nope'],
    ['another format', '{"f":2,"o":"a","k":[["k"]]}'],
    ['no origin', '{"f":1,"k":[["k"]]}'],
    ['a key that is not a string', '{"f":1,"o":"a","k":[[1]]}'],
    ['a version that is not a number', '{"f":1,"o":"a","k":[["k","3"]]}'],
    ['tags that are not strings', '{"f":1,"o":"a","g":[1]}'],
    ['null', 'null'],
  ])('%s decodes to undefined', (_, payload) => {
    expect(decodeBusMessage(payload)).toBeUndefined();
  });
});

describeEachTopology('InvalidationBus', (handle) => {
  const clients: CacheClient[] = [];
  const buses: InvalidationBus[] = [];
  const purgers: (Redis | Cluster)[] = [];

  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
    purgers.splice(0).forEach((p) => p.disconnect());
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit()));
  });

  async function client(): Promise<CacheClient> {
    const c = await connectClient(handle.current());
    clients.push(c);
    return c;
  }

  async function subscribedBus(keys: CacheKeys, options: { heartbeatMs?: number } = {}): Promise<InvalidationBus> {
    const bus = InvalidationBus.connect(await client(), { channel: `${keys.prefix}bus`, ...options });
    buses.push(bus);
    if (!(await bus.subscribed(10_000))) throw new Error('bus did not subscribe');
    return bus;
  }

  /** One simulated process: a connection, a bus subscription and an L1 of its own. */
  async function processCache(keys: CacheKeys, deps: Partial<ReadThroughCacheDeps> = {}): Promise<ReadThroughCache> {
    const c = await client();
    return new ReadThroughCache({ client: c, keys, ttls: TTLS, earlyRefreshBeta: 0, l1: L1, ...deps });
  }

  async function pair(keys: CacheKeys, deps: Partial<ReadThroughCacheDeps> = {}) {
    const a = await processCache(keys, { bus: await subscribedBus(keys), ...deps });
    const busB = await subscribedBus(keys);
    const b = await processCache(keys, { bus: busB, ...deps });
    return { a, b, busB };
  }

  describe('cross-process invalidation', () => {
    test('a write-through in one process drops the other process L1 copy within milliseconds; without the bus it stays', async () => {
      const keys = freshKeys(handle.current());
      const key = keys.product(1);
      const { a, b } = await pair(keys);
      const noBus = await processCache(keys);
      const load = countingLoader(() => ({ value: 'v1', version: 1 }));
      await b.get(key, TtlClass.PRODUCT, load.load);
      await noBus.get(key, TtlClass.PRODUCT, load.load);
      expect(await b.get(key, TtlClass.PRODUCT, load.load)).toMatchObject({ value: 'v1', source: 'l1' });

      const started = Date.now();
      await a.put(key, TtlClass.PRODUCT, 'v2', { version: 2 });
      await eventually('process B reads v2', async () => (await b.get(key, TtlClass.PRODUCT, load.load)).value === 'v2');
      expect(Date.now() - started).toBeLessThan(DELIVERY_BOUND_MS);
      expect(await b.get(key, TtlClass.PRODUCT, load.load)).toMatchObject({ value: 'v2', source: 'l1', version: 2 });
      // The naive version (L1 with a TTL only) still serves the old value.
      expect(await noBus.get(key, TtlClass.PRODUCT, load.load)).toMatchObject({ value: 'v1', source: 'l1' });
    });

    test('invalidate in one process makes the other read the origin again', async () => {
      const keys = freshKeys(handle.current());
      const key = keys.product(2);
      const { a, b } = await pair(keys);
      let value = 'old';
      const load = async () => ({ value });
      await b.get(key, TtlClass.PRODUCT, load);
      value = 'new';
      await a.invalidate(key);
      await eventually('process B reads the new value', async () => (await b.get(key, TtlClass.PRODUCT, load)).value === 'new');
    });

    test('a message never drops a newer copy, and always drops an older or unversioned one', async () => {
      const keys = freshKeys(handle.current());
      const [newer, older, unversioned] = [keys.product(3), keys.product(4), keys.product(5)];
      const { b, busB } = await pair(keys);
      const sender = await subscribedBus(keys);
      await b.get(newer, TtlClass.PRODUCT, async () => ({ value: 'v5', version: 5 }));
      await b.get(older, TtlClass.PRODUCT, async () => ({ value: 'v3', version: 3 }));
      await b.get(unversioned, TtlClass.PRODUCT, async () => ({ value: 'plain' }));
      const heard: string[] = [];
      busB.listen((event) => {
        if (event.kind === 'message') heard.push(...event.message.keys.map((k) => k.key));
      });

      await sender.publish({ origin: 'another process', keys: [{ key: newer, version: 4 }, { key: older, version: 4 }, { key: unversioned, version: 4 }], tags: [], filled: [] });
      await eventually('process B received the message', () => heard.length === 3);

      expect(await b.get(newer, TtlClass.PRODUCT, async () => ({ value: 'reloaded', version: 6 }))).toMatchObject({ value: 'v5', source: 'l1' });
      expect((await b.get(older, TtlClass.PRODUCT, async () => ({ value: 'reloaded', version: 6 }))).source).not.toBe('l1');
      expect((await b.get(unversioned, TtlClass.PRODUCT, async () => ({ value: 'reloaded' }))).source).not.toBe('l1');
    });

    test('a read in flight when a message arrives does not put its (possibly older) value into L1', async () => {
      const keys = freshKeys(handle.current());
      const key = keys.product(6);
      // No Redis for the reads: the loader alone decides what the read returns.
      const { b, busB } = await pair(keys, { client: undefined });
      const sender = await subscribedBus(keys);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let heard = 0;
      busB.listen((event) => {
        if (event.kind === 'message') heard += 1;
      });
      const reading = b.get(key, TtlClass.PRODUCT, async () => {
        await gate;
        return { value: 'read before the write', version: 1 };
      });
      await sender.publish({ origin: 'writer', keys: [{ key, version: 2 }], tags: [], filled: [] });
      await eventually('the message arrived', () => heard === 1);
      release();
      expect(await reading).toMatchObject({ value: 'read before the write', source: 'origin' });
      expect((await b.get(key, TtlClass.PRODUCT, async () => ({ value: 'after', version: 2 }))).source).not.toBe('l1');
    });

    test('a tag message drops every L1 copy (L1 does not know which entries carry the tag)', async () => {
      const keys = freshKeys(handle.current());
      const { b } = await pair(keys);
      const sender = await subscribedBus(keys);
      await b.get(keys.product(7), TtlClass.PRODUCT, async () => ({ value: 'x' }));
      expect(b.stats().l1.entries).toBe(1);
      await sender.publish({ origin: 'writer', keys: [], tags: ['category:garden'], filled: [] });
      await eventually('L1 is empty', () => b.stats().l1.entries === 0);
    });

    test('a message in an unknown format drops every L1 copy', async () => {
      const keys = freshKeys(handle.current());
      const { b } = await pair(keys);
      const raw = await client();
      await b.get(keys.product(8), TtlClass.PRODUCT, async () => ({ value: 'x' }));
      await raw.publish(`${keys.prefix}bus`, '{"f":99}');
      await eventually('L1 is empty', () => b.stats().l1.entries === 0);
    });
  });

  describe('purges announced by the Redis purger', () => {
    /** The purger's own connection: plain ioredis, as the Lambda has it. */
    async function purgerRedis(): Promise<Redis | Cluster> {
      const topology = handle.current();
      const redis = topology.kind === 'cluster' ? new Cluster(topology.startupNodes) : new IORedis(topology.url);
      purgers.push(redis);
      if (redis.status !== 'ready') await new Promise<void>((resolve, reject) => redis.once('ready', () => resolve()).once('error', reject));
      return redis;
    }

    test('an exact key purged by the pipeline drops the other instances L1 copy within milliseconds; unannounced it stays', async () => {
      const keys = freshKeys(handle.current());
      const key = keys.resource('product', ['9']);
      const { b } = await pair(keys);
      let value = 'old';
      const load = async () => ({ value });
      await b.get(key, TtlClass.PRODUCT, load);
      expect(await b.get(key, TtlClass.PRODUCT, load)).toMatchObject({ value: 'old', source: 'l1' });
      value = 'new';
      const redis = await purgerRedis();

      // The naive purger (no announcement): Redis is clean, yet B keeps answering its L1 copy.
      await purgeRedis({ keys: [key], scans: [] }, { redis, cacheKeys: keys, now: Date.now, deadline: Infinity, announceOnBus: false });
      await new Promise((r) => setTimeout(r, 200));
      expect(await b.get(key, TtlClass.PRODUCT, load)).toMatchObject({ value: 'old', source: 'l1' });

      const started = Date.now();
      await purgeRedis({ keys: [key], scans: [] }, { redis, cacheKeys: keys, now: Date.now, deadline: Infinity });
      await eventually('instance B reads the new value', async () => (await b.get(key, TtlClass.PRODUCT, load)).value === 'new');
      expect(Date.now() - started).toBeLessThan(DELIVERY_BOUND_MS);
    });

    test('a tag purged by the pipeline empties the other instances L1 (it keeps no tag index); unannounced it stays', async () => {
      const keys = freshKeys(handle.current());
      const { b } = await pair(keys);
      await b.get(keys.resource('product', ['10']), TtlClass.PRODUCT, async () => ({ value: 'x' }));
      const redis = await purgerRedis();
      await purgeRedis({ keys: [], scans: [], tags: ['category:garden'] }, { redis, cacheKeys: keys, now: Date.now, deadline: Infinity, announceOnBus: false });
      await new Promise((r) => setTimeout(r, 200));
      expect(b.stats().l1.entries).toBe(1);
      await purgeRedis({ keys: [], scans: [], tags: ['category:garden'] }, { redis, cacheKeys: keys, now: Date.now, deadline: Infinity });
      await eventually('L1 is empty', () => b.stats().l1.entries === 0);
    });
  });

  describe('subscription loss', () => {
    async function waitHealthy(): Promise<void> {
      const topology = handle.current();
      if (topology.kind === 'cluster') await topology.cluster.waitUntilHealthy();
    }

    test('when the subscriber connection is killed, L1 is emptied at once and trusted again once resubscribed', async () => {
      const keys = freshKeys(handle.current());
      let now = Date.now();
      const bus = await subscribedBus(keys);
      // No Redis for the reads: what L1 does is all that matters here.
      const cache = await processCache(keys, { client: undefined, bus, clock: () => now });
      await cache.get(keys.product(1), TtlClass.PRODUCT, async () => ({ value: 'before' }));
      expect(cache.stats().l1.entries).toBe(1);
      const entriesWhenLost: number[] = [];
      bus.listen((event) => {
        if (event.kind === 'lost') entriesWhenLost.push(cache.stats().l1.entries);
      });

      channelNode(handle.current(), bus.channel).cli('CLIENT', 'KILL', 'TYPE', 'pubsub');
      await eventually('the bus noticed', () => entriesWhenLost.length > 0, 10_000);
      expect(entriesWhenLost[0]).toBe(0);

      await eventually('resubscribed', () => bus.state === BusState.SUBSCRIBED, 15_000);
      await cache.get(keys.product(3), TtlClass.PRODUCT, async () => ({ value: 'after' }));
      now += 30_000;
      expect(await cache.get(keys.product(3), TtlClass.PRODUCT, async () => ({ value: 'after' }))).toMatchObject({ source: 'l1' });
    });

    test('while unsubscribed, L1 entries live at most the fallback TTL (0: no L1); once resubscribed L1 starts empty', async () => {
      const keys = freshKeys(handle.current());
      let now = Date.now();
      const clock = () => now;
      const bus = InvalidationBus.connect(await client(), { channel: `${keys.prefix}bus`, heartbeatMs: 100, replyTimeoutMs: 300 });
      buses.push(bus);
      expect(await bus.subscribed(10_000)).toBe(true);
      const short = await processCache(keys, { client: undefined, bus, clock, busFallbackL1TtlSeconds: 1 });
      const off = await processCache(keys, { client: undefined, bus, clock, busFallbackL1TtlSeconds: 0 });
      const node = channelNode(handle.current(), bus.channel);
      node.pause(); // hung: only the heartbeat can tell
      try {
        await eventually('the heartbeat noticed', () => bus.state !== BusState.SUBSCRIBED, 10_000);
        const load = async () => ({ value: 'during' });
        await short.get(keys.product(1), TtlClass.PRODUCT, load);
        await off.get(keys.product(1), TtlClass.PRODUCT, load);
        expect(off.stats().l1.entries).toBe(0);
        now += 900;
        expect((await short.get(keys.product(1), TtlClass.PRODUCT, load)).source).toBe('l1');
        now += 200;
        expect((await short.get(keys.product(1), TtlClass.PRODUCT, load)).source).toBe('origin');
        expect(short.stats().l1.entries).toBe(1);
      } finally {
        node.resume();
      }
      await waitHealthy();
      await eventually('resubscribed', () => bus.state === BusState.SUBSCRIBED, 20_000);
      expect(short.stats().l1.entries).toBe(0);
      await off.get(keys.product(2), TtlClass.PRODUCT, async () => ({ value: 'x' }));
      now += 30_000;
      expect((await off.get(keys.product(2), TtlClass.PRODUCT, async () => ({ value: 'x' }))).source).toBe('l1');
    });

    test('a PING the subscriber connection cannot answer marks the bus lost (sync answers false)', async () => {
      const keys = freshKeys(handle.current());
      const bus = InvalidationBus.connect(await client(), { channel: `${keys.prefix}bus`, heartbeatMs: 0, replyTimeoutMs: 300 });
      buses.push(bus);
      expect(await bus.subscribed(10_000)).toBe(true);
      expect(await bus.sync()).toBe(true);
      const node = channelNode(handle.current(), bus.channel);
      node.pause();
      try {
        expect(await bus.sync()).toBe(false);
        expect(bus.state).not.toBe(BusState.SUBSCRIBED);
      } finally {
        node.resume();
      }
      await waitHealthy();
      expect(await bus.subscribed(20_000)).toBe(true);
      expect(await bus.sync()).toBe(true);
    });
  });

  describe('per-invocation sync (a frozen Lambda sandbox)', () => {
    test('after a freeze, sync processes every pending message before L1 is read; without it the stale copy is served', async () => {
      const keys = freshKeys(handle.current());
      const key = keys.product(9);
      const writer = await processCache(keys, { bus: await subscribedBus(keys) });
      const busB = await subscribedBus(keys, { heartbeatMs: 0 });
      const b = await processCache(keys, { bus: busB });
      let version = 1;
      const load = async () => ({ value: `v${version}`, version });
      await b.get(key, TtlClass.PRODUCT, load);

      for (const sync of [false, true]) {
        const socket = subscriberOf(busB).stream;
        socket.pause(); // frozen: messages wait in the socket
        version += 1;
        await writer.put(key, TtlClass.PRODUCT, `v${version}`, { version });
        socket.resume(); // thawed: the next invocation starts at once
        if (sync) expect(await busB.sync()).toBe(true);
        const read = await b.get(key, TtlClass.PRODUCT, load);
        if (sync) expect(read).toMatchObject({ value: `v${version}` });
        else expect(read).toMatchObject({ value: `v${version - 1}`, source: 'l1' });
        await busB.sync();
        if (!sync) await b.get(key, TtlClass.PRODUCT, load);
      }
    });
  });

  describe('waiters are told of the fill', () => {
    test('a process waiting for another process load reads the value when the fill notice arrives, not at its next poll', async () => {
      const keys = freshKeys(handle.current());
      const key = keys.product(10);
      // The first poll would come after 5 s (pollMs × 0.5 with random() = 0): only the notice can end the wait sooner.
      const lock = { pollMs: 10_000, waitMs: 30_000, ttlMs: 30_000 };
      const deps = { lock, random: () => 0, l1: false as const };
      const a = await processCache(keys, { ...deps, bus: await subscribedBus(keys) });
      const told = await processCache(keys, { ...deps, bus: await subscribedBus(keys) });
      const polling = await processCache(keys, deps);
      const origin = countingLoader(() => ({ value: 'loaded' }), 300);

      const leader = a.get(key, TtlClass.PRODUCT, origin.load);
      await eventually('the leader holds the lock', () => origin.calls() === 1);
      const started = Date.now();
      const [fromNotice, fromPoll] = await Promise.all([
        told.get(key, TtlClass.PRODUCT, origin.load).then((read) => ({ read, ms: Date.now() - started })),
        polling.get(key, TtlClass.PRODUCT, origin.load).then((read) => ({ read, ms: Date.now() - started })),
      ]);
      await leader;
      expect(origin.calls()).toBe(1);
      expect(fromNotice.read).toMatchObject({ value: 'loaded', source: 'redis' });
      expect(fromPoll.read).toMatchObject({ value: 'loaded', source: 'redis' });
      expect(fromNotice.ms).toBeLessThan(4_000);
      expect(fromPoll.ms).toBeGreaterThanOrEqual(4_900);
    });
  });
});
