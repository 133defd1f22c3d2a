// The server-free cases are in hash-slot.test.ts (which mutation testing runs); this one needs a cluster.
import { hashSlot } from '../../../../lambda/runtime/cache';
import { RedisCluster } from '../../../support/servers';

describe('hashSlot against a real cluster', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await RedisCluster.start();
  });
  afterAll(() => cluster.stop());

  test('agrees with CLUSTER KEYSLOT, including hash tags and non-ASCII keys', () => {
    const node = cluster.nodes[0];
    const keys = ['a', 'app:v1:{product:1}', 'app:v1:{user:99}:summary', 'ключ', 'naïve{tagé}x', '{}', 'x'.repeat(300)];
    for (const key of keys) expect(hashSlot(key)).toBe(Number(node.cli('CLUSTER', 'KEYSLOT', key)));
  });
});
