import { CacheClient, createRedis } from '../../../../lambda/runtime/cache';
import { CacheUnavailableError, ConflictError } from '../../../../lambda/runtime/errors';
import { CacheKeys } from '../../../../lambda/runtime/keys';
import { ProfileSequencer } from '../../../../lambda/shop/write-behind/profile-sequencer';
import { RedisServer } from '../../../support/servers';
import { describeEachTopology, Topology } from '../../../support/topologies';

async function connect(topology: Topology): Promise<CacheClient> {
  const options = { commandTimeoutMs: 2000, connectTimeoutMs: 2000 };
  const redis = topology.kind === 'standalone' ? createRedis({ url: topology.url, ...options }) : createRedis({ clusterNodes: topology.startupNodes, ...options });
  const client = new CacheClient(redis, options);
  if (!(await client.ready(10_000))) throw new Error('no connection');
  return client;
}

let namespaces = 0;

describeEachTopology('ProfileSequencer', (handle) => {
  const clients: CacheClient[] = [];
  let keys: CacheKeys;
  let a: CacheClient;
  let b: CacheClient;

  beforeAll(async () => {
    a = await connect(handle.current());
    b = await connect(handle.current());
    clients.push(a, b);
  });
  beforeEach(() => {
    keys = new CacheKeys({ clusterMode: handle.current().kind === 'cluster', namespace: `seq${process.pid}-${++namespaces}` });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit()));
  });

  it('gives concurrent changes of one user turns one at a time, with versions increasing in turn order', async () => {
    const sequencers = [new ProfileSequencer(a, keys, { waitMs: 20_000 }), new ProfileSequencer(b, keys, { waitMs: 20_000 })];
    const order: number[] = [];
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const turn = await sequencers[i % 2].begin(1);
        inside++;
        maxInside = Math.max(maxInside, inside);
        order.push(turn.version);
        await new Promise((resolve) => setImmediate(resolve));
        inside--;
        await turn.end();
      }),
    );
    expect(maxInside).toBe(1);
    expect(new Set(order).size).toBe(40);
    expect(order).toEqual([...order].sort((x, y) => x - y));
  });

  it('issues versions near the wall clock in microseconds, and above the last one when the counter is lost', async () => {
    const sequencer = new ProfileSequencer(a, keys);
    const first = await sequencer.begin(2);
    await first.end();
    expect(Math.abs(first.version - Date.now() * 1000)).toBeLessThan(5_000_000);
    await a.unlink([keys.profileVersion(2)]);
    const second = await sequencer.begin(2);
    await second.end();
    expect(second.version).toBeGreaterThan(first.version);
  });

  it('counts on from a counter ahead of the clock (last + 1)', async () => {
    const ahead = (Date.now() + 3_600_000) * 1000;
    await a.set(keys.profileVersion(3), String(ahead), 60_000);
    const turn = await new ProfileSequencer(a, keys).begin(3);
    await turn.end();
    expect(turn.version).toBe(ahead + 1);
  });

  it('keeps users independent: one user\'s turn does not hold back another\'s', async () => {
    const sequencer = new ProfileSequencer(a, keys, { waitMs: 1 });
    const held = await sequencer.begin(4);
    const other = await sequencer.begin(5);
    await Promise.all([held.end(), other.end()]);
    expect(other.version).not.toBe(held.version);
  });

  it('answers 409 (ConflictError) when the turn stays taken beyond waitMs, without sleeping for real', async () => {
    const slept: number[] = [];
    const sequencer = new ProfileSequencer(a, keys, { waitMs: 100, sleep: async (ms) => void slept.push(ms), random: () => 0.5 });
    const held = await sequencer.begin(6);
    await expect(sequencer.begin(6)).rejects.toBeInstanceOf(ConflictError);
    expect(slept.reduce((x, y) => x + y, 0)).toBe(100);
    await held.end();
    const next = await sequencer.begin(6);
    await next.end();
    expect(next.version).toBeGreaterThan(held.version);
  });

  it('frees the turn of a holder that died after turnTtlMs', async () => {
    const sequencer = new ProfileSequencer(a, keys, { turnTtlMs: 50, waitMs: 5000 });
    const abandoned = await sequencer.begin(7);
    const next = await sequencer.begin(7);
    await next.end();
    expect(next.version).toBeGreaterThan(abandoned.version);
  });

  it('never ends a turn it no longer holds', async () => {
    const sequencer = new ProfileSequencer(a, keys, { turnTtlMs: 50, waitMs: 5000 });
    const expired = await sequencer.begin(8);
    const current = await sequencer.begin(8);
    await expired.end();
    await expect(new ProfileSequencer(a, keys, { waitMs: 1 }).begin(8)).rejects.toBeInstanceOf(ConflictError);
    await current.end();
  });

  it('gives every key a TTL: the counter and the turn', async () => {
    const turn = await new ProfileSequencer(a, keys, { counterTtlSeconds: 120 }).begin(9);
    const [counterTtl, turnTtl] = await Promise.all([a.redis.ttl(keys.profileVersion(9)), a.redis.pttl(keys.lock(keys.userProfile(9)))]);
    await turn.end();
    expect(counterTtl).toBeGreaterThan(100);
    expect(counterTtl).toBeLessThanOrEqual(120);
    expect(turnTtl).toBeGreaterThan(0);
    expect(turnTtl).toBeLessThanOrEqual(5000);
  });

  it('throws CacheUnavailableError when Redis is down, so the PATCH can write directly', async () => {
    const server = await RedisServer.start();
    const client = await connect({ kind: 'standalone', server, url: server.url });
    try {
      await server.kill();
      await expect(new ProfileSequencer(client, keys).begin(10)).rejects.toBeInstanceOf(CacheUnavailableError);
    } finally {
      client.redis.disconnect();
      await server.stop();
    }
  });

  it('refuses settings that are not positive integers', () => {
    expect(() => new ProfileSequencer(a, keys, { waitMs: 0 })).toThrow(/waitMs must be a positive integer, got 0/);
  });
});
