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
import { attachedBytes, bytesPerChar, DECODED_BYTES_PER_JSON_CHAR } from './heap-size';

export interface DecodedEntriesOptions {
  /**
   * Upper bound on the heap held, as estimated per entry: DECODED_ENTRY_OVERHEAD_BYTES, the key, the
   * encoded string, DECODED_BYTES_PER_JSON_CHAR per character of it for the decoded envelope, and the
   * bytes attached to its value (the resource API's body and ETag).
   */
  readonly maxBytes: number;
}

/** 4 MiB: some thousand typical entries, next to a Lambda's 16 MiB L1. */
export const DEFAULT_DECODED_ENTRIES: DecodedEntriesOptions = { maxBytes: 4 * 1024 * 1024 };

/** Encoded strings longer than this are decoded every time: comparing them costs about what parsing saves. */
export const MAX_REUSED_ENTRY_CHARS = 256 * 1024;

/**
 * Heap per entry beyond its key's characters, its string and its value: the LRU's map slot and
 * arrays, the record, the headers of the key and the string, the envelope object and its timestamps.
 */
export const DECODED_ENTRY_OVERHEAD_BYTES = 352;

interface Decoded {
  readonly raw: string;
  readonly entry: Envelope | undefined;
  /** The whole estimate, `attached` included. */
  readonly size: number;
  /** Bytes attached to the entry's value when the size was estimated. */
  readonly attached: number;
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
      sizeCalculation: (decoded) => decoded.size,
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
    if (raw.length <= MAX_REUSED_ENTRY_CHARS) {
      const attached = attachedBytes(entry?.v);
      const size = DECODED_ENTRY_OVERHEAD_BYTES + 2 * key.length + (1 + DECODED_BYTES_PER_JSON_CHAR) * bytesPerChar(raw) * raw.length + attached;
      this.hold(key, { raw, entry, size, attached });
    }
    return entry;
  }

  /** Counts again what is attached to `value` (heap-size.ts `attachBytes`) in `key`'s entry, if that entry holds `value`. */
  recount(key: string, value: unknown): void {
    const known = this.lru.peek(key);
    if (known?.entry === undefined || known.entry.v !== value) return;
    const attached = attachedBytes(value);
    if (attached === known.attached) return;
    this.hold(key, { ...known, size: known.size - known.attached + attached, attached });
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

  private hold(key: string, decoded: Decoded): void {
    if (decoded.size > this.maxBytes) this.lru.delete(key);
    else this.lru.set(key, decoded);
  }
}
