/**
 * Bring-your-own-key import, in the AWS KMS `RSA_AES_KEY_WRAP_SHA_256` scheme. Warden holds an
 * RSA-3072 wrapping key pair and hands out the public half; the importer generates an ephemeral
 * AES-256 key, wraps the key material with it using AES key wrap with padding (RFC 5649), wraps the
 * ephemeral key with RSA-OAEP (SHA-256, MGF1-SHA-256) and sends `RSA ciphertext (384) || KWP
 * ciphertext`. Unwrapping fails with one generic error whatever went wrong (bad padding, bad integrity
 * check, wrong key, wrong length), and `checkImportedMaterial` holds imported material to the exact
 * shape its key type needs. Material never appears in an error message.
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';

import { WardenError, type ErrorCode } from '../errors/index.js';
import type { KeyType } from './types.js';

export const WRAPPING_KEY_BITS = 3072;

/** Length of the RSA-OAEP part of a wrapped blob: one RSA-3072 block. */
const RSA_BLOCK_BYTES = WRAPPING_KEY_BITS / 8;
/** Length of the ephemeral AES key that the RSA block carries. */
const EPHEMERAL_KEY_BYTES = 32;
/** RFC 5649 §3: the alternative initial value's constant high half. */
const KWP_AIV = Buffer.from('A65959A6', 'hex');
/** Largest key material we accept; real material is at most a PKCS#8 P-256 key (~140 bytes). */
export const MAX_MATERIAL_BYTES = 4096;
/** Largest KWP ciphertext for MAX_MATERIAL_BYTES: padded to 8 bytes, plus the 8-byte AIV block. */
const MAX_KWP_BYTES = Math.ceil(MAX_MATERIAL_BYTES / 8) * 8 + 8;

/** The error code for rejected imports: bad blobs and bad material alike. */
const IMPORT_INVALID: ErrorCode = 'WARDEN_KMS_IMPORT_INVALID';

/** The one error for a wrapped blob that does not unwrap; deliberately says nothing about why. */
function unwrapFailed(): WardenError {
  return new WardenError(IMPORT_INVALID, 'wrapped key material is invalid or was not wrapped with this import’s wrapping key');
}

function invalidMaterial(message: string): WardenError {
  return new WardenError(IMPORT_INVALID, message);
}

/** A fresh RSA-3072 wrapping key pair: the public key as SPKI PEM (for the importer), the private key as PKCS#8 DER. */
export function generateWrappingKeyPair(): { publicKeyPem: string; privateKeyDer: Buffer } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: WRAPPING_KEY_BITS,
    publicExponent: 0x10001,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  return { publicKeyPem: publicKey, privateKeyDer: privateKey };
}

/**
 * The importer's side: wraps `material` for the holder of `publicKeyPem`. Throws WARDEN_VALIDATION_FAILED
 * if the public key is not an RSA-3072 key or the material is empty or too large.
 */
export function wrapKeyMaterial(publicKeyPem: string, material: Buffer): Buffer {
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: publicKeyPem, format: 'pem' });
  } catch (err) {
    throw new WardenError('WARDEN_VALIDATION_FAILED', 'wrapping public key is not a PEM public key', { cause: err });
  }
  if (!isWrappingKey(publicKey)) {
    throw new WardenError('WARDEN_VALIDATION_FAILED', `wrapping public key must be an RSA-${WRAPPING_KEY_BITS} key`);
  }
  if (material.length === 0 || material.length > MAX_MATERIAL_BYTES) {
    throw new WardenError('WARDEN_VALIDATION_FAILED', `key material must be 1..${MAX_MATERIAL_BYTES} bytes`);
  }
  const ephemeral = randomBytes(EPHEMERAL_KEY_BYTES);
  try {
    const rsaPart = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, ephemeral);
    return Buffer.concat([rsaPart, aesKeyWrapPad(ephemeral, material)]);
  } finally {
    ephemeral.fill(0);
  }
}

/**
 * Warden's side: unwraps a blob made by `wrapKeyMaterial` (or by any RSA_AES_KEY_WRAP_SHA_256 importer).
 * Every failure of the blob is the same generic WARDEN_KMS_IMPORT_INVALID; a wrapping private key
 * that is not an RSA-3072 PKCS#8 key is WARDEN_INTERNAL, since that is Warden's fault, not the importer's.
 */
export function unwrapKeyMaterial(privateKeyDer: Buffer, wrapped: Buffer): Buffer {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: privateKeyDer, format: 'der', type: 'pkcs8' });
  } catch (err) {
    throw new WardenError('WARDEN_INTERNAL', 'the import wrapping private key is unusable', { cause: err });
  }
  if (!isWrappingKey(privateKey)) {
    throw new WardenError('WARDEN_INTERNAL', `the import wrapping private key is not an RSA-${WRAPPING_KEY_BITS} key`);
  }
  const kwpBytes = wrapped.length - RSA_BLOCK_BYTES;
  // KWP output is a multiple of 8 bytes and at least two blocks (the AIV block and one of data).
  if (kwpBytes < 16 || kwpBytes % 8 !== 0 || kwpBytes > MAX_KWP_BYTES) throw unwrapFailed();
  let ephemeral: Buffer | undefined;
  try {
    ephemeral = privateDecrypt(
      { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      wrapped.subarray(0, RSA_BLOCK_BYTES),
    );
  } catch {
    throw unwrapFailed();
  }
  try {
    if (ephemeral.length !== EPHEMERAL_KEY_BYTES) throw unwrapFailed();
    return aesKeyUnwrapPad(ephemeral, wrapped.subarray(RSA_BLOCK_BYTES));
  } finally {
    ephemeral.fill(0);
  }
}

/**
 * AES key wrap with padding (RFC 5649) of `plaintext` (1 byte or more) under `kek` (16, 24 or 32 bytes).
 * Exported for the RFC test vectors.
 */
export function aesKeyWrapPad(kek: Buffer, plaintext: Buffer): Buffer {
  if (plaintext.length === 0) throw new WardenError('WARDEN_VALIDATION_FAILED', 'nothing to wrap');
  const cipher = createCipheriv(kwpCipher(kek), kek, KWP_AIV);
  return Buffer.concat([cipher.update(plaintext), cipher.final()]);
}

/** Inverse of `aesKeyWrapPad`; a failed integrity check or a malformed input is the generic import error. */
export function aesKeyUnwrapPad(kek: Buffer, wrapped: Buffer): Buffer {
  const algorithm = kwpCipher(kek);
  if (wrapped.length < 16 || wrapped.length % 8 !== 0) throw unwrapFailed();
  let head: Buffer | undefined;
  let tail: Buffer | undefined;
  try {
    const decipher = createDecipheriv(algorithm, kek, KWP_AIV);
    head = decipher.update(wrapped);
    tail = decipher.final();
    // Buffer.alloc is never a slice of the shared pool, so zeroing it later zeroes the only copy.
    const out = Buffer.alloc(head.length + tail.length);
    head.copy(out);
    tail.copy(out, head.length);
    return out;
  } catch {
    throw unwrapFailed();
  } finally {
    head?.fill(0);
    tail?.fill(0);
  }
}

function kwpCipher(kek: Buffer): 'id-aes128-wrap-pad' | 'id-aes192-wrap-pad' | 'id-aes256-wrap-pad' {
  switch (kek.length) {
    case 16:
      return 'id-aes128-wrap-pad';
    case 24:
      return 'id-aes192-wrap-pad';
    case 32:
      return 'id-aes256-wrap-pad';
    default:
      throw new WardenError('WARDEN_VALIDATION_FAILED', 'an AES key wrap key must be 16, 24 or 32 bytes');
  }
}

function isWrappingKey(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'rsa' && key.asymmetricKeyDetails?.modulusLength === WRAPPING_KEY_BITS;
}

/**
 * Checks imported material for a key type and returns a normalized copy: aes256-gcm exactly 32 bytes;
 * hmac-sha256 32..64 bytes; ed25519 and ecdsa-p256 a PKCS#8 DER private key of exactly that type
 * (re-exported, so what is stored is what node:crypto produced). Throws WARDEN_KMS_IMPORT_INVALID
 * naming what is wrong; the message never contains material.
 */
export function checkImportedMaterial(type: KeyType, material: Buffer): Buffer {
  switch (type) {
    case 'aes256-gcm':
      if (material.length !== 32) {
        throw invalidMaterial(`imported material for an aes256-gcm key must be exactly 32 bytes, got ${material.length}`);
      }
      return Buffer.from(material);
    case 'hmac-sha256':
      if (material.length < 32 || material.length > 64) {
        throw invalidMaterial(`imported material for an hmac-sha256 key must be 32 to 64 bytes, got ${material.length}`);
      }
      return Buffer.from(material);
    case 'ed25519':
    case 'ecdsa-p256': {
      const key = parsePkcs8(type, material);
      const ok =
        type === 'ed25519'
          ? key.asymmetricKeyType === 'ed25519'
          : key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
      if (!ok) {
        const what = type === 'ed25519' ? 'an Ed25519' : 'a P-256 (prime256v1, named curve)';
        throw invalidMaterial(`imported material for an ${type} key must be ${what} private key, got a different key type`);
      }
      return key.export({ format: 'der', type: 'pkcs8' });
    }
    default:
      throw invalidMaterial('unknown key type for imported material');
  }
}

function parsePkcs8(type: KeyType, material: Buffer): KeyObject {
  if (material.length > MAX_MATERIAL_BYTES) {
    throw invalidMaterial(`imported material for an ${type} key is too large`);
  }
  try {
    return createPrivateKey({ key: material, format: 'der', type: 'pkcs8' });
  } catch {
    // No cause: OpenSSL's message could quote parts of the input.
    throw invalidMaterial(`imported material for an ${type} key must be a PKCS#8 DER private key`);
  }
}
