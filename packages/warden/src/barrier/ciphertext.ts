/**
 * The barrier ciphertext format and AES-256-GCM sealing of one value (see README.md):
 * `format (1) | key version (4, big-endian) | IV (12) | GCM ciphertext | tag (16)`. The AAD binds the
 * format, the key version and the value's place (table, column, row), so a ciphertext copied elsewhere
 * does not decrypt. Every failure is the same generic WARDEN_BARRIER_DECRYPT_FAILED.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { WardenError } from '../errors/index.js';

export const FORMAT_V1 = 1;
export const HEADER_BYTES = 5;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
export const KEY_BYTES = 32;
const MIN_BYTES = HEADER_BYTES + IV_BYTES + TAG_BYTES;
const MAX_VERSION = 0xffff_ffff;

/** Where a value lives; part of its AAD. */
export interface BarrierContext {
  readonly table: string;
  readonly column: string;
  /** The row's primary key, as a string. */
  readonly row: string;
}

/** The one error every decryption failure becomes; it never says which check failed. */
export function decryptFailed(): WardenError {
  return new WardenError('WARDEN_BARRIER_DECRYPT_FAILED', 'decryption failed');
}

/** JSON of an array of strings and numbers is an unambiguous encoding (no separator confusion). */
function aadOf(version: number, context: BarrierContext): Buffer {
  return Buffer.from(
    JSON.stringify(['warden-barrier', FORMAT_V1, version, context.table, context.column, context.row]),
    'utf8',
  );
}

/** Reads the key version from a ciphertext header; throws the generic decrypt error when malformed. */
export function parseVersion(ciphertext: Uint8Array): number {
  if (ciphertext.byteLength < MIN_BYTES || ciphertext[0] !== FORMAT_V1) throw decryptFailed();
  const version = Buffer.from(ciphertext.buffer, ciphertext.byteOffset, HEADER_BYTES).readUInt32BE(1);
  if (version === 0) throw decryptFailed();
  return version;
}

export function sealValue(key: Buffer, version: number, plaintext: Uint8Array, context: BarrierContext): Buffer {
  if (!Number.isInteger(version) || version < 1 || version > MAX_VERSION) {
    throw new WardenError('WARDEN_INTERNAL', 'invalid barrier key version');
  }
  const out = Buffer.allocUnsafe(HEADER_BYTES + IV_BYTES + plaintext.byteLength + TAG_BYTES);
  out[0] = FORMAT_V1;
  out.writeUInt32BE(version, 1);
  const iv = randomBytes(IV_BYTES);
  iv.copy(out, HEADER_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aadOf(version, context));
  let offset = HEADER_BYTES + IV_BYTES;
  offset += cipher.update(plaintext).copy(out, offset);
  offset += cipher.final().copy(out, offset);
  cipher.getAuthTag().copy(out, offset);
  return out;
}

/** Decrypts with `key` (the key of `parseVersion(ciphertext)`); any failure → generic decrypt error. */
export function openValue(key: Buffer, ciphertext: Uint8Array, context: BarrierContext): Buffer {
  const version = parseVersion(ciphertext);
  const bytes = Buffer.from(ciphertext.buffer, ciphertext.byteOffset, ciphertext.byteLength);
  try {
    const iv = bytes.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES);
    const tag = bytes.subarray(bytes.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aadOf(version, context));
    decipher.setAuthTag(tag);
    const body = bytes.subarray(HEADER_BYTES + IV_BYTES, bytes.length - TAG_BYTES);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw decryptFailed();
  }
}
