import { constants, createPrivateKey, generateKeyPairSync, publicEncrypt, randomBytes, sign, verify } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';

import { isWardenError } from '../errors/index.js';
import {
  aesKeyUnwrapPad,
  aesKeyWrapPad,
  checkImportedMaterial,
  generateWrappingKeyPair,
  MAX_MATERIAL_BYTES,
  unwrapKeyMaterial,
  wrapKeyMaterial,
  WRAPPING_KEY_BITS,
} from './byok.js';
import type { KeyType } from './types.js';

const IMPORT_INVALID = 'WARDEN_KMS_IMPORT_INVALID';

function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isWardenError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a WardenError, but the call succeeded');
}

let pair: ReturnType<typeof generateWrappingKeyPair>;
let other: ReturnType<typeof generateWrappingKeyPair>;

beforeAll(() => {
  pair = generateWrappingKeyPair();
  other = generateWrappingKeyPair();
});

const ed25519Pkcs8 = () => generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' });
const p256Pkcs8 = () =>
  generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'der', type: 'pkcs8' });

describe('RFC 5649 AES key wrap with padding', () => {
  // RFC 5649 §6, with the 192-bit KEK.
  const kek = Buffer.from('5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8', 'hex');
  const vectors = [
    {
      name: '20-octet key',
      key: 'c37b7e6492584340bed12207808941155068f738',
      wrapped: '138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a',
    },
    { name: '7-octet key', key: '466f7250617369', wrapped: 'afbeb0f07dfbf5419200f2ccb50bb24f' },
  ];

  it.each(vectors)('wraps and unwraps the $name test vector', ({ key, wrapped }) => {
    expect(aesKeyWrapPad(kek, Buffer.from(key, 'hex')).toString('hex')).toBe(wrapped);
    expect(aesKeyUnwrapPad(kek, Buffer.from(wrapped, 'hex')).toString('hex')).toBe(key);
  });

  it.each(vectors)('refuses the $name test vector with one bit flipped', ({ wrapped }) => {
    const bytes = Buffer.from(wrapped, 'hex');
    for (const i of [0, 7, 8, bytes.length - 1]) {
      const tampered = Buffer.from(bytes);
      tampered[i]! ^= 0x01;
      expect(failure(() => aesKeyUnwrapPad(kek, tampered)).code).toBe(IMPORT_INVALID);
    }
  });

  it('refuses a wrong KEK, a malformed length and a bad KEK size', () => {
    const wrongKek = Buffer.from(kek);
    wrongKek[0]! ^= 0x80;
    expect(failure(() => aesKeyUnwrapPad(wrongKek, Buffer.from(vectors[0]!.wrapped, 'hex'))).code).toBe(IMPORT_INVALID);
    expect(failure(() => aesKeyUnwrapPad(kek, Buffer.alloc(12))).code).toBe(IMPORT_INVALID);
    expect(failure(() => aesKeyUnwrapPad(kek, Buffer.alloc(8))).code).toBe(IMPORT_INVALID);
    expect(failure(() => aesKeyWrapPad(Buffer.alloc(20), Buffer.alloc(8))).code).toBe('WARDEN_VALIDATION_FAILED');
    expect(failure(() => aesKeyWrapPad(kek, Buffer.alloc(0))).code).toBe('WARDEN_VALIDATION_FAILED');
  });

  it('round-trips every length around the 8-byte block boundaries with a 256-bit KEK', () => {
    const kek256 = randomBytes(32);
    for (let n = 1; n <= 41; n++) {
      const data = randomBytes(n);
      const wrapped = aesKeyWrapPad(kek256, data);
      expect(wrapped.length).toBe(Math.ceil(n / 8) * 8 + 8);
      expect(aesKeyUnwrapPad(kek256, wrapped).equals(data)).toBe(true);
    }
  });
});

describe('RSA_AES_KEY_WRAP_SHA_256 wrapping', () => {
  it('generates an RSA-3072 wrapping key pair', () => {
    expect(WRAPPING_KEY_BITS).toBe(3072);
    expect(pair.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const key = createPrivateKey({ key: pair.privateKeyDer, format: 'der', type: 'pkcs8' });
    expect(key.asymmetricKeyType).toBe('rsa');
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(3072);
  });

  const cases: { type: KeyType; material: () => Buffer }[] = [
    { type: 'aes256-gcm', material: () => randomBytes(32) },
    { type: 'hmac-sha256', material: () => randomBytes(48) },
    { type: 'ed25519', material: ed25519Pkcs8 },
    { type: 'ecdsa-p256', material: p256Pkcs8 },
  ];

  it.each(cases)('round-trips $type material through wrap, unwrap and check', ({ type, material }) => {
    const original = material();
    const wrapped = wrapKeyMaterial(pair.publicKeyPem, original);
    expect(wrapped.length).toBe(384 + Math.ceil(original.length / 8) * 8 + 8);
    // the material does not appear in the wrapped blob
    expect(wrapped.includes(original.subarray(0, 16))).toBe(false);
    const unwrapped = unwrapKeyMaterial(pair.privateKeyDer, wrapped);
    expect(unwrapped.equals(original)).toBe(true);
    expect(checkImportedMaterial(type, unwrapped).equals(original)).toBe(true);
  });

  it('interoperates with a hand-built blob (RSA-OAEP-SHA256 of the ephemeral key || KWP)', () => {
    const ephemeral = randomBytes(32);
    const material = randomBytes(32);
    const blob = Buffer.concat([
      publicEncrypt({ key: pair.publicKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, ephemeral),
      aesKeyWrapPad(ephemeral, material),
    ]);
    expect(unwrapKeyMaterial(pair.privateKeyDer, blob).equals(material)).toBe(true);
  });

  it('refuses a blob whose RSA part used SHA-1 OAEP (a different scheme)', () => {
    const ephemeral = randomBytes(32);
    const blob = Buffer.concat([
      publicEncrypt({ key: pair.publicKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, ephemeral),
      aesKeyWrapPad(ephemeral, randomBytes(32)),
    ]);
    expect(failure(() => unwrapKeyMaterial(pair.privateKeyDer, blob)).code).toBe(IMPORT_INVALID);
  });

  it('refuses a blob whose ephemeral key is not AES-256', () => {
    const ephemeral = randomBytes(16);
    const blob = Buffer.concat([
      publicEncrypt({ key: pair.publicKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, ephemeral),
      aesKeyWrapPad(ephemeral, randomBytes(32)),
    ]);
    expect(failure(() => unwrapKeyMaterial(pair.privateKeyDer, blob)).code).toBe(IMPORT_INVALID);
  });

  it('refuses a tampered blob, in the RSA part and in the KWP part, with one generic message', () => {
    const material = randomBytes(32);
    const wrapped = wrapKeyMaterial(pair.publicKeyPem, material);
    const messages = new Set<string>();
    for (const i of [0, 100, 383, 384, 390, wrapped.length - 1]) {
      const tampered = Buffer.from(wrapped);
      tampered[i]! ^= 0x01;
      const f = failure(() => unwrapKeyMaterial(pair.privateKeyDer, tampered));
      expect(f.code).toBe(IMPORT_INVALID);
      messages.add(f.message);
    }
    expect(messages.size).toBe(1);
  });

  it('refuses a blob wrapped for another wrapping key', () => {
    const wrapped = wrapKeyMaterial(other.publicKeyPem, randomBytes(32));
    expect(failure(() => unwrapKeyMaterial(pair.privateKeyDer, wrapped)).code).toBe(IMPORT_INVALID);
    // and the right key still works, so the failure above is the key's doing
    expect(unwrapKeyMaterial(other.privateKeyDer, wrapped).length).toBe(32);
  });

  it('refuses truncated, extended, empty and oversized blobs', () => {
    const wrapped = wrapKeyMaterial(pair.publicKeyPem, randomBytes(32));
    for (const bad of [
      Buffer.alloc(0),
      wrapped.subarray(0, 384),
      wrapped.subarray(0, 383),
      wrapped.subarray(0, 384 + 8),
      wrapped.subarray(0, wrapped.length - 1),
      wrapped.subarray(0, wrapped.length - 8),
      Buffer.concat([wrapped, Buffer.alloc(8)]),
      Buffer.concat([wrapped.subarray(0, 384), randomBytes(MAX_MATERIAL_BYTES + 16)]),
    ]) {
      expect(failure(() => unwrapKeyMaterial(pair.privateKeyDer, bad)).code).toBe(IMPORT_INVALID);
    }
  });

  it('refuses to wrap with a key that is not RSA-3072, and refuses empty or oversized material', () => {
    const rsa2048 = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'pem', type: 'spki' }) as string;
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'pem', type: 'spki' }) as string;
    expect(failure(() => wrapKeyMaterial(rsa2048, randomBytes(32))).code).toBe('WARDEN_VALIDATION_FAILED');
    expect(failure(() => wrapKeyMaterial(ec, randomBytes(32))).code).toBe('WARDEN_VALIDATION_FAILED');
    expect(failure(() => wrapKeyMaterial('not a key', randomBytes(32))).code).toBe('WARDEN_VALIDATION_FAILED');
    expect(failure(() => wrapKeyMaterial(pair.publicKeyPem, Buffer.alloc(0))).code).toBe('WARDEN_VALIDATION_FAILED');
    expect(failure(() => wrapKeyMaterial(pair.publicKeyPem, Buffer.alloc(MAX_MATERIAL_BYTES + 1))).code).toBe(
      'WARDEN_VALIDATION_FAILED',
    );
  });

  it('treats an unusable wrapping private key as an internal error, not as a bad import', () => {
    const wrapped = wrapKeyMaterial(pair.publicKeyPem, randomBytes(32));
    expect(failure(() => unwrapKeyMaterial(Buffer.from('garbage'), wrapped)).code).toBe('WARDEN_INTERNAL');
    const rsa2048 = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'der', type: 'pkcs8' });
    expect(failure(() => unwrapKeyMaterial(rsa2048, wrapped)).code).toBe('WARDEN_INTERNAL');
  });
});

describe('checkImportedMaterial', () => {
  it('accepts exactly 32 bytes for aes256-gcm and refuses other lengths', () => {
    expect(checkImportedMaterial('aes256-gcm', randomBytes(32)).length).toBe(32);
    for (const n of [0, 16, 24, 31, 33, 64]) {
      const f = failure(() => checkImportedMaterial('aes256-gcm', randomBytes(n)));
      expect(f.code).toBe(IMPORT_INVALID);
      expect(f.message).toContain('exactly 32 bytes');
    }
  });

  it('accepts 32..64 bytes for hmac-sha256 and refuses other lengths', () => {
    for (const n of [32, 33, 64]) expect(checkImportedMaterial('hmac-sha256', randomBytes(n)).length).toBe(n);
    for (const n of [0, 16, 31, 65, 128]) {
      expect(failure(() => checkImportedMaterial('hmac-sha256', randomBytes(n))).code).toBe(IMPORT_INVALID);
    }
  });

  it('returns a copy, not a view of the caller’s buffer', () => {
    const material = randomBytes(32);
    const checked = checkImportedMaterial('aes256-gcm', material);
    material.fill(0);
    expect(checked.equals(Buffer.alloc(32))).toBe(false);
  });

  it('accepts an Ed25519 PKCS#8 key and it still signs', () => {
    const der = checkImportedMaterial('ed25519', ed25519Pkcs8());
    const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    const sig = sign(null, Buffer.from('m'), key);
    expect(verify(null, Buffer.from('m'), key, sig)).toBe(true);
  });

  it('accepts a P-256 PKCS#8 key on the prime256v1 named curve', () => {
    const der = checkImportedMaterial('ecdsa-p256', p256Pkcs8());
    const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    expect(key.asymmetricKeyType).toBe('ec');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('refuses asymmetric material of the wrong type, naming the problem without echoing material', () => {
    const ed = ed25519Pkcs8();
    const p256 = p256Pkcs8();
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({ format: 'der', type: 'pkcs8' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'der', type: 'pkcs8' });
    const x25519 = generateKeyPairSync('x25519').privateKey.export({ format: 'der', type: 'pkcs8' });
    const cases: [KeyType, Buffer][] = [
      ['ed25519', p256],
      ['ed25519', x25519],
      ['ed25519', rsa],
      ['ecdsa-p256', ed],
      ['ecdsa-p256', p384],
      ['ecdsa-p256', rsa],
    ];
    for (const [type, material] of cases) {
      const f = failure(() => checkImportedMaterial(type, material));
      expect(f.code).toBe(IMPORT_INVALID);
      expect(f.message).toContain('different key type');
      expect(f.message).not.toContain(material.toString('hex').slice(-16));
      expect(f.message).not.toContain(material.toString('base64').slice(-16));
    }
  });

  it('refuses raw bytes, SEC1, SPKI and oversized input where PKCS#8 is required', () => {
    const sec1 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'der', type: 'sec1' });
    const spki = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
    for (const [type, material] of [
      ['ed25519', randomBytes(32)],
      ['ecdsa-p256', randomBytes(32)],
      ['ecdsa-p256', sec1],
      ['ed25519', spki],
      ['ed25519', Buffer.alloc(0)],
      ['ed25519', Buffer.alloc(MAX_MATERIAL_BYTES + 1)],
    ] as [KeyType, Buffer][]) {
      const f = failure(() => checkImportedMaterial(type, material));
      expect(f.code).toBe(IMPORT_INVALID);
      expect(f.message).toMatch(/PKCS#8|too large/);
    }
  });

  it('refuses an unknown key type', () => {
    expect(failure(() => checkImportedMaterial('rsa-4096' as KeyType, randomBytes(32))).code).toBe(IMPORT_INVALID);
  });
});
