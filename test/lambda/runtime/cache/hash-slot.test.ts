import { hashSlot, hashTagOf } from '../../../../lambda/runtime/cache';
import { RedisCluster } from '../../../support/servers';

describe('hashSlot', () => {
  test('is CRC16/XMODEM modulo 16384, as in the cluster specification (CRC16("123456789") = 0x31C3)', () => {
    expect(hashSlot('123456789')).toBe(0x31c3);
  });

  test.each([
    ['{user1000}.following', 'user1000'],
    ['foo{}{bar}', 'foo{}{bar}'],
    ['foo{{bar}}zap', '{bar'],
    ['foo{bar}{zap}', 'bar'],
    ['app:v1:{product:42}:lock', 'product:42'],
    ['no-tag', 'no-tag'],
    ['open{only', 'open{only'],
  ])('hashes %s by %s', (key, tag) => {
    expect(hashTagOf(key)).toBe(tag);
    expect(hashSlot(key)).toBe(hashSlot(tag));
  });

});

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
