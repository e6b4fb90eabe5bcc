import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { isWardenError } from '../errors/index.js';
import { createSeal } from './seal.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warden-file-seal-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const fileSeal = (path = join(dir, 'seal.key')) => createSeal({ kind: 'file', path }, {});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isWardenError(err)) return err.code;
    throw err;
  }
  throw new Error('expected a WardenError, but the call succeeded');
}

describe('file seal', () => {
  it('round-trips a fresh random 32-byte root key', async () => {
    const seal = fileSeal();
    expect(seal.kind).toBe('file');
    expect(await seal.exists()).toBe(false);
    const key = await seal.initialize();
    expect(key).toHaveLength(32);
    expect(key.equals(Buffer.alloc(32))).toBe(false);
    expect(await seal.exists()).toBe(true);
    const again = await fileSeal().unseal();
    expect(again.equals(key)).toBe(true);
  });

  it('two seals get different root keys', async () => {
    const a = await fileSeal(join(dir, 'a.key')).initialize();
    const b = await fileSeal(join(dir, 'b.key')).initialize();
    expect(a.equals(b)).toBe(false);
  });

  it('creates the file with mode 0600 and leaves no temporary file', async () => {
    await fileSeal().initialize();
    const st = await stat(join(dir, 'seal.key'));
    expect(st.mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['seal.key']);
  });

  it('refuses to initialize twice and leaves the file unchanged', async () => {
    const seal = fileSeal();
    const key = await seal.initialize();
    const before = await readFile(join(dir, 'seal.key'));
    expect(await codeOf(seal.initialize())).toBe('WARDEN_SEAL_EXISTS');
    const after = await readFile(join(dir, 'seal.key'));
    expect(after.equals(before)).toBe(true);
    expect((await seal.unseal()).equals(key)).toBe(true);
  });

  it('concurrent initializes: exactly one wins and the file holds the winner\'s key', async () => {
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => fileSeal().initialize()));
    const won = results.filter((r): r is PromiseFulfilledResult<Buffer> => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost.every((r) => isWardenError(r.reason, 'WARDEN_SEAL_EXISTS'))).toBe(true);
    expect((await fileSeal().unseal()).equals(won[0]!.value)).toBe(true);
    expect(await readdir(dir)).toEqual(['seal.key']);
  });

  it('refuses to initialize over a symlink (even a dangling one)', async () => {
    const target = join(dir, 'elsewhere');
    await symlink(target, join(dir, 'seal.key'));
    expect(await codeOf(fileSeal().initialize())).toBe('WARDEN_SEAL_EXISTS');
    await expect(stat(target)).rejects.toThrow();
  });

  it.each([0o644, 0o640, 0o604, 0o660, 0o620, 0o602])('refuses a seal file with mode %o', async (mode) => {
    const seal = fileSeal();
    await seal.initialize();
    await chmod(join(dir, 'seal.key'), mode);
    try {
      await seal.unseal();
      expect.unreachable('unseal should have failed');
    } catch (err) {
      expect(isWardenError(err, 'WARDEN_SEAL_FILE_PERMISSIONS')).toBe(true);
      const message = (err as Error).message;
      expect(message).toContain(join(dir, 'seal.key'));
      expect(message).toContain(mode.toString(8));
    }
  });

  it('accepts a stricter mode (0400)', async () => {
    const seal = fileSeal();
    const key = await seal.initialize();
    await chmod(join(dir, 'seal.key'), 0o400);
    expect((await seal.unseal()).equals(key)).toBe(true);
  });

  it('refuses a symlink to a valid seal file', async () => {
    const real = join(dir, 'real.key');
    await fileSeal(real).initialize();
    const link = join(dir, 'link.key');
    await symlink(real, link);
    expect(await codeOf(fileSeal(link).unseal())).toBe('WARDEN_SEAL_FILE_PERMISSIONS');
  });

  it('refuses a directory at the seal path', async () => {
    await mkdir(join(dir, 'seal.key'), { mode: 0o700 });
    expect(await codeOf(fileSeal().unseal())).toBe('WARDEN_SEAL_FILE_PERMISSIONS');
  });

  it.each([0, 31, 33, 64])('refuses a %d-byte file as corrupt', async (size) => {
    await writeFile(join(dir, 'seal.key'), Buffer.alloc(size, 7), { mode: 0o600 });
    expect(await codeOf(fileSeal().unseal())).toBe('WARDEN_SEAL_UNSEAL_FAILED');
  });

  it('reports a missing seal as not initialized', async () => {
    expect(await codeOf(fileSeal().unseal())).toBe('WARDEN_NOT_INITIALIZED');
  });

  it('writes nothing when the directory does not exist', async () => {
    const path = join(dir, 'missing', 'seal.key');
    await expect(fileSeal(path).initialize()).rejects.toThrow();
    expect(await readdir(dir)).toEqual([]);
  });

  it('unseal never writes (bytes and mtime unchanged)', async () => {
    const seal = fileSeal();
    await seal.initialize();
    const path = join(dir, 'seal.key');
    const before = await stat(path);
    const bytes = await readFile(path);
    await new Promise((r) => setTimeout(r, 20));
    await seal.unseal();
    const after = await stat(path);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect((await readFile(path)).equals(bytes)).toBe(true);
  });
});
