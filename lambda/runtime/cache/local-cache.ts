/**
 * The in-process layer (L1): an LRU bounded by bytes of heap, whose entries live at most `ttlSeconds`
 * (≤ MAX_L1_TTL_SECONDS). Other processes cannot clear it, so its TTL is the cross-process staleness
 * bound of the whole cache; keep it short.
 */
import { LRUCache } from 'lru-cache';
import { MAX_L1_TTL_SECONDS } from '../ttl';
import type { Envelope } from './envelope';
import { attachedBytes, bytesPerChar, DECODED_BYTES_PER_JSON_CHAR } from './heap-size';

export interface LocalCacheOptions {
  /**
   * Upper bound on the heap the entries keep alive, as estimated per entry: ENTRY_OVERHEAD_BYTES, the
   * key, DECODED_BYTES_PER_JSON_CHAR per character of the entry's JSON, and the bytes attached to its
   * value (the resource API's body and ETag).
   */
  readonly maxBytes: number;
  /** Longest life of an entry; at most MAX_L1_TTL_SECONDS. */
  readonly ttlSeconds: number;
  /** Milliseconds; injectable for tests. @default performance.now-based clock of lru-cache */
  readonly clock?: () => number;
}

/**
 * Heap per entry beyond its key's characters and its value: the LRU's map slot and per-entry arrays
 * (with their growth slack), the slot object, the key string's header, the envelope object and its
 * two timestamps (heap numbers): about 330 bytes measured (a full L1's heap per entry less its value and memo); rounded up.
 */
export const L1_ENTRY_OVERHEAD_BYTES = 352;

interface Slot {
  readonly entry: Envelope;
  /** The whole estimate, `attached` included. */
  readonly size: number;
  /** Bytes attached to `entry.v` when the size was estimated. */
  readonly attached: number;
}

export class LocalCache {
  readonly maxBytes: number;
  readonly ttlMs: number;
  private readonly lru: LRUCache<string, Slot>;

  constructor(options: LocalCacheOptions) {
    if (!Number.isInteger(options.maxBytes) || options.maxBytes < 1) {
      throw new RangeError(`l1.maxBytes must be a positive integer, got ${options.maxBytes}`);
    }
    if (!(options.ttlSeconds > 0 && options.ttlSeconds <= MAX_L1_TTL_SECONDS)) {
      throw new RangeError(`l1.ttlSeconds must be greater than 0 and at most ${MAX_L1_TTL_SECONDS}, got ${options.ttlSeconds}`);
    }
    this.maxBytes = options.maxBytes;
    this.ttlMs = options.ttlSeconds * 1000;
    this.lru = new LRUCache<string, Slot>({
      maxSize: options.maxBytes,
      sizeCalculation: (slot) => slot.size,
      ttl: this.ttlMs,
      ttlResolution: 0,
      updateAgeOnGet: false,
      allowStale: false,
      ...(options.clock ? { perf: { now: options.clock } } : {}),
    });
  }

  get<T>(key: string): Envelope<T> | undefined {
    return this.lru.get(key)?.entry as Envelope<T> | undefined;
  }

  /**
   * Holds `entry` for `ttlMs` capped at the L1 TTL. `raw` is the entry's JSON (as stored in Redis),
   * from whose length its heap is estimated; an entry larger than the whole cache is not held at all.
   */
  set(key: string, entry: Envelope, raw: string, ttlMs: number): void {
    const ttl = Math.min(Math.floor(ttlMs), this.ttlMs);
    if (ttl < 1) return;
    const attached = attachedBytes(entry.v);
    const size = L1_ENTRY_OVERHEAD_BYTES + 2 * key.length + DECODED_BYTES_PER_JSON_CHAR * bytesPerChar(raw) * raw.length + attached;
    this.hold(key, { entry, size, attached }, { ttl });
  }

  /**
   * Counts again what is attached to `value` (heap-size.ts `attachBytes`) in `key`'s entry, if that
   * entry holds `value`; its TTL is unchanged.
   */
  recount(key: string, value: unknown): void {
    const slot = this.lru.peek(key);
    if (slot === undefined || slot.entry.v !== value) return;
    const attached = attachedBytes(value);
    if (attached === slot.attached) return;
    this.hold(key, { entry: slot.entry, size: slot.size - slot.attached + attached, attached }, { noUpdateTTL: true });
  }

  delete(key: string): void {
    this.lru.delete(key);
  }

  /** Removes every entry `predicate` holds for; returns how many. */
  deleteWhere(predicate: (entry: Envelope) => boolean): number {
    const doomed: string[] = [];
    for (const [key, slot] of this.lru.entries()) if (predicate(slot.entry)) doomed.push(key);
    for (const key of doomed) this.lru.delete(key);
    return doomed.length;
  }

  clear(): void {
    this.lru.clear();
  }

  /** Summed size of the entries held now, in bytes. */
  get sizeBytes(): number {
    return this.lru.calculatedSize;
  }

  get entryCount(): number {
    return this.lru.size;
  }

  private hold(key: string, slot: Slot, options: { ttl?: number; noUpdateTTL?: boolean }): void {
    if (slot.size > this.maxBytes) {
      this.lru.delete(key);
      return;
    }
    this.lru.set(key, slot, options);
  }
}
