/**
 * A write-through `put` must win over every fill that began before it. The interleaving (issue 10):
 * a reader finds no order and starts loading under the coalescing lock; the order is then placed and
 * `put` into the cache (201); the reader's load, which read "not found" before the commit, fills
 * last. Without the fix the owner gets 404 for the not-found TTL after a 201.
 *
 * The naive variant runs the same interleaving with the FILL script as it was (WRITE mode left the
 * lock in place) and shows the older "not found" landing on top of the write.
 */
import { CacheClient, decodeEnvelope, luaScript, ReadThroughCache } from '../../../../lambda/runtime/cache';
import { FILL } from '../../../../lambda/runtime/cache/scripts';
import { DEFAULT_TTL_SECONDS, TtlClass } from '../../../../lambda/runtime/ttl';
import { describeEachTopology } from '../../../support/topologies';
import { connectClient, freshKeys, inspector } from './support';

/** The FILL script before the fix: WRITE mode neither checked nor dropped the coalescing lock. */
const NAIVE_FILL = luaScript(
  'cache_fill_naive',
  2,
  FILL.source.replace(/elseif mode == 'write' then\n {2}redis\.call\('DEL', KEYS\[2\]\)\n/, ''),
);

/** `client` with FILL swapped for the naive script, everything else unchanged. */
function withNaiveFill(client: CacheClient): CacheClient {
  const naive = Object.create(client) as CacheClient;
  naive.eval = (script, keys, args) => client.eval(script.sha1 === FILL.sha1 ? NAIVE_FILL : script, keys, args);
  return naive;
}

interface Order {
  readonly id: number;
  readonly userId: number;
}

describeEachTopology('write-through put against a fill that began before it', (handle) => {
  const clients: CacheClient[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) clients.push(await connectClient(handle.current()));
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit()));
  });

  /** Runs the interleaving; returns what a fresh process then reads, and the raw Redis entry. */
  async function interleave(fill: 'fixed' | 'naive'): Promise<{ read: Order | null; stored: Order | null | undefined }> {
    const keys = freshKeys(handle.current());
    const key = keys.resource('order', [String(7)]);
    const wrap = fill === 'naive' ? withNaiveFill : (c: CacheClient) => c;
    // Orders live in the personal cache: Redis only, no L1 (so L1 cannot hide the outcome).
    const process = (i: number) => new ReadThroughCache({ client: wrap(clients[i]), keys, ttls: DEFAULT_TTL_SECONDS, l1: false, earlyRefreshBeta: 0 });
    const reader = process(0);
    const writer = process(1);

    let loading!: () => void;
    const loadStarted = new Promise<void>((resolve) => (loading = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // The reader's origin read happens before the commit: it sees no order.
    const inFlight = reader.get<Order>(key, TtlClass.ORDER, async () => {
      loading();
      await gate;
      return null;
    });
    await loadStarted;

    expect(await writer.put<Order>(key, TtlClass.ORDER, { id: 7, userId: 1 })).toBe(true);
    release();
    expect((await inFlight).value).toBeNull();

    const later = await process(2).get<Order>(key, TtlClass.ORDER, async () => {
      throw new Error('the origin must not be needed: the cache holds an entry');
    });
    const inspect = await inspector(handle.current());
    try {
      return { read: later.value, stored: decodeEnvelope<Order>(await inspect.get(key))?.v };
    } finally {
      inspect.disconnect();
    }
  }

  test('the placed order stays in the cache: the older "not found" fill is refused', async () => {
    const { read, stored } = await interleave('fixed');
    expect(read).toEqual({ id: 7, userId: 1 });
    expect(stored).toEqual({ id: 7, userId: 1 });
  });

  test('naive: with the lock left in place, the older "not found" fill lands on top of the write', async () => {
    expect(NAIVE_FILL.source).not.toBe(FILL.source);
    const { read, stored } = await interleave('naive');
    expect(read).toBeNull();
    expect(stored).toBeNull();
  });

  test('the write still refuses nothing but a strictly newer stored version', async () => {
    const keys = freshKeys(handle.current());
    const cache = new ReadThroughCache({ client: clients[0], keys, ttls: DEFAULT_TTL_SECONDS, l1: false });
    const key = keys.product(1);
    expect(await cache.put(key, TtlClass.PRODUCT, 'v3', { version: 3 })).toBe(true);
    expect(await cache.put(key, TtlClass.PRODUCT, 'v2', { version: 2 })).toBe(false);
    expect(await cache.put(key, TtlClass.PRODUCT, 'unversioned')).toBe(true);
  });
});
