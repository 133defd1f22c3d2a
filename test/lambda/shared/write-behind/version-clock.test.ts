import Redis, { Cluster } from 'ioredis';
import { CacheKeys } from '../../../../lambda/shared/keys';
import { RedisProfileVersionClock } from '../../../../lambda/shared/write-behind/version-clock';
import { describeEachTopology, Topology } from '../../../support/topologies';

function connect(topology: Topology): Redis | Cluster {
  return topology.kind === 'standalone'
    ? new Redis(topology.url, { maxRetriesPerRequest: 1 })
    : new Cluster(topology.startupNodes, { redisOptions: { maxRetriesPerRequest: 1 } });
}

describeEachTopology('RedisProfileVersionClock', (handle) => {
  const clients: (Redis | Cluster)[] = [];
  let keys: CacheKeys;

  beforeAll(() => {
    keys = new CacheKeys({ clusterMode: handle.current().kind === 'cluster', namespace: `vc${process.pid}` });
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
  });

  function client(): Redis | Cluster {
    const c = connect(handle.current());
    clients.push(c);
    return c;
  }

  it('issues unique versions, increasing in issue order, to concurrent callers on separate connections', async () => {
    const a = new RedisProfileVersionClock(client(), keys);
    const b = new RedisProfileVersionClock(client(), keys);
    const issued = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).next(1)));
    expect(new Set(issued).size).toBe(200);
    const sequential: number[] = [];
    for (let i = 0; i < 50; i++) sequential.push(await (i % 2 === 0 ? a : b).next(1));
    expect(sequential).toEqual([...sequential].sort((x, y) => x - y));
    expect(sequential[0]).toBeGreaterThan(Math.max(...issued));
  });

  it('follows the wall clock in microseconds, so a lost counter restarts above what it issued', async () => {
    const redis = client();
    const clock = new RedisProfileVersionClock(redis, keys);
    const before = await clock.next(2);
    expect(Math.abs(before - Date.now() * 1000)).toBeLessThan(5_000_000);
    await redis.del(keys.profileVersion(2));
    expect(await clock.next(2)).toBeGreaterThan(before);
  });

  it('keeps counting past a counter ahead of the clock (last + 1)', async () => {
    const redis = client();
    const ahead = (Date.now() + 3_600_000) * 1000;
    await redis.set(keys.profileVersion(3), String(ahead));
    expect(await new RedisProfileVersionClock(redis, keys).next(3)).toBe(ahead + 1);
  });

  it('gives the counter key a TTL', async () => {
    const redis = client();
    await new RedisProfileVersionClock(redis, keys, { counterTtlSeconds: 120 }).next(4);
    const ttl = await redis.ttl(keys.profileVersion(4));
    expect(ttl).toBeGreaterThan(100);
    expect(ttl).toBeLessThanOrEqual(120);
  });

  it('keeps users independent', async () => {
    const clock = new RedisProfileVersionClock(client(), keys);
    const redis = client();
    await redis.set(keys.profileVersion(5), String(Number.MAX_SAFE_INTEGER - 10));
    const other = await clock.next(6);
    expect(other).toBeLessThan(Number.MAX_SAFE_INTEGER / 2);
  });

  it('throws when Redis cannot answer, so the caller can fall back', async () => {
    const dead = new Redis({ port: 1, maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
    await expect(new RedisProfileVersionClock(dead, keys).next(7)).rejects.toThrow();
    dead.disconnect();
  });

  it('refuses a counter TTL that is not a positive integer', () => {
    const unused = new Redis({ lazyConnect: true });
    expect(() => new RedisProfileVersionClock(unused, keys, { counterTtlSeconds: 0 })).toThrow(/counterTtlSeconds must be a positive integer, got 0/);
  });
});
