/**
 * What cached entries cost in V8's heap, estimated from string lengths on every set (never by
 * walking a value or serialising it again), so that L1's and the decoded entries' byte bounds bound
 * the process's heap. The constants were measured with `process.memoryUsage().heapUsed` on Node 20
 * (64-bit, no pointer compression); test/lambda/runtime/cache/l1-heap.test.ts checks them.
 *
 * Also the bytes other layers attach to a cached value object (the resource API's body and ETag of
 * it): they live as long as the value does, so every cache holding the value counts them.
 */

/**
 * Bytes per character V8 stores `text` with: 1 when it is ASCII (a one-byte string), else 2 (a
 * two-byte string; Latin-1 text, which V8 keeps one-byte, is overcounted). `utf8Bytes` is its UTF-8
 * length, when the caller has it already.
 */
export function bytesPerChar(text: string, utf8Bytes = Buffer.byteLength(text)): 1 | 2 {
  return utf8Bytes === text.length ? 1 : 2;
}

/**
 * Heap bytes of a decoded value per character of its JSON (at the JSON's own bytes per character).
 * Measured: 1.0 for text, 1.4 for records and lists of records, 2 for two-byte text; values made
 * mostly of small numbers or empty objects take more (3–4 for an array of small integers), and are
 * undercounted.
 */
export const DECODED_BYTES_PER_JSON_CHAR = 2;

const attached = new WeakMap<object, number>();

/**
 * Records that `bytes` live as long as `value` does (memory kept in a WeakMap keyed by it). Returns
 * false for a primitive value, which nothing can be attached to.
 */
export function attachBytes(value: unknown, bytes: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  attached.set(value, bytes);
  return true;
}

/** The bytes attached to `value`; 0 when none are (always for a primitive: a WeakMap holds none). */
export function attachedBytes(value: unknown): number {
  return attached.get(value as object) ?? 0;
}
