/**
 * Byte helpers shared by the repositories: both drivers bind Buffers (better-sqlite3 rejects a plain
 * Uint8Array), so values arriving as Uint8Array are viewed as Buffers without copying.
 */

/** A Buffer view of `bytes` without copying. */
export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
