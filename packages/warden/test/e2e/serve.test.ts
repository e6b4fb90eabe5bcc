import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSoftHsmToken } from '../../src/testing/softhsm.js';
import { runWarden, startWardenProcess } from './process.js';

const freshDir = () => mkdtempSync(join(tmpdir(), 'warden-serve-'));

/** Every file under dir with its size and mtime, to prove a refused start wrote nothing. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const s = statSync(join(dir, name));
    out[name] = `${s.size}:${s.mtimeMs}:${s.mode}`;
  }
  return out;
}

async function initialized(extraArgs: string[] = [], env: Record<string, string> = {}): Promise<string> {
  const dataDir = join(freshDir(), 'data');
  const run = await runWarden(['init', '--data-dir', dataDir, ...extraArgs], { env });
  expect(run.code, run.stderr).toBe(0);
  return dataDir;
}

describe('warden serve', () => {
  it('starts from nothing with --init (what npm start does), answers health checks, and stops on SIGTERM', async () => {
    const cwd = freshDir();
    const server = await startWardenProcess(['--init', '--listen', '127.0.0.1:0'], { cwd });
    try {
      expect(existsSync(join(cwd, '.warden', 'warden.yaml'))).toBe(true);
      const healthz = await fetch(`${server.url}/healthz`);
      expect(healthz.status).toBe(200);
      expect(healthz.headers.get('x-request-id')).toBeTruthy();
      const readyz = await fetch(`${server.url}/readyz`);
      expect(readyz.status).toBe(200);
      expect(await readyz.json()).toEqual({ status: 'ready', checks: { store: 'ok', seal: 'unsealed', audit: 'ok' } });

      const status = await runWarden(['status', '--url', server.url, '--json']);
      expect(status.code, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ store: { kind: 'sqlite', reachable: true }, seal: { kind: 'file', state: 'unsealed' } });

      const notFound = await fetch(`${server.url}/v1/nothing-here`);
      expect(notFound.status).toBe(404);
      expect(notFound.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await notFound.json()).toMatchObject({ code: 'WARDEN_ROUTE_NOT_FOUND' });
    } finally {
      const run = await server.stop('SIGTERM');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('"msg":"stopped"');
    }
  });

  it('refuses a config with an unknown key, naming it, and writes nothing', async () => {
    const dataDir = await initialized();
    const config = join(dataDir, 'warden.yaml');
    writeFileSync(config, `${readFileSync(config, 'utf8')}listen:\n  prot: 9999\n`);
    const before = snapshot(dataDir);
    const run = await runWarden(['serve', '--data-dir', dataDir]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('listen.prot');
    expect(run.stderr).toContain('WARDEN_CONFIG_INVALID');
    expect(snapshot(dataDir)).toEqual(before);
  });

  it('refuses a group- or world-readable seal file and writes nothing', async () => {
    const dataDir = await initialized();
    for (const mode of [0o644, 0o640, 0o604]) {
      chmodSync(join(dataDir, 'seal.key'), mode);
      const before = snapshot(dataDir);
      const run = await runWarden(['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0']);
      expect(run.code, mode.toString(8)).toBe(2);
      expect(run.stderr).toContain('WARDEN_SEAL_FILE_PERMISSIONS');
      expect(snapshot(dataDir)).toEqual(before);
    }
  });

  it('refuses a wrong passphrase and writes nothing, and serves with the right one', async () => {
    const passphrase = 'correct horse battery staple';
    const dataDir = await initialized(['--seal', 'passphrase'], { WARDEN_SEAL_PASSPHRASE: passphrase });
    const before = snapshot(dataDir);
    const wrong = await runWarden(['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0'], {
      env: { WARDEN_SEAL_PASSPHRASE: 'wrong horse battery staple' },
    });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('WARDEN_SEAL_UNSEAL_FAILED');
    expect(snapshot(dataDir)).toEqual(before);

    const missing = await runWarden(['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('WARDEN_SEAL_SECRET_MISSING');

    const server = await startWardenProcess(['--data-dir', dataDir, '--listen', '127.0.0.1:0'], {
      env: { WARDEN_SEAL_PASSPHRASE: passphrase },
    });
    try {
      const status = (await (await fetch(`${server.url}/v1/status`)).json()) as { seal: { kind: string } };
      expect(status.seal.kind).toBe('passphrase');
    } finally {
      expect((await server.stop('SIGINT')).code).toBe(0);
    }
  });

  it('refuses an uninitialized data directory', async () => {
    const run = await runWarden(['serve', '--data-dir', join(freshDir(), 'none')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('WARDEN_NOT_INITIALIZED');
  });

  it('initializes and serves with the root key wrapped by a real PKCS#11 token (SoftHSM2)', async () => {
    const token = await createSoftHsmToken({ label: 'warden-e2e' });
    try {
      const env = { WARDEN_PKCS11_PIN: token.pin, SOFTHSM2_CONF: join(token.dir, 'softhsm2.conf') };
      const hsm = ['--seal', 'pkcs11', '--pkcs11-library', token.library, '--pkcs11-token-label', token.label];
      const dataDir = await initialized(hsm, env);
      const material = readFileSync(join(dataDir, 'seal.json'), 'utf8');
      expect(JSON.parse(material)).toMatchObject({ kind: 'pkcs11', mechanism: 'CKM_AES_GCM', tokenLabel: 'warden-e2e' });

      const before = snapshot(dataDir);
      const wrongPin = await runWarden(['serve', '--data-dir', dataDir], { env: { ...env, WARDEN_PKCS11_PIN: `${token.pin}0` } });
      expect(wrongPin.code).toBe(2);
      expect(wrongPin.stderr).toContain('WARDEN_SEAL_UNSEAL_FAILED');
      expect(snapshot(dataDir)).toEqual(before);

      const server = await startWardenProcess(['--data-dir', dataDir, '--listen', '127.0.0.1:0'], { env });
      try {
        const status = await runWarden(['status', '--url', server.url, '--json']);
        expect(JSON.parse(status.stdout)).toMatchObject({ seal: { kind: 'pkcs11', state: 'unsealed' } });
      } finally {
        expect((await server.stop()).code).toBe(0);
      }
    } finally {
      await token.cleanup();
    }
  });
});
