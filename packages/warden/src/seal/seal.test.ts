import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { SealConfig } from '../config/schema.js';
import { isWardenError } from '../errors/index.js';
import { createSeal } from './index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warden-seal-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createSeal', () => {
  it('builds the seal named by config.kind', () => {
    expect(createSeal({ kind: 'file', path: join(dir, 'k') }, {}).kind).toBe('file');
    expect(createSeal({ kind: 'passphrase', path: join(dir, 'p'), passphraseEnv: 'P' }, {}).kind).toBe('passphrase');
    const pkcs11: SealConfig = {
      kind: 'pkcs11',
      path: join(dir, 'h'),
      library: '/nonexistent/lib.so',
      tokenLabel: 't',
      keyLabel: 'k',
      pinEnv: 'PIN',
    };
    expect(createSeal(pkcs11, {}).kind).toBe('pkcs11');
  });

  it('needs no secret to answer exists()', async () => {
    const seal = createSeal({ kind: 'passphrase', path: join(dir, 'p'), passphraseEnv: 'P' }, {});
    expect(await seal.exists()).toBe(false);
  });

  it('refuses an unknown kind', () => {
    const bogus = { kind: 'rot13', path: join(dir, 'x') } as unknown as SealConfig;
    expect(() => createSeal(bogus, {})).toThrow(expect.objectContaining({ code: 'WARDEN_CONFIG_INVALID' }) as Error);
  });

  it('never puts secrets in error messages', async () => {
    const passphrase = 'a-very-secret-passphrase-123';
    const path = join(dir, 'p.json');
    await createSeal({ kind: 'passphrase', path, passphraseEnv: 'P' }, { passphrase }, { scryptCost: 2 ** 14 }).initialize();
    const wrong = 'b-very-secret-passphrase-456';
    try {
      await createSeal({ kind: 'passphrase', path, passphraseEnv: 'P' }, { passphrase: wrong }).unseal();
      expect.unreachable();
    } catch (err) {
      expect(isWardenError(err, 'WARDEN_SEAL_UNSEAL_FAILED')).toBe(true);
      const text = JSON.stringify({ m: (err as Error).message, d: (err as { details?: unknown }).details });
      expect(text).not.toContain(passphrase);
      expect(text).not.toContain(wrong);
    }
  });
});
