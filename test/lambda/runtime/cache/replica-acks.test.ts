/**
 * `replicaAcks`: a tombstone or write-through counts as durable only when a replica of the master
 * that ran it acknowledged it. `WAIT` speaks for the writes of its own connection to its own node, so
 * it must go where the write went. The naive sequence — the script through the cluster client, then
 * `WAIT` on the master the client's slot map names — breaks while a slot migrates: the source answers
 * `ASK` for a key it no longer holds, the cluster client runs the script on the importing master
 * (without changing its slot map), and the `WAIT` then goes to the source, whose healthy replica
 * answers "1" for a write that only the importing master has. If that master fails before its
 * replica catches up, the acknowledged tombstone is lost. `CacheClient.evalAndWait` sends the script
 * and `WAIT` in one pipeline on one connection, following `MOVED`/`ASK` with both.
 *
 * A real cluster of 3 masters with 1 replica each; one slot is put mid-migration (its keys already
 * moved); the importing master's replica is stopped (SIGSTOP: its link stays up, so its master still counts it as connected,
 * but it acknowledges nothing), as a replica that lags or hangs.
 */
import { CacheUnavailableError } from '../../../../lambda/runtime/errors';
import { CacheClient, encodeEnvelope, hashSlot, ReadThroughCache } from '../../../../lambda/runtime/cache';
import { TOMBSTONE } from '../../../../lambda/runtime/cache/scripts';
import { CacheKeys } from '../../../../lambda/runtime/keys';
import { DEFAULT_TTL_SECONDS } from '../../../../lambda/runtime/ttl';
import { ClusterOperator } from '../../../support/cluster-operations';
import { RedisCluster, RedisClusterNode } from '../../../support/servers';

const ACKS = { replicas: 1, timeoutMs: 300 };

describe('replicaAcks: the WAIT goes where the write went', () => {
  let cluster: RedisCluster;
  let operator: ClusterOperator;
  let run = 0;

  beforeAll(async () => {
    cluster = await RedisCluster.start({ replicasPerMaster: 1 });
    operator = new ClusterOperator(cluster);
    await operator.waitUntilConverged();
  }, 120_000);

  afterAll(async () => {
    operator?.close();
    await cluster?.stop();
  });

  function replicationOffsets(master: RedisClusterNode): { master: number; replicaAcked: number } {
    const info = master.cli('INFO', 'replication');
    return { master: Number(/master_repl_offset:(\d+)/.exec(info)![1]), replicaAcked: Number(/slave0:.*offset=(\d+)/.exec(info)![1]) };
  }

  /**
   * A fresh client and key; the key's slot mid-migration from its master to another (the key on
   * neither: the source answers ASK), the importing master's replica stopped while `body` runs.
   */
  async function duringMigration<T>(body: (client: CacheClient, key: string, keys: CacheKeys) => Promise<T>): Promise<{ result: T; importing: { master: number; replicaAcked: number } }> {
    run += 1;
    const keys = new CacheKeys({ namespace: `acks${run}`, clusterMode: true });
    const key = keys.product(1);
    const slot = hashSlot(key);
    const source = cluster.masterFor(key);
    const target = (await operator.masters()).find((n) => n.port !== source.port)!;
    const targetReplica = await operator.replicaOf(target);
    const [sourceId, targetId] = await Promise.all([operator.nodeId(source), operator.nodeId(target)]);
    const client = CacheClient.connect({ clusterNodes: cluster.startupNodes, commandTimeoutMs: 2_000, connectTimeoutMs: 2_000 });
    let failure: Error | undefined;
    try {
      expect(await client.ready(30_000)).toBe(true);
      // The key and its lock exist and have already moved: the source answers ASK for them, the target
      // runs the script (a script over keys of which some are missing there would get TRYAGAIN).
      for (const name of [key, keys.lock(key)]) await operator.call(source, 'SET', name, 'old', 'PX', 60_000);
      await operator.call(target, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', sourceId);
      await operator.call(source, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', targetId);
      // Every key of the slot moves, an earlier test's tombstone too (the tests share the slot of
      // {product:1}): a source that still holds a key of the slot refuses SETSLOT NODE below, unless
      // the target's claim reached it by gossip first (it then drops the key) — a race of the harness.
      const inSlot = (await operator.call(source, 'CLUSTER', 'GETKEYSINSLOT', slot, 1_000)) as string[];
      await operator.call(source, 'MIGRATE', target.host, target.port, '', 0, 10_000, 'KEYS', ...inSlot);
      await waitUntil(() => {
        const offsets = replicationOffsets(target);
        return offsets.replicaAcked === offsets.master;
      });
      targetReplica.pause();
      try {
        const result = await body(client, key, keys);
        return { result, importing: replicationOffsets(target) };
      } finally {
        targetReplica.resume();
        // The keys moved: the slot goes to the target, as a finished migration would.
        for (const node of [target, source]) await operator.call(node, 'CLUSTER', 'SETSLOT', slot, 'NODE', targetId);
      }
    } catch (error) {
      failure = error as Error;
      throw error;
    } finally {
      await client.quit();
      // The cluster must settle for the next test; a failure above stays the one reported.
      await operator.waitUntilConverged().catch((error: Error) => {
        if (failure === undefined) throw error;
        throw new Error(`${failure.message} (then: ${error.message})`, { cause: failure });
      });
    }
  }

  function tombstoneArgs(version: number): (string | number)[] {
    return [encodeEnvelope({ v: null, s: Date.now(), x: 0, ver: version, t: 1 }), 10_000, version];
  }

  test('naive: the script through the cluster client, then WAIT on the slot map’s master, reports a replica for a write no replica has', async () => {
    const { result, importing } = await duringMigration(async (client, key, keys) => {
      const reply = await client.eval(TOMBSTONE, [key, keys.lock(key)], tombstoneArgs(2));
      return { reply, acked: await client.waitForReplicas(key, ACKS.replicas, ACKS.timeoutMs) };
    });
    // The importing master ran the write; its only replica has not acknowledged it.
    expect(importing.replicaAcked).toBeLessThan(importing.master);
    expect(result).toEqual({ reply: 1, acked: 1 });
  }, 120_000);

  test('evalAndWait follows the ASK with the WAIT and reports 0 replicas', async () => {
    const { result, importing } = await duringMigration((client, key, keys) => client.evalAndWait(TOMBSTONE, [key, keys.lock(key)], tombstoneArgs(2), ACKS.replicas, ACKS.timeoutMs));
    expect(importing.replicaAcked).toBeLessThan(importing.master);
    expect(result).toEqual({ reply: 1, acked: 0 });
  }, 120_000);

  test('the product counts such a tombstone as not durable: tombstone() throws, so the write path hands the key to the purge pipeline', async () => {
    const { result } = await duringMigration(async (client, key, keys) => {
      const cache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, l1: false, replicaAcks: ACKS });
      return cache.tombstone(key, 2).then(
        (stored) => ({ stored, error: undefined }),
        (error: Error) => ({ stored: undefined, error }),
      );
    });
    expect(result.error).toBeInstanceOf(CacheUnavailableError);
    expect(result.error?.message).toMatch(/reached 0 of 1 replica/);
  }, 120_000);

  test('with every replica running, the tombstone is acknowledged and counts as durable', async () => {
    const keys = new CacheKeys({ namespace: 'acks-ok', clusterMode: true });
    const client = CacheClient.connect({ clusterNodes: cluster.startupNodes, commandTimeoutMs: 2_000, connectTimeoutMs: 2_000 });
    try {
      expect(await client.ready(30_000)).toBe(true);
      const cache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, l1: false, replicaAcks: { replicas: 1, timeoutMs: 10_000 } });
      expect(await cache.tombstone(keys.product(1), 2)).toBe(true);
    } finally {
      await client.quit();
    }
  }, 120_000);
});

async function waitUntil(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the replica to catch up');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
