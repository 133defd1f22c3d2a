/**
 * Redis Cluster key → hash slot (CRC16/XMODEM of the key, or of its first non-empty `{hash tag}`,
 * modulo 16384), as the cluster specification defines it. Used to group multi-key commands per slot
 * and to give each shard its own circuit breaker.
 */
export const HASH_SLOTS = 16384;

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
    table[byte] = crc;
  }
  return table;
})();

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ byte) & 0xff];
  return crc;
}

/** The part of `key` that is hashed: the content of the first `{…}` when it is non-empty, else the whole key. */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) return key;
  return key.slice(open + 1, close);
}

export function hashSlot(key: string): number {
  return crc16(Buffer.from(hashTagOf(key))) % HASH_SLOTS; // Buffer.from encodes a string as UTF-8
}
