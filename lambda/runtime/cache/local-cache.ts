/**
 * The in-process layer (L1): an LRU bounded by bytes, whose entries live at most `ttlSeconds`
 * (≤ MAX_L1_TTL_SECONDS). Other processes cannot clear it, so its TTL is the cross-process staleness
 * bound of the whole cache; keep it short.
 */
import { LRUCache } from 'lru-cache';
import { MAX_L1_TTL_SECONDS } from '../ttl';
import type { Envelope } from './envelope';

export interface LocalCacheOptions {
  /** Upper bound on the summed size of the entries (their JSON byte length plus the key). */
  readonly maxBytes: number;
  /** Longest life of an entry; at most MAX_L1_TTL_SECONDS. */
  readonly ttlSeconds: number;
  /** Milliseconds; injectable for tests. @default performance.now-based clock of lru-cache */
  readonly clock?: () => number;
}

/** Bookkeeping per entry the LRU adds beyond the JSON bytes (object headers, map slots). */
const ENTRY_OVERHEAD_BYTES = 64;

interface Slot {
  readonly entry: Envelope;
  readonly size: number;
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
   * Holds `entry` for `ttlMs` capped at the L1 TTL. `encodedBytes` is the entry's JSON size; an entry
   * larger than the whole cache is not held at all.
   */
  set(key: string, entry: Envelope, encodedBytes: number, ttlMs: number): void {
    const ttl = Math.min(Math.floor(ttlMs), this.ttlMs);
    if (ttl < 1) return;
    const size = encodedBytes + Buffer.byteLength(key) + ENTRY_OVERHEAD_BYTES;
    if (size > this.maxBytes) {
      this.lru.delete(key);
      return;
    }
    this.lru.set(key, { entry, size }, { ttl });
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
}
