import Redis, { Cluster } from 'ioredis';
import { CacheClient, CircuitState, createRedis, luaScript } from '../../../../lambda/runtime/cache';
import { CacheUnavailableError } from '../../../../lambda/runtime/errors';
import { freePort, RedisServer } from '../../../support/servers';
import { describeEachTopology, Topology } from '../../../support/topologies';
import { connectClient, freshKeys, inspector, SCHEDULER_SLACK_MS, untilAccepted } from './support';

/** The process to pause for `key`: the standalone server, or the master owning the key's slot. */
function serverOf(topology: Topology, key: string): RedisServer {
  return topology.kind === 'standalone' ? topology.server : topology.cluster.masterFor(key);
}

describeEachTopology('CacheClient', (handle) => {
  let client: CacheClient;
  let redis: Redis | Cluster;

  beforeAll(async () => {
    client = await connectClient(handle.current());
    redis = await inspector(handle.current());
  });

  afterAll(async () => {
    await client.quit();
    redis.disconnect();
  });

  test('sets with a TTL in milliseconds, and NX refuses an existing key', async () => {
    const key = freshKeys(handle.current()).product(1);
    expect(await client.set(key, 'a', 5_000)).toBe(true);
    expect(await client.set(key, 'b', 5_000, { onlyIfAbsent: true })).toBe(false);
    expect(await client.get(key)).toBe('a');
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(4_000);
    expect(ttl).toBeLessThanOrEqual(5_000);
  });

  test('rejects a TTL that is not positive', async () => {
    await expect(client.set('k', 'v', 0)).rejects.toThrow('cache TTL must be a positive number of milliseconds, got 0');
  });

  test('unlinks keys spread over many slots in one call and counts those that existed', async () => {
    const keys = freshKeys(handle.current());
    const names = Array.from({ length: 40 }, (_, i) => keys.product(i));
    for (const name of names.slice(0, 30)) await redis.set(name, '1', 'PX', 60_000);
    expect(await client.unlink([...names, names[0]])).toBe(30);
    expect(await Promise.all(names.map((n) => redis.exists(n)))).toEqual(names.map(() => 0));
  });

  test('sadd gives the set a TTL and never shortens it', async () => {
    const key = freshKeys(handle.current()).tagSet('product:7');
    expect(await client.sadd(key, ['list:a', 'list:b'], 60_000)).toBe(2);
    expect(await client.sadd(key, ['list:b', 'list:c'], 1_000)).toBe(1);
    expect((await client.smembers(key)).sort()).toEqual(['list:a', 'list:b', 'list:c']);
    expect(await redis.pttl(key)).toBeGreaterThan(50_000);
    expect(await client.srem(key, ['list:a'])).toBe(1);
  });

  test('runs a Lua script by EVALSHA and reloads it with EVAL after SCRIPT FLUSH', async () => {
    const key = freshKeys(handle.current()).resource('config', ['script']);
    const script = luaScript('test_incr_by', 1, `return redis.call('INCRBY', KEYS[1], ARGV[1])`);
    expect(await client.eval(script, [key], [2])).toBe(2);
    const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
    await Promise.all(nodes.map((node) => node.script('FLUSH')));
    expect(await client.eval(script, [key], [3])).toBe(5);
    await redis.pexpire(key, 1_000);
  });

  test('scans every master with SCAN MATCH', async () => {
    const keys = freshKeys(handle.current());
    const names = Array.from({ length: 60 }, (_, i) => keys.product(i));
    for (const name of names) await redis.set(name, '1', 'PX', 60_000);
    const found: string[] = [];
    for await (const batch of client.scan(keys.resourcePattern('product'), 7)) found.push(...batch);
    expect(found.sort()).toEqual([...names].sort());
  });

  test('a paused server costs each call the command timeout, then the circuit of that shard opens and calls fail at once', async () => {
    const topology = handle.current();
    const keys = freshKeys(topology);
    let now = 1_000_000;
    const fast = await connectClient(topology, {
      commandTimeoutMs: 50,
      circuitBreaker: { failureThreshold: 3, coolDownMs: 5_000 },
      clock: () => now,
    });
    const victimKey = keys.product(1);
    const victim = serverOf(topology, victimKey);
    const otherKey = Array.from({ length: 50 }, (_, i) => keys.product(100 + i)).find((k) => serverOf(topology, k) !== victim);
    expect(otherKey === undefined).toBe(topology.kind === 'standalone');
    await fast.set(victimKey, 'v', 60_000);
    try {
      victim.pause();
      for (let i = 0; i < 3; i++) {
        const started = Date.now();
        await expect(fast.get(victimKey)).rejects.toThrow(CacheUnavailableError);
        const elapsed = Date.now() - started;
        expect(elapsed).toBeGreaterThanOrEqual(45);
        expect(elapsed).toBeLessThan(50 + SCHEDULER_SLACK_MS);
      }
      const started = Date.now();
      await expect(fast.get(victimKey)).rejects.toThrow('cache circuit is open');
      expect(Date.now() - started).toBeLessThan(SCHEDULER_SLACK_MS);
      // The other shard still answers (retried: its own 50 ms timeout may fire on a busy machine).
      if (otherKey) await untilAccepted('the other shard answers', () => fast.get(otherKey).catch((error: unknown) => error), (reply) => reply === null);

      now += 5_000;
      await expect(fast.get(victimKey)).rejects.toThrow('timed out');
      await expect(fast.get(victimKey)).rejects.toThrow('cache circuit is open');

      victim.resume();
      // Each attempt after a cool-down is one probe; a busy machine may make the first one time out.
      await untilAccepted(
        'the resumed shard answers',
        () => {
          now += 5_000;
          return fast.get(victimKey).catch((error: unknown) => error);
        },
        (reply) => reply === 'v',
      );
      expect(Object.values(fast.circuitStates()).every((s) => s === CircuitState.CLOSED)).toBe(true);
    } finally {
      victim.resume();
      await fast.quit();
    }
  });
});

describe('CacheClient without a server', () => {
  test('never queues: a call waits at most the connect timeout, and once the circuit opens it fails at once', async () => {
    const port = await freePort();
    const client = new CacheClient(createRedis({ host: '127.0.0.1', port, connectTimeoutMs: 100 }), {
      connectTimeoutMs: 100,
      commandTimeoutMs: 50,
      circuitBreaker: { failureThreshold: 2 },
    });
    try {
      expect(await client.ready(300)).toBe(false);
      for (let i = 0; i < 2; i++) {
        const started = Date.now();
        await expect(client.get('k')).rejects.toThrow(CacheUnavailableError);
        expect(Date.now() - started).toBeLessThan(100 + 50 + SCHEDULER_SLACK_MS);
      }
      const started = Date.now();
      await expect(client.get('k')).rejects.toThrow('cache circuit is open');
      expect(Date.now() - started).toBeLessThan(SCHEDULER_SLACK_MS);
      expect(client.circuitStates()).toEqual({ primary: CircuitState.OPEN });
    } finally {
      await client.quit();
    }
  });
});
