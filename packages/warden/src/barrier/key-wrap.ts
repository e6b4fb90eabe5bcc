/**
 * Wrapping of barrier keys by the root key: AES-256-GCM with AAD `warden-barrier-key:v<version>`, so a
 * wrapped key moved to another version's row does not unwrap. Stored as
 * `format (1) | IV (12) | wrapped key (32) | tag (16)`.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { decryptFailed, IV_BYTES, KEY_BYTES, TAG_BYTES } from './ciphertext.js';

const WRAP_FORMAT = 1;
const WRAPPED_BYTES = 1 + IV_BYTES + KEY_BYTES + TAG_BYTES;

const aadOf = (version: number) => Buffer.from(`warden-barrier-key:v${version}`, 'utf8');

export function wrapBarrierKey(rootKey: Buffer, version: number, key: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', rootKey, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aadOf(version));
  return Buffer.concat([Buffer.of(WRAP_FORMAT), iv, cipher.update(key), cipher.final(), cipher.getAuthTag()]);
}

/** Unwraps a barrier key; a wrong root key, version or tampered bytes → WARDEN_BARRIER_DECRYPT_FAILED. */
export function unwrapBarrierKey(rootKey: Buffer, version: number, wrapped: Buffer): Buffer {
  if (wrapped.length !== WRAPPED_BYTES || wrapped[0] !== WRAP_FORMAT) throw decryptFailed();
  try {
    const iv = wrapped.subarray(1, 1 + IV_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', rootKey, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aadOf(version));
    decipher.setAuthTag(wrapped.subarray(wrapped.length - TAG_BYTES));
    const head = decipher.update(wrapped.subarray(1 + IV_BYTES, 1 + IV_BYTES + KEY_BYTES));
    const tail = decipher.final();
    // Buffer.alloc is never a slice of the shared pool, so zeroing it later zeroes the only copy.
    const key = Buffer.alloc(KEY_BYTES);
    head.copy(key);
    tail.copy(key, head.length);
    head.fill(0);
    tail.fill(0);
    return key;
  } catch {
    throw decryptFailed();
  }
}
