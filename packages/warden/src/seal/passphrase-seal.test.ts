import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { isWardenError } from '../errors/index.js';
import { createSeal, type Seal } from './seal.js';

const PASSPHRASE = 'correct horse battery staple';
const TEST_COST = 2 ** 14;

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warden-passphrase-seal-'));
  path = join(dir, 'seal.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const seal = (...args: [passphrase?: string | undefined, scryptCost?: number]): Seal =>
  createSeal(
    { kind: 'passphrase', path, passphraseEnv: 'WARDEN_SEAL_PASSPHRASE' },
    { passphrase: args.length === 0 ? PASSPHRASE : args[0] },
    { scryptCost: args[1] ?? TEST_COST },
  );

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (isWardenError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a WardenError, but the call succeeded');
}

async function readMaterial(): Promise<Record<string, unknown> & { kdf: Record<string, unknown> }> {
  return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown> & { kdf: Record<string, unknown> };
}

async function writeMaterial(material: unknown): Promise<void> {
  await rm(path);
  await writeFile(path, JSON.stringify(material), { mode: 0o600 });
}

describe('passphrase seal', () => {
  it('round-trips the root key', async () => {
    const key = await seal().initialize();
    expect(key).toHaveLength(32);
    expect((await seal().unseal()).equals(key)).toBe(true);
    expect(await seal().exists()).toBe(true);
  });

  it('writes the documented format, mode 0600, with the requested cost', async () => {
    await seal().initialize();
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const m = await readMaterial();
    expect(m).toMatchObject({ version: 1, kind: 'passphrase', kdf: { name: 'scrypt', N: TEST_COST, r: 8, p: 1 } });
    expect(Buffer.from(m.kdf.salt as string, 'base64')).toHaveLength(16);
    expect(Buffer.from(m.iv as string, 'base64')).toHaveLength(12);
    expect(Buffer.from(m.ciphertext as string, 'base64')).toHaveLength(32);
    expect(Buffer.from(m.tag as string, 'base64')).toHaveLength(16);
    expect(await readdir(dir)).toEqual(['seal.json']);
  });

  it('defaults to N = 2^17', async () => {
    const s = createSeal({ kind: 'passphrase', path, passphraseEnv: 'X' }, { passphrase: PASSPHRASE });
    const key = await s.initialize();
    expect((await readMaterial()).kdf.N).toBe(2 ** 17);
    expect((await s.unseal()).equals(key)).toBe(true);
  });

  it('does not store the root key (raw, hex or base64) in the file', async () => {
    const key = await seal().initialize();
    const file = await readFile(path);
    expect(file.includes(key)).toBe(false);
    const text = file.toString('utf8');
    expect(text).not.toContain(key.toString('hex'));
    expect(text).not.toContain(key.toString('base64'));
    expect(text).not.toContain(key.toString('base64url'));
    expect(text).not.toContain(PASSPHRASE);
  });

  it('refuses a wrong passphrase with a generic error and leaves the file untouched', async () => {
    await seal().initialize();
    const bytes = await readFile(path);
    const { mtimeMs } = await stat(path);
    await new Promise((r) => setTimeout(r, 20));
    const f = await failure(seal('wrong horse battery staple').unseal());
    expect(f.code).toBe('WARDEN_SEAL_UNSEAL_FAILED');
    expect(f.message).toBe('unseal failed: wrong passphrase or corrupted seal');
    expect((await readFile(path)).equals(bytes)).toBe(true);
    expect((await stat(path)).mtimeMs).toBe(mtimeMs);
  });

  it('a passphrase that differs only in case or trailing space is wrong', async () => {
    await seal().initialize();
    expect((await failure(seal(PASSPHRASE.toUpperCase()).unseal())).code).toBe('WARDEN_SEAL_UNSEAL_FAILED');
    expect((await failure(seal(`${PASSPHRASE} `).unseal())).code).toBe('WARDEN_SEAL_UNSEAL_FAILED');
  });

  it('NFC and NFD spellings of the same passphrase unseal alike', async () => {
    const nfc = 'caf\u00e9 au lait, s\u2019il vous pla\u00eet';
    const key = await seal(nfc).initialize();
    expect((await seal(nfc.normalize('NFD')).unseal()).equals(key)).toBe(true);
  });

  it.each([undefined, ''])('refuses a missing passphrase (%j)', async (passphrase) => {
    expect((await failure(seal(passphrase).initialize())).code).toBe('WARDEN_SEAL_SECRET_MISSING');
    expect(await readdir(dir)).toEqual([]);
    await seal().initialize();
    expect((await failure(seal(passphrase).unseal())).code).toBe('WARDEN_SEAL_SECRET_MISSING');
  });

  it('refuses a passphrase shorter than 12 characters at initialize and writes nothing', async () => {
    const f = await failure(seal('short pass!').initialize());
    expect(f).toEqual({ code: 'WARDEN_SEAL_SECRET_MISSING', message: 'passphrase must be at least 12 characters' });
    expect(await readdir(dir)).toEqual([]);
    // 12 characters is enough
    await seal('twelve chars').initialize();
  });

  it('refuses to initialize over existing material and leaves it unchanged', async () => {
    const key = await seal().initialize();
    const bytes = await readFile(path);
    expect((await failure(seal('another passphrase entirely').initialize())).code).toBe('WARDEN_SEAL_EXISTS');
    expect((await readFile(path)).equals(bytes)).toBe(true);
    expect((await seal().unseal()).equals(key)).toBe(true);
  });

  it('reports missing material as not initialized', async () => {
    expect((await failure(seal().unseal())).code).toBe('WARDEN_NOT_INITIALIZED');
  });

  it.each([0o644, 0o640])('refuses a seal file with mode %o', async (mode) => {
    await seal().initialize();
    await chmod(path, mode);
    const f = await failure(seal().unseal());
    expect(f.code).toBe('WARDEN_SEAL_FILE_PERMISSIONS');
    expect(f.message).toContain(path);
  });

  describe('tampering', () => {
    const flip = (b64: string, index = 0): string => {
      const b = Buffer.from(b64, 'base64');
      b[index] = b[index]! ^ 0x01;
      return b.toString('base64');
    };

    it.each(['ciphertext', 'tag', 'iv'] as const)('a flipped bit in %s fails authentication', async (field) => {
      await seal().initialize();
      const m = await readMaterial();
      await writeMaterial({ ...m, [field]: flip(m[field] as string) });
      expect((await failure(seal().unseal())).code).toBe('WARDEN_SEAL_UNSEAL_FAILED');
    });

    it('a changed salt fails authentication', async () => {
      await seal().initialize();
      const m = await readMaterial();
      await writeMaterial({ ...m, kdf: { ...m.kdf, salt: flip(m.kdf.salt as string) } });
      expect((await failure(seal().unseal())).code).toBe('WARDEN_SEAL_UNSEAL_FAILED');
    });

    it('a changed (still valid) N fails authentication', async () => {
      await seal().initialize();
      const m = await readMaterial();
      await writeMaterial({ ...m, kdf: { ...m.kdf, N: TEST_COST * 2 } });
      expect((await failure(seal().unseal())).code).toBe('WARDEN_SEAL_UNSEAL_FAILED');
    });

    it.each([
      ['not JSON', (_m: Record<string, unknown>) => '{"version":1,'],
      ['a JSON array', () => '[]'],
      ['wrong version', (m: Record<string, unknown>) => ({ ...m, version: 2 })],
      ['wrong kind', (m: Record<string, unknown>) => ({ ...m, kind: 'pkcs11' })],
      ['unknown key', (m: Record<string, unknown>) => ({ ...m, extra: true })],
      ['missing tag', (m: Record<string, unknown>) => ({ ...m, tag: undefined })],
      ['short ciphertext', (m: Record<string, unknown>) => ({ ...m, ciphertext: Buffer.alloc(31).toString('base64') })],
      ['long ciphertext', (m: Record<string, unknown>) => ({ ...m, ciphertext: Buffer.alloc(33).toString('base64') })],
      ['truncated tag', (m: Record<string, unknown>) => ({ ...m, tag: Buffer.alloc(4).toString('base64') })],
      ['non-base64 iv', (m: Record<string, unknown>) => ({ ...m, iv: '!!!!!!!!!!!!!!!!' })],
      ['different kdf', (m: Record<string, unknown>) => ({ ...m, kdf: { ...(m.kdf as object), name: 'pbkdf2' } })],
      ['r changed', (m: Record<string, unknown>) => ({ ...m, kdf: { ...(m.kdf as object), r: 1 } })],
      ['N not a power of two', (m: Record<string, unknown>) => ({ ...m, kdf: { ...(m.kdf as object), N: 20000 } })],
      ['N too small', (m: Record<string, unknown>) => ({ ...m, kdf: { ...(m.kdf as object), N: 2 } })],
    ])('malformed material (%s) is refused as UNSEAL_FAILED', async (_name, mutate) => {
      await seal().initialize();
      const out = mutate(await readMaterial());
      await rm(path);
      await writeFile(path, typeof out === 'string' ? out : JSON.stringify(out), { mode: 0o600 });
      expect((await failure(seal().unseal())).code).toBe('WARDEN_SEAL_UNSEAL_FAILED');
    });

    it.each([2 ** 21, 2 ** 30, 2 ** 40, Number.MAX_SAFE_INTEGER])('a huge N (%d) is refused quickly', async (N) => {
      await seal().initialize();
      const m = await readMaterial();
      await writeMaterial({ ...m, kdf: { ...m.kdf, N } });
      const started = performance.now();
      expect((await failure(seal().unseal())).code).toBe('WARDEN_SEAL_UNSEAL_FAILED');
      expect(performance.now() - started).toBeLessThan(500);
    });

    it('an oversized file is refused without parsing', async () => {
      await writeFile(path, `{"pad":"${'a'.repeat(100_000)}"}`, { mode: 0o600 });
      expect((await failure(seal().unseal())).code).toBe('WARDEN_SEAL_UNSEAL_FAILED');
    });
  });

  it('rejects an out-of-range scrypt cost option at construction', () => {
    expect(() => seal(PASSPHRASE, 1000)).toThrow(/power of two/);
    expect(() => seal(PASSPHRASE, 2 ** 21)).toThrow(/power of two/);
  });
});
