import { encodeEnvelope, LocalCache } from '../../../../lambda/runtime/cache';
import type { Envelope } from '../../../../lambda/runtime/cache';
import { attachBytes, DECODED_BYTES_PER_JSON_CHAR } from '../../../../lambda/runtime/cache/heap-size';
import { L1_ENTRY_OVERHEAD_BYTES } from '../../../../lambda/runtime/cache/local-cache';

function entry(value: unknown): { entry: Envelope; raw: string } {
  const e: Envelope = { f: 1, v: value, s: 0, x: 1e15 };
  return { entry: e, raw: encodeEnvelope(e) };
}

describe('LocalCache (L1)', () => {
  test('deleteWhere removes exactly the entries its predicate holds for', () => {
    const cache = new LocalCache({ maxBytes: 4_096, ttlSeconds: 60 });
    const tagged = (tags: string[]): Envelope => ({ f: 1, v: 1, s: 0, x: 1e15, g: tags, e: 1 });
    cache.set('a', tagged(['product:1', 'all']), encodeEnvelope(tagged(['product:1', 'all'])), 60_000);
    cache.set('b', tagged(['product:2']), encodeEnvelope(tagged(['product:2'])), 60_000);
    cache.set('c', entry(1).entry, entry(1).raw, 60_000);
    expect(cache.deleteWhere((e) => e.g?.includes('product:1') ?? false)).toBe(1);
    expect([cache.get('a'), cache.get('b')?.v, cache.get('c')?.v]).toEqual([undefined, 1, 1]);
  });

  test('stays within its byte budget by evicting the least recently used entries', () => {
    const cache = new LocalCache({ maxBytes: 8_192, ttlSeconds: 60 });
    const big = 'x'.repeat(900);
    for (let i = 0; i < 10; i++) {
      const { entry: e, raw } = entry(big);
      cache.set(`k${i}`, e, raw, 60_000);
      expect(cache.sizeBytes).toBeLessThanOrEqual(8_192);
    }
    expect(cache.entryCount).toBeLessThan(10);
    expect(cache.get('k9')?.v).toBe(big);
    expect(cache.get('k0')).toBeUndefined();
  });

  test('does not hold an entry larger than the whole budget', () => {
    const cache = new LocalCache({ maxBytes: 1_000, ttlSeconds: 60 });
    const { entry: e, raw } = entry('y'.repeat(2_000));
    cache.set('huge', e, raw, 60_000);
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.sizeBytes).toBe(0);
  });

  test('expires entries after its TTL even when asked for longer', () => {
    let now = 1_000;
    const cache = new LocalCache({ maxBytes: 10_000, ttlSeconds: 5, clock: () => now });
    const { entry: e, raw } = entry('v');
    cache.set('k', e, raw, 3_600_000);
    now += 4_999;
    expect(cache.get('k')?.v).toBe('v');
    now += 2;
    expect(cache.get('k')).toBeUndefined();
  });

  test('expires an entry earlier when asked for less than its TTL', () => {
    let now = 5_000;
    const cache = new LocalCache({ maxBytes: 10_000, ttlSeconds: 60, clock: () => now });
    const { entry: e, raw } = entry('v');
    cache.set('k', e, raw, 1_000);
    now += 1_001;
    expect(cache.get('k')).toBeUndefined();
  });

  test('clears one key or all of them', () => {
    const cache = new LocalCache({ maxBytes: 10_000, ttlSeconds: 60 });
    for (const key of ['a', 'b', 'c']) cache.set(key, entry(key).entry, entry(key).raw, 60_000);
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

  describe('size of an entry (what it keeps alive in the heap)', () => {
    test('is the fixed overhead, two bytes per character of the key, and DECODED_BYTES_PER_JSON_CHAR per character of an ASCII JSON', () => {
      const cache = new LocalCache({ maxBytes: 1_000_000, ttlSeconds: 60 });
      const { entry: e, raw } = entry({ name: 'plain ascii' });
      cache.set('key-1', e, raw, 60_000);
      expect(cache.sizeBytes).toBe(L1_ENTRY_OVERHEAD_BYTES + 2 * 'key-1'.length + DECODED_BYTES_PER_JSON_CHAR * raw.length);
    });

    test('counts two bytes per character once the JSON is not ASCII (V8 keeps it, and the strings decoded from it, two-byte)', () => {
      const ascii = new LocalCache({ maxBytes: 1_000_000, ttlSeconds: 60 });
      const wide = new LocalCache({ maxBytes: 1_000_000, ttlSeconds: 60 });
      const plain = entry('u'.repeat(1_000));
      const accented = entry(`${'u'.repeat(999)}ü`);
      expect(accented.raw.length).toBe(plain.raw.length);
      ascii.set('k', plain.entry, plain.raw, 60_000);
      wide.set('k', accented.entry, accented.raw, 60_000);
      expect(wide.sizeBytes - ascii.sizeBytes).toBe(DECODED_BYTES_PER_JSON_CHAR * plain.raw.length);
    });

    test('includes the bytes attached to its value, whether attached before the entry was set or after', () => {
      const cache = new LocalCache({ maxBytes: 1_000_000, ttlSeconds: 60 });
      const early = entry({ id: 1 });
      const late = entry({ id: 2 });
      attachBytes(early.entry.v, 500);
      cache.set('k1', early.entry, early.raw, 60_000);
      const withEarly = cache.sizeBytes;
      cache.set('k2', late.entry, late.raw, 60_000);
      const bare = cache.sizeBytes - withEarly;
      expect(withEarly - bare).toBe(500);
      attachBytes(late.entry.v, 700);
      cache.recount('k2', late.entry.v);
      expect(cache.sizeBytes).toBe(2 * bare + 500 + 700);
      cache.recount('k2', late.entry.v);
      expect(cache.sizeBytes).toBe(2 * bare + 500 + 700);
    });

    test('recount replaces what was attached before (it does not add to it), and does nothing for a key not held', () => {
      const cache = new LocalCache({ maxBytes: 1_000_000, ttlSeconds: 60 });
      const held = entry({ id: 3 });
      const bare = new LocalCache({ maxBytes: 1_000_000, ttlSeconds: 60 });
      bare.set('k', entry({ id: 3 }).entry, held.raw, 60_000);
      attachBytes(held.entry.v, 500);
      cache.set('k', held.entry, held.raw, 60_000);
      expect(cache.sizeBytes).toBe(bare.sizeBytes + 500);
      attachBytes(held.entry.v, 700);
      cache.recount('k', held.entry.v);
      expect(cache.sizeBytes).toBe(bare.sizeBytes + 700);
      cache.recount('missing', held.entry.v);
      expect([cache.sizeBytes, cache.entryCount]).toEqual([bare.sizeBytes + 700, 1]);
    });

    test('recount leaves alone an entry that holds another value, and keeps the TTL of the one it changes', () => {
      let now = 1_000;
      const cache = new LocalCache({ maxBytes: 1_000_000, ttlSeconds: 10, clock: () => now });
      const held = entry({ id: 1 });
      const other = entry({ id: 1 });
      cache.set('k', held.entry, held.raw, 10_000);
      const before = cache.sizeBytes;
      attachBytes(other.entry.v, 900);
      cache.recount('k', other.entry.v);
      expect(cache.sizeBytes).toBe(before);
      now += 9_000;
      attachBytes(held.entry.v, 900);
      cache.recount('k', held.entry.v);
      expect(cache.sizeBytes).toBe(before + 900);
      now += 1_001;
      expect(cache.get('k')).toBeUndefined();
    });

    test('an entry whose attached bytes grow past the whole budget is dropped', () => {
      const cache = new LocalCache({ maxBytes: 2_000, ttlSeconds: 60 });
      const { entry: e, raw } = entry({ id: 1 });
      cache.set('k', e, raw, 60_000);
      attachBytes(e.v, 2_000);
      cache.recount('k', e.v);
      expect([cache.get('k'), cache.sizeBytes]).toEqual([undefined, 0]);
    });
  });

  test('holds an entry of exactly the whole budget; one byte more replaces nothing and drops the old value', () => {
    const fits = L1_ENTRY_OVERHEAD_BYTES + 2 * 'k'.length + DECODED_BYTES_PER_JSON_CHAR * 100;
    const exact = new LocalCache({ maxBytes: fits, ttlSeconds: 60 });
    exact.set('k', entry('new').entry, 'x'.repeat(100), 60_000);
    expect(exact.get('k')?.v).toBe('new');
    const short = new LocalCache({ maxBytes: fits - 1, ttlSeconds: 60 });
    short.set('k', entry('old').entry, 'x'.repeat(10), 60_000);
    expect(short.get('k')?.v).toBe('old');
    short.set('k', entry('new').entry, 'x'.repeat(100), 60_000);
    // A value too large to hold must not leave the older one readable.
    expect(short.get('k')).toBeUndefined();
  });

  test('does not hold an entry asked for less than 1 ms, and rounds the TTL down', () => {
    let now = 1_000;
    const cache = new LocalCache({ maxBytes: 10_000, ttlSeconds: 60, clock: () => now });
    cache.set('zero', entry(0).entry, 'x'.repeat(10), 0);
    cache.set('fraction', entry(0).entry, 'x'.repeat(10), 0.9);
    expect(cache.entryCount).toBe(0);
    cache.set('one', entry(1).entry, 'x'.repeat(10), 1);
    expect(cache.get('one')?.v).toBe(1);
    cache.set('k', entry('v').entry, 'x'.repeat(10), 1_000.9);
    now = 2_000;
    expect(cache.get('k')?.v).toBe('v');
    // 1 000.5 ms later: past the 1 000 ms it holds, though short of the 1 000.9 asked for.
    now = 2_000.5;
    expect(cache.get('k')).toBeUndefined();
  });

  test('an entry read keeps its expiry (reads do not extend it)', () => {
    let now = 1_000;
    const cache = new LocalCache({ maxBytes: 10_000, ttlSeconds: 10, clock: () => now });
    cache.set('k', entry('v').entry, 'x'.repeat(10), 10_000);
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
