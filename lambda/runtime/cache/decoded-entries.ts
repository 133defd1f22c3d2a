/**
 * The envelopes this process decoded from Redis, by key, each with the exact string it was decoded
 * from. A Redis hit whose bytes equal the last ones read for its key reuses that envelope instead of
 * parsing the same JSON again, and with the same value object come the body and ETag the resource API
 * memoised for it: a hot key read from Redis costs a string comparison instead of a JSON parse, a
 * JSON serialisation and a SHA-256.
 *
 * It is not a cache layer: every read still goes to Redis, and an envelope is reused only when Redis
 * has just returned the very bytes it came from. So it can never answer anything Redis does not
 * hold, needs no invalidation, and is safe for per-subject data (which must not sit in L1 because L1
 * would answer without asking Redis). Bounded by an estimate of its memory (LRU).
 */
import { LRUCache } from 'lru-cache';
import { decodeEnvelope, Envelope } from './envelope';

export interface DecodedEntriesOptions {
  /**
   * Upper bound on the estimated memory held: per entry, 4 bytes per character of the encoded string
   * (the string itself and the decoded objects) plus the key and a fixed overhead.
   */
  readonly maxBytes: number;
}

/** 4 MiB: some thousand typical entries, next to a Lambda's 16 MiB L1. */
export const DEFAULT_DECODED_ENTRIES: DecodedEntriesOptions = { maxBytes: 4 * 1024 * 1024 };

/** Encoded strings longer than this are decoded every time: comparing them costs about what parsing saves. */
export const MAX_REUSED_ENTRY_CHARS = 256 * 1024;

const BYTES_PER_CHAR = 4;
const ENTRY_OVERHEAD_BYTES = 96;

interface Decoded {
  readonly raw: string;
  readonly entry: Envelope | undefined;
}

export class DecodedEntries {
  readonly maxBytes: number;
  private readonly lru: LRUCache<string, Decoded>;

  constructor(options: DecodedEntriesOptions) {
    if (!Number.isInteger(options.maxBytes) || options.maxBytes < 1) {
      throw new RangeError(`decodedEntries.maxBytes must be a positive integer, got ${options.maxBytes}`);
    }
    this.maxBytes = options.maxBytes;
    this.lru = new LRUCache<string, Decoded>({
      maxSize: options.maxBytes,
      sizeCalculation: (decoded, key) => decoded.raw.length * BYTES_PER_CHAR + key.length * 2 + ENTRY_OVERHEAD_BYTES,
    });
  }

  /**
   * The envelope in `raw` (what Redis just returned for `key`): the one decoded last time when `raw`
   * is the same string, else a fresh decode, kept for next time. `undefined` as `decodeEnvelope`.
   */
  decode<T>(key: string, raw: string | null | undefined): Envelope<T> | undefined {
    if (typeof raw !== 'string') return undefined;
    const known = this.lru.get(key);
    if (known !== undefined && known.raw === raw) return known.entry as Envelope<T> | undefined;
    const entry = decodeEnvelope<T>(raw);
    if (raw.length <= MAX_REUSED_ENTRY_CHARS) this.lru.set(key, { raw, entry });
    return entry;
  }

  /** Forgets `key` (its memory is no longer worth holding: the key was invalidated). */
  delete(key: string): void {
    this.lru.delete(key);
  }

  clear(): void {
    this.lru.clear();
  }

  get entryCount(): number {
    return this.lru.size;
  }

  /** Estimated bytes held now. */
  get sizeBytes(): number {
    return this.lru.calculatedSize;
  }
}
