import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyGenMechanism, KeyType, ObjectClass, type SecretKey } from 'graphene-pk11';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { SealConfig } from '../config/schema.js';
import { isWardenError } from '../errors/index.js';
import { createSoftHsmToken, openSoftHsmSession, withSoftHsmSession, type SoftHsmToken } from '../testing/softhsm.js';
import { createSeal, type Seal } from './seal.js';

type Pkcs11Config = Extract<SealConfig, { kind: 'pkcs11' }>;

let token: SoftHsmToken;
let dir: string;
let keyCounter = 0;
let keyLabel: string;

beforeAll(async () => {
  token = await createSoftHsmToken({ label: 'warden-test' });
});
afterAll(async () => {
  await token?.cleanup();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warden-pkcs11-seal-'));
  // a fresh key label per test so tests do not see each other's keys
  keyLabel = `warden-root-${++keyCounter}`;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function config(overrides: Partial<Pkcs11Config> = {}): Pkcs11Config {
  return {
    kind: 'pkcs11',
    path: join(dir, 'seal.json'),
    library: token.library,
    tokenLabel: token.label,
    keyLabel,
    pinEnv: 'WARDEN_PKCS11_PIN',
    ...overrides,
  };
}

const seal = (...args: [overrides?: Partial<Pkcs11Config>, pin?: string | undefined]): Seal =>
  createSeal(config(args[0]), { pin: args.length < 2 ? token.pin : args[1] });

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (isWardenError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a WardenError, but the call succeeded');
}

function findKeys(label: string): SecretKey[] {
  return withSoftHsmSession(token, (session) =>
    Array.from(session.find({ class: ObjectClass.SECRET_KEY, label })).map((o) => o.toType<SecretKey>()),
  );
}

async function readMaterial(): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(dir, 'seal.json'), 'utf8')) as Record<string, unknown>;
}

async function writeMaterial(material: unknown): Promise<void> {
  const path = join(dir, 'seal.json');
  await rm(path, { force: true });
  await writeFile(path, JSON.stringify(material), { mode: 0o600 });
}

describe('pkcs11 seal (real SoftHSM2 token)', () => {
  it('round-trips the root key', async () => {
    const s = seal();
    expect(s.kind).toBe('pkcs11');
    expect(await s.exists()).toBe(false);
    const key = await s.initialize();
    expect(key).toHaveLength(32);
    expect(await s.exists()).toBe(true);
    expect((await seal().unseal()).equals(key)).toBe(true);
    // and again: the library can be initialized and finalized repeatedly
    expect((await seal().unseal()).equals(key)).toBe(true);
  });

  it('writes the documented format with mode 0600 and without the root key', async () => {
    const key = await seal().initialize();
    const path = join(dir, 'seal.json');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const m = await readMaterial();
    expect(m).toMatchObject({ version: 1, kind: 'pkcs11', tokenLabel: token.label, keyLabel, mechanism: 'CKM_AES_GCM' });
    expect(Object.keys(m).sort()).toEqual(['ciphertext', 'iv', 'keyLabel', 'kind', 'mechanism', 'tokenLabel', 'version']);
    expect(Buffer.from(m.iv as string, 'base64')).toHaveLength(12);
    expect(Buffer.from(m.ciphertext as string, 'base64')).toHaveLength(48);
    const file = await readFile(path);
    expect(file.includes(key)).toBe(false);
    expect(file.toString()).not.toContain(key.toString('base64'));
    expect(file.toString()).not.toContain(key.toString('hex'));
    expect(file.toString()).not.toContain(token.pin);
    expect(await readdir(dir)).toEqual(['seal.json']);
  });

  it('generates a token, private, sensitive, non-extractable AES-256 key in the token', async () => {
    expect(findKeys(keyLabel)).toHaveLength(0);
    await seal().initialize();
    withSoftHsmSession(token, (session) => {
      const found = Array.from(session.find({ class: ObjectClass.SECRET_KEY, label: keyLabel }));
      expect(found).toHaveLength(1);
      const key = found[0]!.toType<SecretKey>();
      const attrs = key.getAttribute({
        keyType: null,
        valueLen: null,
        token: null,
        private: null,
        sensitive: null,
        extractable: null,
        alwaysSensitive: null,
        neverExtractable: null,
        encrypt: null,
        decrypt: null,
      });
      expect(attrs).toEqual({
        keyType: KeyType.AES,
        valueLen: 32,
        token: true,
        private: true,
        sensitive: true,
        extractable: false,
        alwaysSensitive: true,
        neverExtractable: true,
        encrypt: true,
        decrypt: true,
      });
      // The key value itself cannot be read out of the token.
      expect(() => key.getAttribute({ value: null })).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
    });
  });

  it('reuses a pre-existing key with the label instead of creating another', async () => {
    const handle = withSoftHsmSession(token, (session) =>
      session
        .generateKey(KeyGenMechanism.AES, {
          class: ObjectClass.SECRET_KEY,
          keyType: KeyType.AES,
          label: keyLabel,
          valueLen: 32,
          token: true,
          private: true,
          sensitive: true,
          extractable: false,
          encrypt: true,
          decrypt: true,
        })
        .handle.toString('hex'),
    );
    const rootKey = await seal().initialize();
    const keys = findKeys(keyLabel);
    expect(keys).toHaveLength(1);
    expect(keys[0]!.handle.toString('hex')).toBe(handle);
    expect((await seal().unseal()).equals(rootKey)).toBe(true);
  });

  it('refuses a pre-existing key that is extractable', async () => {
    withSoftHsmSession(token, (session) =>
      session.generateKey(KeyGenMechanism.AES, {
        class: ObjectClass.SECRET_KEY,
        keyType: KeyType.AES,
        label: keyLabel,
        valueLen: 32,
        token: true,
        private: true,
        sensitive: false,
        extractable: true,
        encrypt: true,
        decrypt: true,
      }),
    );
    expect((await failure(seal().initialize())).code).toBe('WARDEN_SEAL_HSM_UNAVAILABLE');
    expect(await readdir(dir)).toEqual([]);
  });

  it('a new key label gets a new key: two seals on one token are independent', async () => {
    const a = await seal().initialize();
    const other = join(dir, 'other.json');
    const b = await seal({ keyLabel: `${keyLabel}-b`, path: other }).initialize();
    expect(a.equals(b)).toBe(false);
    expect(findKeys(keyLabel)).toHaveLength(1);
    expect(findKeys(`${keyLabel}-b`)).toHaveLength(1);
  });

  it('refuses a wrong PIN with UNSEAL_FAILED and writes nothing', async () => {
    await seal().initialize();
    const path = join(dir, 'seal.json');
    const bytes = await readFile(path);
    const { mtimeMs } = await stat(path);
    const f = await failure(seal({}, `${token.pin}x`).unseal());
    expect(f.code).toBe('WARDEN_SEAL_UNSEAL_FAILED');
    expect(f.message).not.toContain(token.pin);
    expect((await readFile(path)).equals(bytes)).toBe(true);
    expect((await stat(path)).mtimeMs).toBe(mtimeMs);
    // The correct PIN still works (the wrong one did not lock the token).
    await seal().unseal();
  });

  it('a wrong PIN at initialize fails and writes nothing', async () => {
    expect((await failure(seal({}, 'not-the-pin').initialize())).code).toBe('WARDEN_SEAL_UNSEAL_FAILED');
    expect(await readdir(dir)).toEqual([]);
    expect(findKeys(keyLabel)).toHaveLength(0);
  });

  it.each([undefined, ''])('refuses a missing PIN (%j)', async (pin) => {
    expect((await failure(seal({}, pin).initialize())).code).toBe('WARDEN_SEAL_SECRET_MISSING');
    expect(await readdir(dir)).toEqual([]);
    await seal().initialize();
    expect((await failure(seal({}, pin).unseal())).code).toBe('WARDEN_SEAL_SECRET_MISSING');
  });

  it('an unknown token label is HSM_UNAVAILABLE', async () => {
    await seal().initialize();
    const material = await readMaterial();
    await writeMaterial({ ...material, tokenLabel: 'no-such-token' });
    expect((await failure(seal({ tokenLabel: 'no-such-token' }).unseal())).code).toBe('WARDEN_SEAL_HSM_UNAVAILABLE');
    await rm(join(dir, 'seal.json'));
    const f = await failure(seal({ tokenLabel: 'no-such-token' }).initialize());
    expect(f.code).toBe('WARDEN_SEAL_HSM_UNAVAILABLE');
    expect(f.message).toContain('no-such-token');
    expect(await readdir(dir)).toEqual([]);
  });

  it('a bad library path is HSM_UNAVAILABLE', async () => {
    const library = join(dir, 'no-such-libpkcs11.so');
    expect((await failure(seal({ library }).initialize())).code).toBe('WARDEN_SEAL_HSM_UNAVAILABLE');
    expect(await readdir(dir)).toEqual([]);
    await seal().initialize();
    expect((await failure(seal({ library }).unseal())).code).toBe('WARDEN_SEAL_HSM_UNAVAILABLE');
  });

  it('a file that is not a PKCS#11 library is HSM_UNAVAILABLE', async () => {
    const library = join(dir, 'fake.so');
    await writeFile(library, 'not an ELF file');
    expect((await failure(seal({ library, path: join(dir, 'x.json') }).initialize())).code).toBe(
      'WARDEN_SEAL_HSM_UNAVAILABLE',
    );
  });

  it('a missing key at unseal is HSM_UNAVAILABLE', async () => {
    await seal().initialize();
    withSoftHsmSession(token, (session) => session.destroy({ class: ObjectClass.SECRET_KEY, label: keyLabel }));
    expect((await failure(seal().unseal())).code).toBe('WARDEN_SEAL_HSM_UNAVAILABLE');
  });

  it('material created for another key label is refused', async () => {
    await seal().initialize();
    expect((await failure(seal({ keyLabel: 'some-other-key' }).unseal())).code).toBe('WARDEN_SEAL_UNSEAL_FAILED');
  });

  it('a key with the right label but different value cannot unseal', async () => {
    await seal().initialize();
    withSoftHsmSession(token, (session) => {
      session.destroy({ class: ObjectClass.SECRET_KEY, label: keyLabel });
      session.generateKey(KeyGenMechanism.AES, {
        class: ObjectClass.SECRET_KEY,
        keyType: KeyType.AES,
        label: keyLabel,
        valueLen: 32,
        token: true,
        private: true,
        sensitive: true,
        extractable: false,
        encrypt: true,
        decrypt: true,
      });
    });
    expect((await failure(seal().unseal())).code).toBe('WARDEN_SEAL_UNSEAL_FAILED');
  });

  describe('tampering', () => {
    const flip = (b64: string, index: number): string => {
      const b = Buffer.from(b64, 'base64');
      b[index] = b[index]! ^ 0x80;
      return b.toString('base64');
    };

    it.each([0, 31, 32, 47])('a flipped bit in ciphertext byte %d is UNSEAL_FAILED', async (index) => {
      await seal().initialize();
      const m = await readMaterial();
      await writeMaterial({ ...m, ciphertext: flip(m.ciphertext as string, index) });
      expect((await failure(seal().unseal())).code).toBe('WARDEN_SEAL_UNSEAL_FAILED');
    });

    it('a flipped bit in the IV is UNSEAL_FAILED', async () => {
      await seal().initialize();
      const m = await readMaterial();
      await writeMaterial({ ...m, iv: flip(m.iv as string, 0) });
      expect((await failure(seal().unseal())).code).toBe('WARDEN_SEAL_UNSEAL_FAILED');
    });

    it.each([
      ['not JSON', () => 'nope'],
      ['wrong kind', (m: Record<string, unknown>) => ({ ...m, kind: 'passphrase' })],
      ['wrong mechanism', (m: Record<string, unknown>) => ({ ...m, mechanism: 'CKM_AES_CBC' })],
      ['truncated ciphertext', (m: Record<string, unknown>) => ({ ...m, ciphertext: Buffer.alloc(32).toString('base64') })],
      ['unknown key', (m: Record<string, unknown>) => ({ ...m, extra: 1 })],
    ])('malformed material (%s) is UNSEAL_FAILED', async (_name, mutate) => {
      await seal().initialize();
      const out = mutate(await readMaterial());
      const path = join(dir, 'seal.json');
      await rm(path);
      await writeFile(path, typeof out === 'string' ? out : JSON.stringify(out), { mode: 0o600 });
      expect((await failure(seal().unseal())).code).toBe('WARDEN_SEAL_UNSEAL_FAILED');
    });
  });

  it('refuses to initialize over existing material and creates no key for it', async () => {
    const rootKey = await seal().initialize();
    const bytes = await readFile(join(dir, 'seal.json'));
    expect((await failure(seal({ keyLabel: `${keyLabel}-again` }).initialize())).code).toBe('WARDEN_SEAL_EXISTS');
    expect(findKeys(`${keyLabel}-again`)).toHaveLength(0);
    expect((await readFile(join(dir, 'seal.json'))).equals(bytes)).toBe(true);
    expect((await seal().unseal()).equals(rootKey)).toBe(true);
  });

  it('missing material is NOT_INITIALIZED', async () => {
    expect((await failure(seal().unseal())).code).toBe('WARDEN_NOT_INITIALIZED');
  });

  it('the SoftHSM helper throws (tests fail, not skip) when the library is missing', async () => {
    const previous = process.env.WARDEN_TEST_SOFTHSM_LIB;
    process.env.WARDEN_TEST_SOFTHSM_LIB = join(dir, 'missing-softhsm.so');
    try {
      await expect(createSoftHsmToken({ label: 'never' })).rejects.toThrow(/SoftHSM2 library not found/);
    } finally {
      if (previous === undefined) delete process.env.WARDEN_TEST_SOFTHSM_LIB;
      else process.env.WARDEN_TEST_SOFTHSM_LIB = previous;
    }
  });

  it('tolerates Cryptoki already initialized in this process and does not finalize it', async () => {
    const rootKey = await seal().initialize();
    const held = openSoftHsmSession(token);
    try {
      expect((await seal().unseal()).equals(rootKey)).toBe(true);
      // Our session (and Cryptoki) must still be usable: the seal did not finalize or log out.
      expect(Array.from(held.session.find({ class: ObjectClass.SECRET_KEY, label: keyLabel }))).toHaveLength(1);
      expect(held.session.generateRandom(8)).toHaveLength(8);
    } finally {
      held.release();
    }
    // and after release, the seal initializes Cryptoki itself again
    expect((await seal().unseal()).equals(rootKey)).toBe(true);
  });
});
