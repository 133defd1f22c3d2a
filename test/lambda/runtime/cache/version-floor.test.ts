/**
 * A writer reads its own write even when its tombstone could not reach Redis (a failover: the
 * command failed or timed out, and Redis still holds the value the write replaced). The naive cache
 * (versionFloorMs: 0) serves the old version back to the very process that wrote the new one.
 */
import { CacheClient, decodeEnvelope, LuaScript, ReadThroughCache } from '../../../../lambda/runtime/cache';
import { CacheUnavailableError } from '../../../../lambda/runtime/errors';
import { DEFAULT_TTL_SECONDS, TtlClass } from '../../../../lambda/runtime/ttl';
import { describeEachTopology } from '../../../support/topologies';
import { connectClient, freshKeys } from './support';

/** A client whose next tombstone fails as during a failover (the redirect or the timeout lost it). */
class FailoverDuringTombstone extends CacheClient {
  failNextTombstone = false;

  override async eval(script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    if (this.failNextTombstone && script.name === 'cache_tombstone') {
      this.failNextTombstone = false;
      throw new CacheUnavailableError('cache EVAL cache_tombstone failed: CLUSTERDOWN The cluster is down');
    }
    return super.eval(script, keys, args);
  }
}

describeEachTopology('version floor after a write that could not reach Redis', (topology) => {
  const clients: CacheClient[] = [];

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit()));
  });

  async function scenario(versionFloorMs: number | undefined): Promise<{ read: number; stored: number | undefined }> {
    const connected = await connectClient(topology.current());
    clients.push(connected);
    const client = new FailoverDuringTombstone(connected.redis, { commandTimeoutMs: connected.commandTimeoutMs });
    const keys = freshKeys(topology.current());
    const cache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, earlyRefreshBeta: 0, versionFloorMs });
    const key = keys.product(7);
    let committed = 1;
    const load = async () => ({ value: { id: 7, version: committed }, version: committed });

    expect((await cache.get(key, TtlClass.PRODUCT, load)).version).toBe(1);
    committed = 2;
    client.failNextTombstone = true;
    await expect(cache.tombstone(key, 2)).rejects.toThrow(CacheUnavailableError);

    const read = await cache.get(key, TtlClass.PRODUCT, load);
    await cache.drain();
    return { read: read.version!, stored: decodeEnvelope(await connected.get(key))?.ver };
  }

  test('the writer reads the version it wrote, and stores it over the old one in Redis', async () => {
    expect(await scenario(undefined)).toEqual({ read: 2, stored: 2 });
  });

  test('naive: without the floor the writer is served the version its write replaced', async () => {
    expect(await scenario(0)).toEqual({ read: 1, stored: 1 });
  });

  test('a negative floor is refused with the option name', () => {
    expect(() => new ReadThroughCache({ keys: freshKeys(topology.current()), ttls: DEFAULT_TTL_SECONDS, versionFloorMs: -1 })).toThrow(/versionFloorMs must be a non-negative/);
  });
});
