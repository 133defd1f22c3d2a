import { encodeEnvelope, LocalCache } from '../../../../lambda/runtime/cache';
import type { Envelope } from '../../../../lambda/runtime/cache';

function entry(value: unknown): { entry: Envelope; bytes: number } {
  const e: Envelope = { f: 1, v: value, s: 0, x: 1e15 };
  return { entry: e, bytes: Buffer.byteLength(encodeEnvelope(e)) };
}

describe('LocalCache (L1)', () => {
  test('deleteWhere removes exactly the entries its predicate holds for', () => {
    const cache = new LocalCache({ maxBytes: 4_096, ttlSeconds: 60 });
    const tagged = (tags: string[]): Envelope => ({ f: 1, v: 1, s: 0, x: 1e15, g: tags, e: 1 });
    cache.set('a', tagged(['product:1', 'all']), 50, 60_000);
    cache.set('b', tagged(['product:2']), 50, 60_000);
    cache.set('c', entry(1).entry, 50, 60_000);
    expect(cache.deleteWhere((e) => e.g?.includes('product:1') ?? false)).toBe(1);
    expect([cache.get('a'), cache.get('b')?.v, cache.get('c')?.v]).toEqual([undefined, 1, 1]);
  });

  test('stays within its byte budget by evicting the least recently used entries', () => {
    const cache = new LocalCache({ maxBytes: 4_096, ttlSeconds: 60 });
    const big = 'x'.repeat(900);
    for (let i = 0; i < 10; i++) {
      const { entry: e, bytes } = entry(big);
      cache.set(`k${i}`, e, bytes, 60_000);
      expect(cache.sizeBytes).toBeLessThanOrEqual(4_096);
    }
    expect(cache.entryCount).toBeLessThan(10);
    expect(cache.get('k9')?.v).toBe(big);
    expect(cache.get('k0')).toBeUndefined();
  });

  test('does not hold an entry larger than the whole budget', () => {
    const cache = new LocalCache({ maxBytes: 1_000, ttlSeconds: 60 });
    const { entry: e, bytes } = entry('y'.repeat(2_000));
    cache.set('huge', e, bytes, 60_000);
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.sizeBytes).toBe(0);
  });

  test('expires entries after its TTL even when asked for longer', () => {
    let now = 1_000;
    const cache = new LocalCache({ maxBytes: 10_000, ttlSeconds: 5, clock: () => now });
    const { entry: e, bytes } = entry('v');
    cache.set('k', e, bytes, 3_600_000);
    now += 4_999;
    expect(cache.get('k')?.v).toBe('v');
    now += 2;
    expect(cache.get('k')).toBeUndefined();
  });

  test('expires an entry earlier when asked for less than its TTL', () => {
    let now = 5_000;
    const cache = new LocalCache({ maxBytes: 10_000, ttlSeconds: 60, clock: () => now });
    const { entry: e, bytes } = entry('v');
    cache.set('k', e, bytes, 1_000);
    now += 1_001;
    expect(cache.get('k')).toBeUndefined();
  });

  test('clears one key or all of them', () => {
    const cache = new LocalCache({ maxBytes: 10_000, ttlSeconds: 60 });
    for (const key of ['a', 'b', 'c']) cache.set(key, entry(key).entry, 10, 60_000);
    cache.delete('b');
    expect([cache.get('a')?.v, cache.get('b'), cache.get('c')?.v]).toEqual(['a', undefined, 'c']);
    cache.clear();
    expect(cache.entryCount).toBe(0);
  });

  test.each([
    [{ maxBytes: 0, ttlSeconds: 10 }, 'l1.maxBytes must be a positive integer, got 0'],
    [{ maxBytes: 100, ttlSeconds: 61 }, 'l1.ttlSeconds must be greater than 0 and at most 60, got 61'],
    [{ maxBytes: 100, ttlSeconds: 0 }, 'l1.ttlSeconds must be greater than 0 and at most 60, got 0'],
  ])('rejects %j', (options, message) => {
    expect(() => new LocalCache(options)).toThrow(message);
  });

  test('accounts each entry as its JSON bytes plus its key in UTF-8 plus 64 bytes of bookkeeping', () => {
    const cache = new LocalCache({ maxBytes: 10_000, ttlSeconds: 60 });
    cache.set('ké', entry(1).entry, 100, 60_000);
    expect(cache.sizeBytes).toBe(100 + 3 + 64);
    cache.set('k2', entry(2).entry, 10, 60_000);
    expect(cache.sizeBytes).toBe(100 + 3 + 64 + 10 + 2 + 64);
    expect(cache.entryCount).toBe(2);
    expect(cache.maxBytes).toBe(10_000);
    expect(cache.ttlMs).toBe(60_000);
  });

  test('holds an entry of exactly the whole budget; one byte more replaces nothing and drops the old value', () => {
    const cache = new LocalCache({ maxBytes: 200, ttlSeconds: 60 });
    cache.set('k', entry('old').entry, 200 - 1 - 64, 60_000);
    expect(cache.get('k')?.v).toBe('old');
    cache.set('k', entry('new').entry, 200 - 1 - 64 + 1, 60_000);
    // A value too large to hold must not leave the older one readable.
    expect(cache.get('k')).toBeUndefined();
  });

  test('does not hold an entry asked for less than 1 ms, and rounds the TTL down', () => {
    let now = 1_000;
    const cache = new LocalCache({ maxBytes: 10_000, ttlSeconds: 60, clock: () => now });
    cache.set('zero', entry(0).entry, 10, 0);
    cache.set('fraction', entry(0).entry, 10, 0.9);
    expect(cache.entryCount).toBe(0);
    cache.set('one', entry(1).entry, 10, 1);
    expect(cache.get('one')?.v).toBe(1);
    cache.set('k', entry('v').entry, 10, 1_000.9);
    now = 2_000;
    expect(cache.get('k')?.v).toBe('v');
    // 1 000.5 ms later: past the 1 000 ms it holds, though short of the 1 000.9 asked for.
    now = 2_000.5;
    expect(cache.get('k')).toBeUndefined();
  });

  test('an entry read keeps its expiry (reads do not extend it)', () => {
    let now = 1_000;
    const cache = new LocalCache({ maxBytes: 10_000, ttlSeconds: 10, clock: () => now });
    cache.set('k', entry('v').entry, 10, 10_000);
    now = 10_000;
    expect(cache.get('k')?.v).toBe('v');
    now = 11_001;
    expect(cache.get('k')).toBeUndefined();
  });

  test.each([
    [{ maxBytes: 1.5, ttlSeconds: 10 }, 'l1.maxBytes must be a positive integer, got 1.5'],
    [{ maxBytes: -1, ttlSeconds: 10 }, 'l1.maxBytes must be a positive integer, got -1'],
    [{ maxBytes: 100, ttlSeconds: Number.NaN }, 'l1.ttlSeconds must be greater than 0 and at most 60, got NaN'],
  ])('rejects %j as well', (options, message) => {
    expect(() => new LocalCache(options)).toThrow(message);
  });

  test('takes a maxBytes of 1 and a TTL of exactly 60 s', () => {
    expect(new LocalCache({ maxBytes: 1, ttlSeconds: 60 }).ttlMs).toBe(60_000);
    expect(new LocalCache({ maxBytes: 1, ttlSeconds: 0.5 }).ttlMs).toBe(500);
  });
});
