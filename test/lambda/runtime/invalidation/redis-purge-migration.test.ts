/**
 * A pattern purge while slots migrate: the keys of a slot move (MIGRATE) from a master the purge has
 * not scanned yet to one it has already scanned. The naive pass (verifyTopology: false) leaves them
 * behind; the purge that checks the slot layout before and after its pass scans again and removes
 * them. The keys are those a purge's second pass is for (pages whose fills landed behind the first
 * pass, RedisPurgeOptions.fillWindowMs), so the migration meets the pass that has to find them.
 */
import Redis, { Cluster } from 'ioredis';
import { hashSlot } from '../../../../lambda/runtime/cache';
import { purgeRedis } from '../../../../lambda/runtime/invalidation/redis-purge';
import { CacheKeys } from '../../../../lambda/runtime/keys';
import { ClusterOperator } from '../../../support/cluster-operations';
import { RedisCluster, RedisClusterNode } from '../../../support/servers';

describe('pattern purge while slots migrate', () => {
  let cluster: RedisCluster;
  let operator: ClusterOperator;
  let redis: Cluster;
  let run = 0;

  beforeAll(async () => {
    cluster = await RedisCluster.start();
    operator = new ClusterOperator(cluster);
    await operator.waitUntilConverged();
    redis = new Cluster(cluster.startupNodes, { maxRedirections: 32 });
    await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
  }, 60_000);

  afterAll(async () => {
    redis?.disconnect();
    operator?.close();
    await cluster?.stop();
  });

  /**
   * Purges a pattern; behind its first pass, 20 keys are written into one slot served by the master
   * the purge scans last; as soon as the second pass has finished scanning its first master, that slot
   * migrates to it.
   */
  async function purgeDuringMigration(verifyTopology: boolean): Promise<{ survivors: string[]; unlinked: number }> {
    run += 1;
    const keys = new CacheKeys({ namespace: `mig${run}`, clusterMode: true });
    const nodeOf = (client: Redis): RedisClusterNode => cluster.nodes.find((n) => n.port === client.options.port)!;
    const order = redis.nodes('master').sort((a, b) => (`${a.options.host}:${a.options.port}` < `${b.options.host}:${b.options.port}` ? -1 : 1));
    const [first, , last] = order;
    const lastSlots = await operator.slotsOf(nodeOf(last));
    const identity = Array.from({ length: 5000 }, (_, i) => `products:list:c${i}`).find((id) => lastSlots.includes(hashSlot(`{${id}}`)))!;
    const slot = hashSlot(`{${identity}}`);
    const written = Array.from({ length: 20 }, (_, i) => `${keys.prefix}{${identity}}:p${i}`);
    let landed = false;
    // Fills that began before the purge land behind its first pass, while it waits for the second.
    const sleep = async (): Promise<void> => {
      for (const key of written) await redis.set(key, 'old page', 'PX', 600_000);
      landed = true;
    };

    const scan = first.scan.bind(first);
    let migrated = false;
    // The interleaving the race needs, forced: the slot moves right after the first master's scan ends.
    first.scan = (async (...args: Parameters<Redis['scan']>) => {
      const reply = await scan(...args);
      if (reply[0] === '0' && landed && !migrated) {
        migrated = true;
        await operator.migrateSlots(nodeOf(last), nodeOf(first), [slot]);
      }
      return reply;
    }) as Redis['scan'];
    try {
      const result = await purgeRedis(
        { keys: [], scans: [{ pattern: `${keys.prefix}{products:list:*`, cursors: {}, finished: [] }] },
        { redis, cacheKeys: keys, now: Date.now, deadline: Infinity, verifyTopology, sleep },
      );
      expect(migrated).toBe(true);
      const survivors = [...(await operator.scanMasters(`${keys.prefix}*`)).keys()];
      return { survivors, unlinked: result.unlinked };
    } finally {
      first.scan = scan;
      await operator.migrateSlots(nodeOf(first), nodeOf(last), [slot]);
      await operator.waitUntilConverged();
    }
  }

  test('a purge that checks the slot layout scans again and leaves no key behind', async () => {
    const { survivors, unlinked } = await purgeDuringMigration(true);
    expect(survivors).toEqual([]);
    expect(unlinked).toBe(20);
  }, 60_000);

  test('naive: a pass that does not check the layout leaves the migrated keys on the master it had already scanned', async () => {
    const { survivors, unlinked } = await purgeDuringMigration(false);
    expect(survivors).toHaveLength(20);
    expect(unlinked).toBe(0);
  }, 60_000);
});
