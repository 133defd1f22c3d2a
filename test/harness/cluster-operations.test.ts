/**
 * The operator's cluster operations of the harness (test/support/cluster-operations.ts) on a
 * cluster of 3 masters with 1 replica each: every operation leaves a converged cluster that still
 * serves every key it held, through a client that follows the new topology.
 */
import { Cluster } from 'ioredis';
import { ClusterOperator, SLOT_COUNT } from '../support/cluster-operations';
import { RedisCluster } from '../support/servers';

const KEYS = Array.from({ length: 600 }, (_, i) => `harness:{k${i}}`);

describe('cluster operations of the test harness', () => {
  let cluster: RedisCluster;
  let operator: ClusterOperator;
  let client: Cluster;

  beforeAll(async () => {
    cluster = await RedisCluster.start({ replicasPerMaster: 1 });
    operator = new ClusterOperator(cluster);
    await operator.waitUntilConverged();
    client = new Cluster(cluster.startupNodes, { maxRedirections: 32, retryDelayOnFailover: 200, retryDelayOnClusterDown: 200 });
    for (const key of KEYS) await client.set(key, `value of ${key}`);
  }, 120_000);

  afterAll(async () => {
    client?.disconnect();
    operator?.close();
    await cluster?.stop();
  });

  async function expectEveryKey(): Promise<void> {
    await client.refreshSlotsCache?.();
    const values = await Promise.all(KEYS.map((key) => client.get(key)));
    expect(values).toEqual(KEYS.map((key) => `value of ${key}`));
  }

  test('the cluster starts with 3 masters, each with a replica linked to it', async () => {
    const masters = await operator.masters();
    expect(masters).toHaveLength(3);
    for (const master of masters) expect((await operator.replicaOf(master)).port).not.toBe(master.port);
    expect(operator.running()).toHaveLength(6);
  });

  test('a planned failover (CLUSTER FAILOVER on the replica) swaps the roles and keeps every key', async () => {
    const [master] = await operator.masters();
    const slots = await operator.slotsOf(master);
    const promoted = await operator.plannedFailover(master);
    expect(await operator.slotsOf(promoted)).toEqual(slots);
    expect(String(await operator.call(master, 'ROLE'))).toMatch(/^slave/);
    await expectEveryKey();
  }, 90_000);

  test('an unplanned failover (SIGKILL of a master) promotes its replica; the killed node rejoins as a replica', async () => {
    const master = (await operator.masters())[1];
    const slots = await operator.slotsOf(master);
    const promoted = await operator.killMaster(master);
    expect(master.pid).toBeUndefined();
    expect(await operator.slotsOf(promoted)).toEqual(slots);
    await expectEveryKey();
    await operator.rejoin(master);
    expect(String(await operator.call(master, 'ROLE'))).toMatch(/^slave/);
    expect((await operator.replicaOf(promoted)).port).toBe(master.port);
  }, 90_000);

  test('a new master takes a third of the slots live, then is removed after its slots move back', async () => {
    const { node, report } = await operator.addMasterAndReshard(1 / 3);
    expect(report.slots).toBeGreaterThanOrEqual(Math.floor(SLOT_COUNT / 3) - 3);
    expect(await operator.slotsOf(node)).toHaveLength(report.slots);
    expect(report.keysMoved).toBeGreaterThan(0);
    expect(await operator.masters()).toHaveLength(4);
    await expectEveryKey();

    const removal = await operator.removeMaster(node);
    expect(removal.slots).toBe(report.slots);
    expect(node.pid).toBeUndefined();
    expect(await operator.masters()).toHaveLength(3);
    await expectEveryKey();
  }, 120_000);
});
