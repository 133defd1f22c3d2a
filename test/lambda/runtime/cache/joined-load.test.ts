/**
 * Request coalescing against a write on another instance. A read on instance A misses and loads
 * version 1; while that load runs, instance B writes version 2 (its tombstone drops A's lock), and
 * answers 2xx; then a second read on A starts. It finds A's load in flight. Without the L1 bus, A
 * knows nothing of the write but this: Redis refuses the load's fill. The read that joined must not
 * take the load's value (version 1, read from the origin before the write) — the origin bound of a
 * read after a write's 2xx is 0. It reads again. Naive: the joined read shares the load's result,
 * as coalescing did before (the dev race with the bus off caught it: "read version 643 from origin
 * 0.9 ms after the write of version 644 was acknowledged").
 */
import { CacheClient, ReadThroughCache, type CacheRead } from '../../../../lambda/runtime/cache';
import type { CacheKeys } from '../../../../lambda/runtime/keys';
import { DEFAULT_TTL_SECONDS, TtlClass } from '../../../../lambda/runtime/ttl';
import { describeEachTopology } from '../../../support/topologies';
import { connectClient, freshKeys } from './support';

interface Product {
  readonly id: number;
  readonly version: number;
}

describeEachTopology('a read that joins a load a write overtook', (topology) => {
  const clients: CacheClient[] = [];

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit()));
  });

  async function cache(keys: CacheKeys): Promise<ReadThroughCache> {
    const client = await connectClient(topology.current());
    clients.push(client);
    return new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, l1: false, earlyRefreshBeta: 0 });
  }

  /**
   * Instance A's first read loads version 1 slowly; B writes version 2 meanwhile; then A's second
   * read starts (`second` builds it from the first read's promise and A's cache). Returns both answers.
   */
  async function race(second: (first: Promise<CacheRead<Product>>, read: () => Promise<CacheRead<Product>>) => Promise<CacheRead<Product>>): Promise<[CacheRead<Product>, CacheRead<Product>]> {
    const keys = freshKeys(topology.current());
    const [a, b] = [await cache(keys), await cache(keys)];
    const key = keys.product(5);
    let origin = 1;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const loading = new Promise<void>((resolve) => (started = resolve));
    const load = async (): Promise<{ value: Product; version: number }> => {
      const version = origin;
      if (version === 1) {
        started();
        await released;
      }
      return { value: { id: 5, version }, version };
    };
    const read = (): Promise<CacheRead<Product>> => a.get<Product>(key, TtlClass.PRODUCT, load);

    const first = read();
    await loading;
    // B commits version 2 and leaves its tombstone: then its 2xx.
    origin = 2;
    expect(await b.tombstone(key, 2)).toBe(true);
    const joined = second(first, read);
    release();
    return [await first, await joined];
  }

  test('the joined read reads again once the fill is refused, and gets the write', async () => {
    const [first, joined] = await race((_first, read) => read());
    // The read that started the load began before the write: its answer is within the bounds.
    expect(first.version).toBe(1);
    expect({ source: joined.source, version: joined.version }).toEqual({ source: 'origin', version: 2 });
  });

  test('naive: sharing the load, the read that began after the 2xx answers version 1 from the origin', async () => {
    const [, joined] = await race((first) => first);
    expect({ source: joined.source, version: joined.version }).toEqual({ source: 'origin', version: 1 });
  });
});
