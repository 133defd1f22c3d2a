/**
 * L1 as it was before issue 20 part 7 (kept for the test that shows what the fix changed): an LRU
 * whose entries are sized by their JSON's UTF-8 bytes, the key's and 64 bytes, and which knows
 * nothing of the body and ETag the resource API memoises for their values. As a `ResourceCache`, it
 * stores what an origin load returns the way `ReadThroughCache` stored it.
 */
import { LRUCache } from 'lru-cache';
import { encodeEnvelope, type CacheRead, type Envelope, type Loaded } from '../../lambda/runtime/cache';
import type { ResourceCache } from '../../lambda/runtime/resources/resource-api';

const ENTRY_OVERHEAD_BYTES = 64;

export class NaiveLocalCache implements ResourceCache {
  private readonly lru: LRUCache<string, { readonly entry: Envelope; readonly size: number }>;

  constructor(readonly maxBytes: number) {
    this.lru = new LRUCache({ maxSize: maxBytes, sizeCalculation: (slot) => slot.size, ttl: 60_000, ttlResolution: 0, updateAgeOnGet: false, allowStale: false });
  }

  async get<T>(key: string, _ttl: unknown, load: () => Promise<Loaded<T>>): Promise<CacheRead<T>> {
    const held = this.lru.get(key)?.entry as Envelope<T> | undefined;
    if (held) return { value: held.v, source: 'l1', storedAtMs: held.s };
    const loaded = await load();
    const now = Date.now();
    const entry: Envelope<T> = { f: 1, v: loaded === null ? null : loaded.value, s: now, x: now + 60_000, ...(loaded?.version === undefined ? {} : { ver: loaded.version }) };
    const raw = encodeEnvelope(entry);
    this.lru.set(key, { entry, size: Buffer.byteLength(raw) + Buffer.byteLength(key) + ENTRY_OVERHEAD_BYTES });
    return { value: entry.v, source: 'origin', storedAtMs: now };
  }

  clear(): void {
    this.lru.clear();
  }

  get sizeBytes(): number {
    return this.lru.calculatedSize;
  }

  get entryCount(): number {
    return this.lru.size;
  }
}
