/**
 * What a product write's invalidation guarantees across an unplanned failover. Replication is
 * asynchronous: a master acknowledges the tombstone, dies before its replica received it, and the
 * promoted replica serves the old product to every process for its whole TTL (the naive test). With
 * `replicaAcks` (WAIT 1 after the tombstone and after each purge) the writer learns that the
 * tombstone is not on a replica, hands the key to the purge pipeline, and the pipeline's retry —
 * which succeeds only once a replica acknowledged it, i.e. on the new master after the failover —
 * removes the old product.
 */
import { Layer } from '../consistency/checker';
import { CacheClient, ReadThroughCache, TagIndex } from '../../lambda/runtime/cache';
import { LocalInvalidationPublisher } from '../../lambda/runtime/invalidation/publisher';
import { CacheKeys } from '../../lambda/runtime/keys';
import { DEFAULT_TTL_SECONDS, TtlClass } from '../../lambda/runtime/ttl';
import { ProductRepository } from '../../lambda/shop/repositories';
import { updateProduct } from '../../lambda/shop/write-path/product-writer';
import { RetryingPublisher } from './support/retrying-publisher';
import { ClusterEnvironment, startEnvironment } from './support/scenario';

const ACKS = { replicas: 1, timeoutMs: 500 };

describe('tombstones across an unplanned failover', () => {
  let env: ClusterEnvironment;
  let run = 0;

  beforeAll(async () => {
    env = await startEnvironment();
  }, 120_000);

  afterAll(async () => {
    await env?.stop();
  });

  /**
   * Caches product `id`, cuts the replica of its master off, writes the product (tombstone and purges
   * reach the master only), kills the master, resumes the replica (promoted), lets the killed node
   * rejoin, waits for the purge retries, and returns the version a new process then reads from Redis.
   */
  async function writeThenFailover(id: number, replicaAcks: typeof ACKS | undefined): Promise<{ layer: Layer; version: number; tombstoned: boolean }> {
    run += 1;
    const keys = new CacheKeys({ namespace: `dur${run}`, clusterMode: true });
    const client = CacheClient.connect({ clusterNodes: env.cluster.startupNodes, commandTimeoutMs: 2_000, connectTimeoutMs: 2_000 });
    let publisher: RetryingPublisher | undefined;
    try {
      await client.ready(30_000);
      const cache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, replicaAcks });
      const products = new ProductRepository(env.pool);
      const load = async () => {
        const found = await products.findById(id);
        return found && { value: found, version: found.version };
      };
      const before = await cache.get(keys.product(id), TtlClass.PRODUCT, load);
      expect(await client.waitForReplicas(keys.product(id), 1, 10_000)).toBe(1);

      const master = env.cluster.nodes.find((n) => n.port === env.cluster.masterFor(keys.product(id)).port)!;
      const replica = await env.operator.replicaOf(master);
      publisher = new RetryingPublisher(new LocalInvalidationPublisher({ redis: client.redis, cacheKeys: keys, replicaAcks }));
      const tagIndex = new TagIndex(client, keys, { staleTtlSeconds: cache.staleTtlSeconds });
      // The replica stops and its link is cut, so nothing written from now on reaches it (a paused
      // process alone would still find the master's stream in its socket buffer on resuming).
      replica.pause();
      await env.operator.call(master, 'CLIENT', 'KILL', 'TYPE', 'replica');
      let written;
      try {
        const current = before.value!;
        written = await updateProduct({ db: env.pool, cache, keys, tagIndex, publisher }, id, {
          name: current.name,
          description: current.description,
          priceCents: current.priceCents + 1,
          stock: current.stock,
          category: current.category,
          version: current.version,
        });
        // The replica named: paused past the node timeout, it is flagged failing and a lookup finds none.
        await env.operator.killMaster(master, { replica, afterKill: () => replica.resume() });
      } finally {
        replica.resume();
      }
      await env.operator.rejoin(master);
      await publisher.drain();

      const fresh = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, l1: false });
      const read = await fresh.get(keys.product(id), TtlClass.PRODUCT, load);
      expect(written.product.version).toBe(before.version! + 1);
      return { layer: read.source === 'redis' ? Layer.REDIS : Layer.ORIGIN, version: read.version!, tombstoned: written.invalidation.tombstoned };
    } finally {
      // A failure midway leaves the purge retrying; stopped, it no longer keeps Jest from exiting.
      publisher?.close();
      await client.quit();
    }
  }

  test('with replicaAcks the tombstone counts as failed, the purge is retried on the new master, and every process reads the write', async () => {
    const { version, tombstoned } = await writeThenFailover(11, ACKS);
    const { rows } = await env.pool.query<{ version: string }>('select version from products where id = 11');
    expect(tombstoned).toBe(false);
    expect(version).toBe(Number(rows[0].version));
  }, 120_000);

  test('naive: without WAIT the acknowledged tombstone is lost with the master and the old product is served from Redis', async () => {
    const { layer, version, tombstoned } = await writeThenFailover(12, undefined);
    const { rows } = await env.pool.query<{ version: string }>('select version from products where id = 12');
    expect(tombstoned).toBe(true);
    expect({ layer, version }).toEqual({ layer: Layer.REDIS, version: Number(rows[0].version) - 1 });
  }, 120_000);
});
