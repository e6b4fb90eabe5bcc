import {
  createCipheriv,
  createHash,
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign as softwareSign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyType as CkKeyType, Module, ObjectClass, type Session, type SessionObject } from 'graphene-pk11';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { isWardenError } from '../errors/index.js';
import { createSeal } from '../seal/seal.js';
import { createSoftHsmToken, openSoftHsmSession, withSoftHsmSession, type SoftHsmToken } from '../testing/softhsm.js';
import { ecdsaSignatureToDer, openHsmKeyStore, type HsmKeyConfig, type HsmKeyStore } from './hsm-keys.js';
import type { KeyType } from './types.js';

let token: SoftHsmToken;
let store: HsmKeyStore;
let counter = 0;

beforeAll(async () => {
  token = await createSoftHsmToken({ label: 'warden-kms-test' });
});
afterAll(async () => {
  await token?.cleanup();
});
beforeEach(() => {
  store = openHsmKeyStore(config());
});
afterEach(() => {
  store.close();
});

const config = (overrides: Partial<HsmKeyConfig> = {}): HsmKeyConfig => ({
  library: token.library,
  tokenLabel: token.label,
  pin: token.pin,
  ...overrides,
});

/** A fresh label per call, so tests never see each other's keys. */
const newLabel = (prefix = 'k') => `warden-kms-test-${prefix}-${++counter}`;

function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isWardenError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a WardenError, but the call succeeded');
}

/** Decryption must fail with the one generic code and message. */
function decryptFailure(fn: () => unknown): { code: string; message: string } {
  const f = failure(fn);
  expect(f.code).toBe('WARDEN_KMS_DECRYPT_FAILED');
  return f;
}

/** Inspect the token directly: close the store (it owns Cryptoki), work, then reopen it. */
function inspect<T>(fn: (session: Session) => T): T {
  store.close();
  try {
    return withSoftHsmSession(token, fn);
  } finally {
    store = openHsmKeyStore(config());
  }
}

const objects = (session: Session, label: string): SessionObject[] => {
  const found = session.find({ label });
  return Array.from({ length: found.length }, (_, i) => found.items(i));
};

const spkiKey = (spki: Buffer | undefined): KeyObject => {
  expect(spki).toBeInstanceOf(Buffer);
  return createPublicKey({ key: spki!, format: 'der', type: 'spki' });
};

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();

describe('HSM keys: aes256-gcm', () => {
  it('round-trips, with ciphertext || 16-byte tag, including empty plaintext and AAD', () => {
    const label = newLabel('aes');
    expect(store.generate('aes256-gcm', label)).toEqual({});
    for (const [plaintext, aad] of [
      [Buffer.from('attack at dawn'), Buffer.from('context')],
      [Buffer.alloc(0), Buffer.alloc(0)],
      [randomBytes(5000), randomBytes(100)],
    ] as const) {
      const iv = randomBytes(12);
      const sealed = store.encrypt(label, iv, plaintext, aad);
      expect(sealed.length).toBe(plaintext.length + 16);
      if (plaintext.length >= 8) expect(sealed.includes(plaintext.subarray(0, 8))).toBe(false);
      expect(store.decrypt(label, iv, sealed, aad).equals(plaintext)).toBe(true);
    }
  });

  it('is standard AES-256-GCM (known key placed in the token agrees with node:crypto)', () => {
    const label = newLabel('aes-kat');
    const value = randomBytes(32);
    inspect((session) =>
      session.create({
        class: ObjectClass.SECRET_KEY,
        keyType: CkKeyType.AES,
        label,
        token: true,
        private: true,
        sensitive: true,
        extractable: false,
        encrypt: true,
        decrypt: true,
        value,
      }),
    );
    for (const plaintext of [Buffer.from('known answer'), Buffer.alloc(0)]) {
      const iv = randomBytes(12);
      const aad = Buffer.from('aad');
      const cipher = createCipheriv('aes-256-gcm', value, iv);
      cipher.setAAD(aad);
      const expected = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
      expect(store.encrypt(label, iv, plaintext, aad).equals(expected)).toBe(true);
      expect(store.decrypt(label, iv, expected, aad).equals(plaintext)).toBe(true);
    }
  });

  it('refuses tampered ciphertext, tag, AAD or IV, another key, and malformed input, all with one generic error', () => {
    const label = newLabel('aes');
    const other = newLabel('aes-other');
    const mac = newLabel('hmac');
    store.generate('aes256-gcm', label);
    store.generate('aes256-gcm', other);
    store.generate('hmac-sha256', mac);
    const iv = randomBytes(12);
    const aad = Buffer.from('tenant=a');
    const sealed = store.encrypt(label, iv, Buffer.from('secret value'), aad);
    const flip = (b: Buffer, i: number) => {
      const c = Buffer.from(b);
      c[i]! ^= 0x01;
      return c;
    };
    const attempts: (() => unknown)[] = [
      () => store.decrypt(label, iv, flip(sealed, 0), aad),
      () => store.decrypt(label, iv, flip(sealed, sealed.length - 1), aad),
      () => store.decrypt(label, iv, sealed, Buffer.from('tenant=b')),
      () => store.decrypt(label, iv, sealed, Buffer.alloc(0)),
      () => store.decrypt(label, flip(iv, 3), sealed, aad),
      () => store.decrypt(other, iv, sealed, aad),
      () => store.decrypt(mac, iv, sealed, aad),
      () => store.decrypt(newLabel('absent'), iv, sealed, aad),
      () => store.decrypt(label, iv, sealed.subarray(0, 15), aad),
      () => store.decrypt(label, iv, sealed.subarray(0, sealed.length - 1), aad),
      () => store.decrypt(label, iv.subarray(0, 11), sealed, aad),
    ];
    const messages = new Set(attempts.map((attempt) => decryptFailure(attempt).message));
    expect([...messages]).toEqual(['decryption failed']);
    // the session is still usable after failed decryptions
    expect(store.decrypt(label, iv, sealed, aad).toString()).toBe('secret value');
  });

  it('refuses a bad IV length and non-AES keys when encrypting', () => {
    const label = newLabel('aes');
    const mac = newLabel('hmac');
    store.generate('aes256-gcm', label);
    store.generate('hmac-sha256', mac);
    expect(failure(() => store.encrypt(label, randomBytes(16), Buffer.from('x'), Buffer.alloc(0))).code).toBe(
      'WARDEN_VALIDATION_FAILED',
    );
    expect(failure(() => store.encrypt(mac, randomBytes(12), Buffer.from('x'), Buffer.alloc(0))).code).toBe(
      'WARDEN_VALIDATION_FAILED',
    );
    expect(failure(() => store.encrypt(newLabel('absent'), randomBytes(12), Buffer.from('x'), Buffer.alloc(0))).code).toBe(
      'WARDEN_NOT_FOUND',
    );
  });
});

describe('HSM keys: hmac-sha256', () => {
  it('computes a deterministic 32-byte MAC that depends on data and key', () => {
    const a = newLabel('hmac');
    const b = newLabel('hmac');
    store.generate('hmac-sha256', a);
    store.generate('hmac-sha256', b);
    const mac = store.hmac(a, Buffer.from('data'));
    expect(mac.length).toBe(32);
    expect(store.hmac(a, Buffer.from('data')).equals(mac)).toBe(true);
    expect(store.hmac(a, Buffer.from('datb')).equals(mac)).toBe(false);
    expect(store.hmac(b, Buffer.from('data')).equals(mac)).toBe(false);
  });

  it('is standard HMAC-SHA256 (known key placed in the token agrees with node:crypto)', () => {
    const label = newLabel('hmac-kat');
    const value = randomBytes(32);
    inspect((session) =>
      session.create({
        class: ObjectClass.SECRET_KEY,
        keyType: CkKeyType.GENERIC_SECRET,
        label,
        token: true,
        private: true,
        sensitive: true,
        extractable: false,
        sign: true,
        value,
      }),
    );
    for (const data of [randomBytes(200), Buffer.alloc(0)]) {
      expect(store.hmac(label, data).equals(createHmac('sha256', value).update(data).digest())).toBe(true);
    }
  });

  it('refuses an AES key', () => {
    const label = newLabel('aes');
    store.generate('aes256-gcm', label);
    expect(failure(() => store.hmac(label, Buffer.from('x'))).code).toBe('WARDEN_VALIDATION_FAILED');
  });
});

describe('HSM keys: signatures', () => {
  it('ed25519: returns an Ed25519 SPKI, and signatures verify with node:crypto', () => {
    const label = newLabel('ed');
    const other = newLabel('ed');
    const publicKey = spkiKey(store.generate('ed25519', label).publicKeySpki);
    const otherKey = spkiKey(store.generate('ed25519', other).publicKeySpki);
    expect(publicKey.asymmetricKeyType).toBe('ed25519');
    const message = Buffer.from('pay 10 to bob');
    const sig = store.sign(label, 'ed25519', message);
    expect(sig.length).toBe(64);
    expect(verify(null, message, publicKey, sig)).toBe(true);
    expect(verify(null, Buffer.from('pay 99 to bob'), publicKey, sig)).toBe(false);
    const tampered = Buffer.from(sig);
    tampered[10]! ^= 0x01;
    expect(verify(null, message, publicKey, tampered)).toBe(false);
    expect(verify(null, message, otherKey, sig)).toBe(false);
    expect(verify(null, randomBytes(10000), publicKey, sig)).toBe(false);
  });

  it('ecdsa-p256: returns a P-256 SPKI, and DER signatures of the digest verify with node:crypto', () => {
    const label = newLabel('ec');
    const other = newLabel('ec');
    const publicKey = spkiKey(store.generate('ecdsa-p256', label).publicKeySpki);
    const otherKey = spkiKey(store.generate('ecdsa-p256', other).publicKeySpki);
    expect(publicKey.asymmetricKeyType).toBe('ec');
    expect(publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    // many signatures, so r and s with the high bit set (DER needs a leading zero) are covered
    for (let i = 0; i < 24; i++) {
      const message = randomBytes(40);
      const sig = store.sign(label, 'ecdsa-p256', sha256(message));
      expect(sig[0]).toBe(0x30);
      expect(verify('sha256', message, publicKey, sig)).toBe(true);
      expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'der' }, sig)).toBe(true);
      expect(verify('sha256', Buffer.concat([message, Buffer.of(0)]), publicKey, sig)).toBe(false);
      expect(verify('sha256', message, otherKey, sig)).toBe(false);
    }
  });

  it('refuses a digest that is not 32 bytes, the wrong key type, and a missing key', () => {
    const ec = newLabel('ec');
    const ed = newLabel('ed');
    store.generate('ecdsa-p256', ec);
    store.generate('ed25519', ed);
    expect(failure(() => store.sign(ec, 'ecdsa-p256', Buffer.from('not a digest'))).code).toBe('WARDEN_VALIDATION_FAILED');
    expect(failure(() => store.sign(ec, 'ed25519', Buffer.from('m'))).code).toBe('WARDEN_VALIDATION_FAILED');
    expect(failure(() => store.sign(ed, 'ecdsa-p256', randomBytes(32))).code).toBe('WARDEN_VALIDATION_FAILED');
    expect(failure(() => store.sign(newLabel('absent'), 'ed25519', Buffer.from('m'))).code).toBe('WARDEN_NOT_FOUND');
    expect(failure(() => store.sign(ed, 'ed25519', Buffer.alloc(0))).code).toBe('WARDEN_VALIDATION_FAILED');
    // and the session is still usable afterwards
    expect(store.sign(ed, 'ed25519', Buffer.from('m')).length).toBe(64);
    expect(failure(() => store.sign(ec, 'rsa' as 'ed25519', Buffer.from('m'))).code).toBe('WARDEN_VALIDATION_FAILED');
  });

  it('converts raw r || s to minimal DER, including leading zeros and high bits', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    for (let i = 0; i < 64; i++) {
      const message = randomBytes(16);
      const raw = softwareSign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      expect(verify('sha256', message, publicKey, ecdsaSignatureToDer(raw))).toBe(true);
    }
    const r = Buffer.concat([Buffer.of(0, 0, 0x7f), Buffer.alloc(29, 0x11)]);
    const s = Buffer.concat([Buffer.of(0x80), Buffer.alloc(31, 0x22)]);
    expect(ecdsaSignatureToDer(Buffer.concat([r, s])).toString('hex')).toBe(
      '3043' + '021e' + '7f' + '11'.repeat(29) + '0221' + '0080' + '22'.repeat(31),
    );
    expect(ecdsaSignatureToDer(Buffer.concat([Buffer.alloc(32), Buffer.alloc(31), Buffer.of(1)])).toString('hex')).toBe(
      '3006020100020101',
    );
    expect(failure(() => ecdsaSignatureToDer(Buffer.alloc(63))).code).toBe('WARDEN_SEAL_HSM_UNAVAILABLE');
  });
});

describe('HSM keys: residency, generation and destruction', () => {
  const types: KeyType[] = ['aes256-gcm', 'hmac-sha256', 'ed25519', 'ecdsa-p256'];

  it('generates every type as sensitive, non-extractable token objects whose value cannot be read', () => {
    const labels = types.map((type) => {
      const label = newLabel(type);
      store.generate(type, label);
      expect(store.isResident(label)).toBe(true);
      return [type, label] as const;
    });
    inspect((session) => {
      for (const [type, label] of labels) {
        const found = objects(session, label);
        expect(found.length).toBe(type === 'ed25519' || type === 'ecdsa-p256' ? 2 : 1);
        for (const o of found) {
          const cls = o.getAttribute({ class: null }).class;
          expect(o.getAttribute({ token: null }).token).toBe(true);
          if (cls === ObjectClass.PUBLIC_KEY) continue;
          expect([ObjectClass.SECRET_KEY, ObjectClass.PRIVATE_KEY]).toContain(cls);
          const a = o.getAttribute({ private: null, sensitive: null, extractable: null, neverExtractable: null, alwaysSensitive: null });
          expect(a).toEqual({ private: true, sensitive: true, extractable: false, neverExtractable: true, alwaysSensitive: true });
          expect(() => o.getAttribute({ value: null })).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
        }
      }
    });
  });

  it('keys outlive the store: a reopened store decrypts and signs with them', () => {
    const aes = newLabel('aes');
    const ed = newLabel('ed');
    store.generate('aes256-gcm', aes);
    const publicKey = spkiKey(store.generate('ed25519', ed).publicKeySpki);
    const iv = randomBytes(12);
    const sealed = store.encrypt(aes, iv, Buffer.from('persisted'), Buffer.alloc(0));
    store.close();
    store = openHsmKeyStore(config());
    expect(store.decrypt(aes, iv, sealed, Buffer.alloc(0)).toString()).toBe('persisted');
    expect(verify(null, Buffer.from('m'), publicKey, store.sign(ed, 'ed25519', Buffer.from('m')))).toBe(true);
  });

  it('refuses to generate over an existing label', () => {
    const label = newLabel('dup');
    store.generate('ed25519', label);
    expect(failure(() => store.generate('aes256-gcm', label)).code).toBe('WARDEN_CONFLICT');
    expect(failure(() => store.generate('ed25519', label)).code).toBe('WARDEN_CONFLICT');
  });

  it.each(types)('destroy shreds a %s key: every object is gone, the key is unusable, destroy is idempotent', (type) => {
    const label = newLabel('shred');
    store.generate(type, label);
    // use it once so the store has it cached
    const use = () => {
      if (type === 'aes256-gcm') return store.encrypt(label, randomBytes(12), Buffer.from('x'), Buffer.alloc(0));
      if (type === 'hmac-sha256') return store.hmac(label, Buffer.from('x'));
      return store.sign(label, type, randomBytes(32));
    };
    use();
    store.destroy(label);
    expect(store.isResident(label)).toBe(false);
    expect(failure(use).code).toBe('WARDEN_NOT_FOUND');
    store.destroy(label);
    expect(inspect((session) => objects(session, label).length)).toBe(0);
    // the label is free again, for a new key
    store.generate(type, label);
    expect(store.isResident(label)).toBe(true);
  });

  it('destroy reaches a key another store used (no stale cache survives elsewhere either)', () => {
    const label = newLabel('aes');
    store.generate('aes256-gcm', label);
    const iv = randomBytes(12);
    const sealed = store.encrypt(label, iv, Buffer.from('x'), Buffer.alloc(0));
    const second = openHsmKeyStore(config());
    try {
      second.destroy(label);
      decryptFailure(() => store.decrypt(label, iv, sealed, Buffer.alloc(0)));
    } finally {
      second.close();
    }
  });

  it('refuses to use a planted key that is extractable, and does not count it as resident', () => {
    const label = newLabel('planted');
    inspect((session) =>
      session.create({
        class: ObjectClass.SECRET_KEY,
        keyType: CkKeyType.AES,
        label,
        token: true,
        private: true,
        sensitive: false,
        extractable: true,
        encrypt: true,
        decrypt: true,
        value: randomBytes(32),
      }),
    );
    expect(store.isResident(label)).toBe(false);
    const f = failure(() => store.encrypt(label, randomBytes(12), Buffer.from('x'), Buffer.alloc(0)));
    expect(f.code).toBe('WARDEN_SEAL_HSM_UNAVAILABLE');
    expect(f.message).toContain('refusing');
  });

  it('isResident is false for a label with no key', () => {
    expect(store.isResident(newLabel('absent'))).toBe(false);
  });

  it('refuses bad labels and unknown types', () => {
    for (const label of ['', 'x'.repeat(129), 'caf\u00e9', 'line\nbreak']) {
      expect(failure(() => store.generate('aes256-gcm', label)).code).toBe('WARDEN_VALIDATION_FAILED');
      expect(failure(() => store.destroy(label)).code).toBe('WARDEN_VALIDATION_FAILED');
    }
    expect(failure(() => store.generate('rsa-2048' as KeyType, newLabel('bad'))).code).toBe('WARDEN_VALIDATION_FAILED');
    expect(failure(() => store.generate('toString' as KeyType, newLabel('bad'))).code).toBe('WARDEN_VALIDATION_FAILED');
  });
});

describe('HSM keys: opening, sessions and coexistence with the seal', () => {
  it('a wrong PIN, a missing token, a missing library and an empty PIN are refused with their codes', () => {
    store.close();
    expect(failure(() => openHsmKeyStore(config({ pin: 'wrong-pin' }))).code).toBe('WARDEN_SEAL_UNSEAL_FAILED');
    expect(failure(() => openHsmKeyStore(config({ tokenLabel: 'no-such-token' }))).code).toBe('WARDEN_SEAL_HSM_UNAVAILABLE');
    expect(failure(() => openHsmKeyStore(config({ library: '/nonexistent/libpkcs11.so' }))).code).toBe(
      'WARDEN_SEAL_HSM_UNAVAILABLE',
    );
    expect(failure(() => openHsmKeyStore(config({ pin: '' }))).code).toBe('WARDEN_SEAL_SECRET_MISSING');
    // a failed open leaves Cryptoki finalized: the helper's initialize would throw otherwise
    expect(withSoftHsmSession(token, () => 'ok')).toBe('ok');
  });

  it('the PIN never appears in an error message', () => {
    store.close();
    const pin = 'pin-that-is-wrong-4711';
    expect(failure(() => openHsmKeyStore(config({ pin }))).message).not.toContain(pin);
  });

  it('after close, every call is refused and close is idempotent', () => {
    const label = newLabel('aes');
    store.generate('aes256-gcm', label);
    store.close();
    expect(failure(() => store.encrypt(label, randomBytes(12), Buffer.from('x'), Buffer.alloc(0))).code).toBe(
      'WARDEN_SEAL_HSM_UNAVAILABLE',
    );
    expect(failure(() => store.isResident(label)).code).toBe('WARDEN_SEAL_HSM_UNAVAILABLE');
    store.close();
  });

  it('reconnects once when another component finalizes Cryptoki underneath it', () => {
    const label = newLabel('hmac');
    store.generate('hmac-sha256', label);
    const before = store.hmac(label, Buffer.from('data'));
    const other = Module.load(token.library);
    other.finalize();
    other.close();
    expect(store.hmac(label, Buffer.from('data')).equals(before)).toBe(true);
  });

  it('does not finalize or log out a Cryptoki it did not initialize', () => {
    store.close();
    const outer = openSoftHsmSession(token);
    try {
      const inner = openHsmKeyStore(config());
      const label = newLabel('aes');
      inner.generate('aes256-gcm', label);
      inner.close();
      // the outer session is still open and logged in: it can see the private object
      const found = outer.session.find({ class: ObjectClass.SECRET_KEY, label });
      expect(found.length).toBe(1);
    } finally {
      outer.release();
    }
  });

  it('coexists with the pkcs11 seal on the same token in the same process', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'warden-hsm-keys-'));
    try {
      const seal = createSeal(
        {
          kind: 'pkcs11',
          path: join(dir, 'seal.json'),
          library: token.library,
          tokenLabel: token.label,
          keyLabel: newLabel('seal-root'),
          pinEnv: 'WARDEN_PKCS11_PIN',
        },
        { pin: token.pin },
      );
      const label = newLabel('aes');
      store.generate('aes256-gcm', label);
      const iv = randomBytes(12);
      const sealed = store.encrypt(label, iv, Buffer.from('x'), Buffer.alloc(0));
      const rootKey = await seal.initialize();
      expect((await seal.unseal()).equals(rootKey)).toBe(true);
      // the seal neither finalized Cryptoki nor logged the store out
      expect(store.decrypt(label, iv, sealed, Buffer.alloc(0)).toString()).toBe('x');
      store.close();
      // and with the store closed, the seal works on its own
      expect((await seal.unseal()).equals(rootKey)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
