/**
 * Resharding under load: a new master takes a third of the slots live (SETSLOT IMPORTING/MIGRATING,
 * MIGRATE of every key, SETSLOT NODE — clients meet MOVED and ASK), then it is removed after its
 * slots move back. Meanwhile three API processes read, write and purge by tag and by pattern; the
 * checker's verdicts: no failed request, no stale answer beyond the bounds, every write visible,
 * and no key of a purged tag or pattern left on any master — including keys that were migrating.
 */
import type { RedisClusterNode } from '../support/servers';
import { ClusterEnvironment, runScenario, startEnvironment, summary } from './support/scenario';

/**
 * No replicaAcks here: the master the harness adds has no replica, so WAIT 1 on its slots could never
 * be acknowledged; no failover happens in these tests, so nothing acknowledged can be lost.
 */
const LOAD = { replicaAcks: undefined };

describe('resharding under load', () => {
  let env: ClusterEnvironment;
  let added: RedisClusterNode | undefined;

  beforeAll(async () => {
    env = await startEnvironment();
  }, 120_000);

  afterAll(async () => {
    await env?.stop();
  });

  test('migrating a third of the slots to a new master fails no request and leaves no purged key behind', async () => {
    let moved = 0;
    const { verdict } = await runScenario(env, {
      steadyMs: 3_000,
      afterMs: 2_000,
      load: LOAD,
      operation: async () => {
        const { node, report } = await env.operator.addMasterAndReshard(1 / 3, { batchSize: 16 });
        added = node;
        moved = report.slots;
      },
    });
    expect(moved).toBeGreaterThan(5_000);
    expect(summary(verdict)).toMatchObject({ failed: [], stale: [], incompletePurges: [], invisibleWrites: [] });
    expect(verdict.purges).toBeGreaterThan(2);
    expect(verdict.pagesChecked).toBeGreaterThan(0);
  }, 120_000);

  test('removing that master after moving its slots away fails no request and leaves no purged key behind', async () => {
    if (!added) throw new Error('the previous test did not add a master');
    const master = added;
    const { verdict } = await runScenario(env, { steadyMs: 2_000, afterMs: 2_000, load: LOAD, operation: () => env.operator.removeMaster(master, { batchSize: 16 }) });
    expect(await env.operator.masters()).toHaveLength(3);
    expect(summary(verdict)).toMatchObject({ failed: [], stale: [], incompletePurges: [], invisibleWrites: [] });
  }, 120_000);
});
