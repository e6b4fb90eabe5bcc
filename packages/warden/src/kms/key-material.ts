/**
 * Key material and the cryptography of one key version. `generateMaterial` makes new software material
 * (32 random bytes for AES-256-GCM and HMAC-SHA256, PKCS#8 DER for Ed25519 and ECDSA P-256);
 * `softwareCrypto` turns material into the operations of its type with node:crypto, and `hsmCrypto`
 * runs the same operations inside the PKCS#11 token (`hsm-keys.ts`), where the material never leaves.
 * Signature verification always runs in software with the public key. ECDSA signatures are DER; a
 * prehashed `digest` can only be signed by an HSM key (node:crypto has no prehashed ECDSA).
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  randomBytes,
  sign as signWith,
  timingSafeEqual,
  verify as verifyWith,
  type KeyObject,
} from 'node:crypto';
import { WardenError, isWardenError } from '../errors/index.js';
import { TAG_BYTES, decryptFailed } from './ciphertext.js';
import type { HsmKeyStore } from './hsm-keys.js';
import type { KeyType } from './types.js';

/** What a signature is made over: the message, or (HSM ECDSA keys only) its SHA-256 digest. */
export interface SignInput {
  message?: Buffer;
  digest?: Buffer;
}

export interface VersionCrypto {
  /** AES-256-GCM: ciphertext followed by the 16-byte tag. */
  encrypt(iv: Buffer, plaintext: Buffer, aad: Buffer): Buffer;
  /** Any failure is the generic WARDEN_KMS_DECRYPT_FAILED. */
  decrypt(iv: Buffer, sealed: Buffer, aad: Buffer): Buffer;
  hmac(data: Buffer): Buffer;
  sign(input: SignInput): Buffer;
  verify(input: SignInput, signature: Buffer): boolean;
  /** Zeroes software material held in memory. */
  dispose(): void;
}

export const unsupported = (message: string): WardenError => new WardenError('WARDEN_KMS_UNSUPPORTED_OPERATION', message);

/** New software material for `type`. */
export function generateMaterial(type: KeyType): Buffer {
  switch (type) {
    case 'aes256-gcm':
    case 'hmac-sha256':
      return randomBytes(32);
    case 'ed25519':
      return generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'der' });
    case 'ecdsa-p256':
      return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'der' });
  }
}

/** The SPKI PEM public key of asymmetric software material (undefined for symmetric types). */
export function publicKeyOf(type: KeyType, material: Buffer): string | undefined {
  if (type !== 'ed25519' && type !== 'ecdsa-p256') return undefined;
  return createPublicKey(createPrivateKey({ key: material, format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'pem' }) as string;
}

/** SPKI DER -> PEM. */
export function spkiPem(der: Buffer): string {
  return createPublicKey({ key: der, format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }) as string;
}

function signatureVerifier(type: KeyType, publicKeyPem: string | undefined): (input: SignInput, signature: Buffer) => boolean {
  if (publicKeyPem === undefined) return () => false;
  const publicKey = createPublicKey(publicKeyPem);
  return (input, signature) => {
    if (input.message === undefined) throw unsupported('verification needs the message');
    try {
      return verifyWith(type === 'ed25519' ? null : 'sha256', input.message, { key: publicKey, dsaEncoding: 'der' }, signature);
    } catch {
      return false;
    }
  };
}

function wrongType(type: KeyType, operation: string): never {
  throw unsupported(`a ${type} key cannot ${operation}`);
}

/** Operations over software material (copied; `dispose` zeroes the copy). */
export function softwareCrypto(type: KeyType, material: Buffer, publicKeyPem?: string): VersionCrypto {
  const secret = Buffer.from(material);
  let secretKey: KeyObject | undefined;
  let privateKey: KeyObject | undefined;
  if (type === 'aes256-gcm' || type === 'hmac-sha256') secretKey = createSecretKey(secret);
  else privateKey = createPrivateKey({ key: secret, format: 'der', type: 'pkcs8' });
  const verify = signatureVerifier(type, publicKeyPem ?? publicKeyOf(type, secret));
  return {
    encrypt(iv, plaintext, aad) {
      if (type !== 'aes256-gcm') wrongType(type, 'encrypt');
      const cipher = createCipheriv('aes-256-gcm', secretKey!, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad);
      return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    },
    decrypt(iv, sealed, aad) {
      if (type !== 'aes256-gcm') wrongType(type, 'decrypt');
      if (sealed.length < TAG_BYTES) throw decryptFailed();
      try {
        const decipher = createDecipheriv('aes-256-gcm', secretKey!, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(aad);
        decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
        return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw decryptFailed();
      }
    },
    hmac(data) {
      if (type !== 'hmac-sha256') wrongType(type, 'compute a MAC');
      return createHmac('sha256', secretKey!).update(data).digest();
    },
    sign(input) {
      if (privateKey === undefined) wrongType(type, 'sign');
      if (input.message === undefined) throw unsupported('a software key signs the message, not a digest');
      return signWith(type === 'ed25519' ? null : 'sha256', input.message, { key: privateKey, dsaEncoding: 'der' });
    },
    verify(input, signature) {
      if (privateKey === undefined) wrongType(type, 'verify');
      return verify(input, signature);
    },
    dispose() {
      secret.fill(0);
    },
  };
}

/** Operations run inside the HSM on the object labelled `label`; verification uses the public key. */
export function hsmCrypto(type: KeyType, store: HsmKeyStore, label: string, publicKeyPem?: string): VersionCrypto {
  const verify = signatureVerifier(type, publicKeyPem);
  return {
    encrypt(iv, plaintext, aad) {
      if (type !== 'aes256-gcm') wrongType(type, 'encrypt');
      return store.encrypt(label, iv, plaintext, aad);
    },
    decrypt(iv, sealed, aad) {
      if (type !== 'aes256-gcm') wrongType(type, 'decrypt');
      try {
        return store.decrypt(label, iv, sealed, aad);
      } catch (err) {
        // A lost HSM is an outage, not a bad ciphertext; everything else stays generic.
        if (isWardenError(err, 'WARDEN_SEAL_HSM_UNAVAILABLE')) throw err;
        throw decryptFailed();
      }
    },
    hmac(data) {
      if (type !== 'hmac-sha256') wrongType(type, 'compute a MAC');
      return store.hmac(label, data);
    },
    sign(input) {
      if (type !== 'ed25519' && type !== 'ecdsa-p256') wrongType(type, 'sign');
      if (type === 'ed25519') {
        if (input.message === undefined) throw unsupported('an Ed25519 key signs the message, not a digest');
        return store.sign(label, type, input.message);
      }
      const digest = input.digest ?? (input.message && createHashSha256(input.message));
      if (digest?.length !== 32) throw unsupported('an ECDSA P-256 digest is 32 bytes (SHA-256)');
      return store.sign(label, type, digest);
    },
    verify(input, signature) {
      if (type !== 'ed25519' && type !== 'ecdsa-p256') wrongType(type, 'verify');
      return verify(input, signature);
    },
    dispose() {},
  };
}

const createHashSha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();

/** Constant-time comparison of two MACs. */
export function sameMac(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
