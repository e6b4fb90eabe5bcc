import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { openSigningKeys } from '../../src/identity/signing-keys.js';
import { openRuntime } from '../../src/server/runtime.js';
import { createSecretRepository } from '../../src/store/index.js';
import { runWarden } from './process.js';

const context = (name: string) => ({ table: 'secrets', column: 'value', row: name });

describe('warden operator rotate-barrier', () => {
  it('starts a new barrier key version and rewraps every stored value to it', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'warden-operator-')), 'data');
    expect((await runWarden(['init', '--data-dir', dataDir])).code).toBe(0);
    const config = loadConfig({ flags: { dataDir } });

    const names = ['github-pat', 'api-key', 'db-password'];
    let runtime = await openRuntime(config, {});
    const secrets = createSecretRepository(runtime.store.db);
    for (const name of names) await secrets.put(name, runtime.barrier.encrypt(Buffer.from(`value of ${name}`), context(name)));
    expect(runtime.barrier.latestVersion).toBe(1);
    await runtime.close();

    const run = await runWarden(['operator', 'rotate-barrier', '--data-dir', dataDir, '--json']);
    expect(run.code, run.stderr).toBe(0);
    // Every barrier-protected value moves: the secrets, the audit log's system keys (signing key, HMAC key,
    // origin) and the first admin's TOTP secret.
    const protectedValues = names.length + 4;
    expect(JSON.parse(run.stdout)).toEqual({ version: 2, total: protectedValues, rewrapped: protectedValues });

    runtime = await openRuntime(config, {});
    try {
      expect(runtime.barrier.latestVersion).toBe(2);
      const repo = createSecretRepository(runtime.store.db);
      for (const name of names) {
        const { value } = await repo.get(name);
        expect(runtime.barrier.versionOf(value)).toBe(2);
        expect((await runtime.barrier.decrypt(value, context(name))).toString()).toBe(`value of ${name}`);
      }
    } finally {
      await runtime.close();
    }

    const noRewrap = await runWarden(['operator', 'rotate-barrier', '--data-dir', dataDir, '--no-rewrap', '--json']);
    expect(noRewrap.code, noRewrap.stderr).toBe(0);
    expect(JSON.parse(noRewrap.stdout)).toEqual({ version: 3, total: 0, rewrapped: 0 });
    // The audit log still opens (its keys decrypt after the rewrap) and recorded both rotations.
    runtime = await openRuntime(config, {});
    try {
      const actions = (await runtime.audit.entries(0, 100)).map((e) => (JSON.parse(e.body!) as { action: string }).action);
      expect(actions.filter((a) => a === 'barrier.rotate')).toHaveLength(4);
    } finally {
      await runtime.close();
    }
  });
});

describe('warden operator rotate-signing-key', () => {
  it('starts a new signing key, keeps the old one in the JWKS, and audits both phases', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'warden-operator-')), 'data');
    expect((await runWarden(['init', '--data-dir', dataDir])).code).toBe(0);
    const config = loadConfig({ flags: { dataDir } });
    let runtime = await openRuntime(config, {});
    const before = await openSigningKeys({ db: runtime.store.db, barrier: runtime.barrier });
    const oldKid = before.current().kid;
    await runtime.close();

    const run = await runWarden(['operator', 'rotate-signing-key', '--data-dir', dataDir, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const { kid } = JSON.parse(run.stdout) as { kid: string };
    expect(kid).not.toBe(oldKid);

    runtime = await openRuntime(config, {});
    try {
      const keys = await openSigningKeys({ db: runtime.store.db, barrier: runtime.barrier });
      expect(keys.current().kid).toBe(kid);
      expect(keys.jwks().keys.map((k) => k.kid).sort()).toEqual([kid, oldKid].sort());
      const entries = await runtime.audit.entries(0, 100);
      const phases = entries
        .map((e) => JSON.parse(e.body!) as { action: string; details?: { phase?: string } })
        .filter((b) => b.action === 'token.rotate_signing_key')
        .map((b) => b.details?.phase);
      expect(phases).toEqual(['requested', 'completed']);
    } finally {
      await runtime.close();
    }
  });
});
