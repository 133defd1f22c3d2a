// Server-free: the agreement with a real cluster's CLUSTER KEYSLOT is in hash-slot-cluster.test.ts.
import { HASH_SLOTS, hashSlot, hashTagOf } from '../../../../lambda/runtime/cache/hash-slot';

describe('hashSlot', () => {
  test('is CRC16/XMODEM modulo 16384, as in the cluster specification (CRC16("123456789") = 0x31C3)', () => {
    expect(HASH_SLOTS).toBe(16384);
    expect(hashSlot('123456789')).toBe(0x31c3);
  });

  // Slots the Redis documentation gives for CLUSTER KEYSLOT; with the check value above they pin every
  // bit of the CRC table, the shift and the mask (a CRC over 16 bits would exceed 16383 here).
  test.each([
    ['somekey', 11058],
    ['foo', 12182],
    ['hello', 866],
    ['', 0],
  ])('puts %j in slot %d', (key, slot) => {
    expect(hashSlot(key)).toBe(slot);
  });

  test.each([
    ['{user1000}.following', 'user1000'],
    ['foo{}{bar}', 'foo{}{bar}'],
    ['foo{{bar}}zap', '{bar'],
    ['foo{bar}{zap}', 'bar'],
    ['app:v1:{product:42}:lock', 'product:42'],
    ['no-tag', 'no-tag'],
    ['open{only', 'open{only'],
    ['}x{y}', 'y'],
    ['a}{b}', 'b'],
    ['a}b', 'a}b'],
    ['x}{}', 'x}{}'],
    ['{a}', 'a'],
  ])('hashes %s by %s', (key, tag) => {
    expect(hashTagOf(key)).toBe(tag);
    expect(hashSlot(key)).toBe(hashSlot(tag));
  });

  test('every key lands in a slot in 0…16383', () => {
    for (let i = 0; i < 2000; i++) {
      const slot = hashSlot(`key:${i}`);
      expect(slot).toBeGreaterThanOrEqual(0);
      expect(slot).toBeLessThan(HASH_SLOTS);
    }
  });
});
