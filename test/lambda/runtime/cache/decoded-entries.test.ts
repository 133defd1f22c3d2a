/**
 * Reuse of decoded Redis entries: a Redis hit with the same bytes as last time reuses the decoded
 * envelope (and so the resource API's body/ETag memo of its value); different bytes are decoded
 * afresh. It saves CPU only: every read still asks Redis, so another process's write shows at once.
 */
import { CacheClient, decodeEnvelope, DecodedEntries, encodeEnvelope, MAX_REUSED_ENTRY_CHARS, ReadThroughCache } from '../../../../lambda/runtime/cache';
import type { Envelope } from '../../../../lambda/runtime/cache';
import { attachBytes } from '../../../../lambda/runtime/cache/heap-size';
import { DEFAULT_TTL_SECONDS, TtlClass } from '../../../../lambda/runtime/ttl';
import { describeEachTopology } from '../../../support/topologies';
import { connectClient, freshKeys } from './support';

function encoded(value: unknown, ver = 1): string {
  const now = Date.now();
  return encodeEnvelope({ v: value, s: now, x: now + 3_600_000, ver });
}

describe('DecodedEntries', () => {
  test('the same string for the same key gives back the same envelope object', () => {
    const decoded = new DecodedEntries({ maxBytes: 100_000 });
    const raw = encoded({ id: 1, name: 'a' });
    const first = decoded.decode('k', raw);
    const again = decoded.decode('k', raw.slice(0)); // an equal string, not the same one
    expect(first?.v).toEqual({ id: 1, name: 'a' });
    expect(again).toBe(first);
  });

  test('different bytes under the same key are decoded afresh and replace the old decode', () => {
    const decoded = new DecodedEntries({ maxBytes: 100_000 });
    const before = decoded.decode<{ name: string }>('k', encoded({ name: 'old' }, 1));
    const after = decoded.decode<{ name: string }>('k', encoded({ name: 'new' }, 2));
    expect([before?.v?.name, after?.v?.name, after?.ver]).toEqual(['old', 'new', 2]);
    expect(decoded.entryCount).toBe(1);
  });

  test('the same bytes under another key are not taken for it', () => {
    const decoded = new DecodedEntries({ maxBytes: 100_000 });
    const raw = encoded({ id: 1 });
    expect(decoded.decode('a', raw)).not.toBe(decoded.decode('b', raw));
  });

  test('answers like decodeEnvelope for absent and malformed values, and does not keep absent ones', () => {
    const decoded = new DecodedEntries({ maxBytes: 100_000 });
    expect(decoded.decode('k', null)).toBeUndefined();
    expect(decoded.decode('k', undefined)).toBeUndefined();
    expect(decoded.entryCount).toBe(0);
    for (const raw of ['', 'not json', '{"f":2,"v":1,"s":0,"x":1}', '{"f":1,"v":1,"s":"0","x":1}']) {
      expect(decoded.decode('k', raw)).toBeUndefined();
      expect(decoded.decode('k', raw)).toBe(decodeEnvelope(raw));
    }
  });

  test('stays within its byte budget, dropping the least recently used keys', () => {
    const decoded = new DecodedEntries({ maxBytes: 20_000 });
    const raw = encoded('x'.repeat(1_000));
    for (let i = 0; i < 20; i++) {
      decoded.decode(`k${i}`, raw);
      expect(decoded.sizeBytes).toBeLessThanOrEqual(20_000);
    }
    expect(decoded.entryCount).toBeGreaterThan(0);
    expect(decoded.entryCount).toBeLessThan(20);
    const newest = decoded.decode('k19', raw);
    expect(decoded.decode('k19', raw)).toBe(newest);
  });

  test('does not hold entries too long to be worth comparing, but still decodes them', () => {
    const decoded = new DecodedEntries({ maxBytes: 64 * 1024 * 1024 });
    const raw = encoded('y'.repeat(MAX_REUSED_ENTRY_CHARS));
    const first = decoded.decode<string>('big', raw);
    expect(first?.v).toHaveLength(MAX_REUSED_ENTRY_CHARS);
    expect(decoded.entryCount).toBe(0);
    expect(decoded.decode('big', raw)).not.toBe(first);
  });

  test('forgets one key or all of them', () => {
    const decoded = new DecodedEntries({ maxBytes: 100_000 });
    for (const key of ['a', 'b', 'c']) decoded.decode(key, encoded(key));
    decoded.delete('b');
    expect(decoded.entryCount).toBe(2);
    decoded.clear();
    expect([decoded.entryCount, decoded.sizeBytes]).toEqual([0, 0]);
  });

  test('counts the bytes attached to a held value, from when they are attached, and only for the key holding that value', () => {
    const decoded = new DecodedEntries({ maxBytes: 100_000 });
    const raw = encoded({ id: 1 });
    const first = decoded.decode<{ id: number }>('k1', raw)!;
    decoded.decode('k2', encoded({ id: 2 }));
    const bare = decoded.sizeBytes;
    attachBytes(first.v, 400);
    decoded.recount('k2', first.v);
    expect(decoded.sizeBytes).toBe(bare);
    decoded.recount('k1', first.v);
    expect(decoded.sizeBytes).toBe(bare + 400);
    expect(decoded.decode('k1', raw)).toBe(first);
    expect(decoded.sizeBytes).toBe(bare + 400);
  });

  test.each([0, -1, 1.5, Number.NaN])('refuses maxBytes %p with the option name', (maxBytes) => {
    expect(() => new DecodedEntries({ maxBytes })).toThrow(/decodedEntries\.maxBytes must be a positive integer/);
  });
});

/** What a memo keyed on the key alone would do: serve its last decode whatever Redis now holds. */
class KeyOnlyMemo {
  private readonly held = new Map<string, Envelope>();

  decode<T>(key: string, raw: string | null): Envelope<T> | undefined {
    const known = this.held.get(key);
    if (known) return known as Envelope<T>;
    const entry = decodeEnvelope<T>(raw);
    if (entry) this.held.set(key, entry);
    return entry;
  }
}

describeEachTopology('ReadThroughCache reusing decoded Redis entries', (topology) => {
  const clients: CacheClient[] = [];

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit()));
  });

  async function setUp(decodedEntries?: false) {
    const client = await connectClient(topology.current());
    clients.push(client);
    const keys = freshKeys(topology.current());
    const cache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, l1: false, earlyRefreshBeta: 0, decodedEntries });
    const key = keys.product(5);
    let loads = 0;
    const load = async () => {
      loads += 1;
      return null;
    };
    return { client, cache, key, loads: () => loads, load };
  }

  test('two Redis hits of unchanged bytes hand back the same value object; a write elsewhere shows on the next read', async () => {
    const { client, cache, key, load, loads } = await setUp();
    await client.set(key, encoded({ id: 5, name: 'first' }, 1), 60_000);
    const first = await cache.get<{ name: string }>(key, TtlClass.PRODUCT, load);
    const second = await cache.get<{ name: string }>(key, TtlClass.PRODUCT, load);
    expect([first.source, second.source]).toEqual(['redis', 'redis']);
    expect(second.value).toBe(first.value);

    // Another process writes: the very next read answers the new bytes.
    await client.set(key, encoded({ id: 5, name: 'second' }, 2), 60_000);
    const third = await cache.get<{ name: string }>(key, TtlClass.PRODUCT, load);
    expect([third.source, third.value?.name, third.version]).toEqual(['redis', 'second', 2]);
    expect(loads()).toBe(0);
  });

  test('naive: a memo keyed on the key alone keeps answering the value Redis no longer holds', async () => {
    const { client, key } = await setUp();
    const memo = new KeyOnlyMemo();
    await client.set(key, encoded({ name: 'first' }, 1), 60_000);
    memo.decode(key, await client.get(key));
    await client.set(key, encoded({ name: 'second' }, 2), 60_000);
    expect(memo.decode<{ name: string }>(key, await client.get(key))?.v?.name).toBe('first');
    // The real one, given the same sequence, answers what Redis holds.
    const decoded = new DecodedEntries({ maxBytes: 100_000 });
    await client.set(key, encoded({ name: 'first' }, 1), 60_000);
    decoded.decode(key, await client.get(key));
    await client.set(key, encoded({ name: 'second' }, 2), 60_000);
    expect(decoded.decode<{ name: string }>(key, await client.get(key))?.v?.name).toBe('second');
  });

  test('an invalidated key is decoded afresh even when the same bytes come back', async () => {
    const { client, cache, key, load } = await setUp();
    const raw = encoded({ id: 5 }, 1);
    await client.set(key, raw, 60_000);
    const before = await cache.get(key, TtlClass.PRODUCT, load);
    await cache.invalidate(key);
    await client.set(key, raw, 60_000);
    const after = await cache.get(key, TtlClass.PRODUCT, load);
    expect(after.value).toEqual(before.value);
    expect(after.value).not.toBe(before.value);
  });

  test('with decodedEntries: false every hit is parsed into a new object', async () => {
    const { client, cache, key, load } = await setUp(false);
    await client.set(key, encoded({ id: 5 }, 1), 60_000);
    const first = await cache.get(key, TtlClass.PRODUCT, load);
    const second = await cache.get(key, TtlClass.PRODUCT, load);
    expect(second.value).toEqual(first.value);
    expect(second.value).not.toBe(first.value);
  });
});
