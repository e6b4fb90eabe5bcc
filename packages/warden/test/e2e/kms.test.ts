/**
 * The key management service end to end: the real server process, keys managed and used through the
 * `warden keys` CLI (stdin pipes included), policies applied with `warden policies apply`, and an agent
 * calling the data plane over HTTP with its own access token (`resource=<issuer>/v1/keys`).
 */
import { spawn } from 'node:child_process';
import { randomBytes, verify as verifySignature } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initWithAdmin, login } from './admin.js';
import { cleanEnv, runWarden, startWardenProcess, wardenBin, type Run, type ServerProcess } from './process.js';

const policies = `
@id("admins-use-keys")
permit (principal in Warden::AdminRole::"admin", action, resource is Warden::Key);

@id("billing-uses-payments-for-acme")
permit (
  principal == Warden::Agent::"billing-bot",
  action in [Warden::Action::"kms:encrypt", Warden::Action::"kms:decrypt"],
  resource == Warden::Key::"payments"
) when { context has encryptionContext && context.encryptionContext.contains({ key: "tenant", value: "acme" }) };
`;

/** `warden …` with `input` on stdin (runWarden gives the child no stdin). */
function runWithStdin(args: string[], input: Buffer | string, env: Record<string, string>): Promise<Run & { bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [wardenBin, ...args], { env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const bytes = Buffer.concat(out);
      resolve({ code, signal, stdout: bytes.toString(), stderr, bytes });
    });
    child.stdin.end(input);
  });
}

describe('KMS (end to end)', () => {
  let server: ServerProcess;
  let env: Record<string, string>;
  let root: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'warden-kms-'));
    const admin = await initWithAdmin(join(root, 'data'));
    server = await startWardenProcess(['--data-dir', join(root, 'data'), '--listen', '127.0.0.1:0']);
    env = { WARDEN_TOKEN: await login(server.url, admin), WARDEN_ADDR: server.url };
    mkdirSync(join(root, 'policies'));
    writeFileSync(join(root, 'policies', 'keys.cedar'), policies);
    const applied = await runWarden(['policies', 'apply', join(root, 'policies')], { env });
    expect(applied.code, applied.stderr).toBe(0);
  });
  afterAll(async () => {
    await server?.stop();
  });

  const keys = (args: string[]) => runWarden(['keys', ...args], { env });
  const json = <T = Record<string, unknown>>(run: Run): T => {
    expect(run.code, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as T;
  };

  it('creates, lists, shows and rotates keys from the CLI', async () => {
    const [payments, releases] = await Promise.all([
      keys(['create', 'payments', '--type', 'aes256-gcm', '--label', 'team=pay', '--rotation-period', '90d', '--json']),
      keys(['create', 'releases', '--type', 'ed25519']),
      keys(['create', 'scratch', '--type', 'aes256-gcm']),
      keys(['create', 'byok', '--type', 'aes256-gcm']),
    ]);
    expect(json(payments)).toMatchObject({ name: 'payments', state: 'enabled', latestVersion: 1, labels: { team: 'pay' } });
    expect(releases.stdout).toMatch(/^releases \(enabled\)/);
    const listed = await keys(['list']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(
      /^NAME +TYPE +PROTECTION +STATE +LATEST +ROTATION\nbyok +aes256-gcm +software +enabled +1 +manual\npayments +aes256-gcm +software +enabled +1 +90d\nreleases +ed25519 +software +enabled +1 +manual\nscratch +aes256-gcm/,
    );
    expect((await keys(['rotate', 'payments'])).stdout).toBe('Rotated payments: version 2 is now the latest.\n');
    const shown = await keys(['show', 'payments']);
    expect(shown.stdout).toContain('latest version:  2');
    expect(shown.stdout).toMatch(/\n +1 +enabled +generated +0 +- +\d{4}-[\s\S]*\n +2 +enabled +generated +0 +-/);
  });

  it('encrypts and decrypts through the CLI with an encryption context; another context fails', async () => {
    const plaintext = Buffer.concat([Buffer.from('card 4111-1111\n'), randomBytes(32)]);
    const encrypted = await runWithStdin(['keys', 'encrypt', 'payments', '--context', 'tenant=acme'], plaintext, env);
    expect(encrypted.code, encrypted.stderr).toBe(0);
    const ciphertext = encrypted.stdout.trim();
    const [decrypted, other] = await Promise.all([
      runWithStdin(['keys', 'decrypt', 'payments', '--context', 'tenant=acme'], `${ciphertext}\n`, env),
      runWithStdin(['keys', 'decrypt', 'payments', '--context', 'tenant=globex'], ciphertext, env),
    ]);
    expect(decrypted.code, decrypted.stderr).toBe(0);
    expect(decrypted.bytes.equals(plaintext)).toBe(true);
    expect(other.code).toBe(2);
    expect(other.stderr).toBe('warden: decryption failed (WARDEN_KMS_DECRYPT_FAILED)\n');
    expect(other.bytes.length).toBe(0);
  });

  it('signs and verifies with ed25519; the public key verifies the signature independently', async () => {
    const message = join(root, 'release.txt');
    writeFileSync(message, 'warden 1.0.0 sha256:abc');
    const signed = await keys(['sign', 'releases', '--in', message]);
    expect(signed.code, signed.stderr).toBe(0);
    const signature = signed.stdout.trim();
    expect(signature).toMatch(/^warden:v1:[A-Za-z0-9_-]+$/);
    const [valid, tampered, pem] = await Promise.all([
      keys(['verify', 'releases', '--signature', signature, '--in', message]),
      runWithStdin(['keys', 'verify', 'releases', '--signature', signature], 'warden 6.6.6', env),
      keys(['public-key', 'releases', '--key-version', '1']),
    ]);
    expect(valid).toMatchObject({ code: 0, stdout: 'valid\n' });
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toBe('invalid\n');
    expect(pem.code, pem.stderr).toBe(0);
    const bytes = Buffer.from(signature.split(':')[2]!, 'base64url');
    expect(verifySignature(null, Buffer.from('warden 1.0.0 sha256:abc'), pem.stdout, bytes)).toBe(true);
  });

  it('lets an agent use a key over HTTP only as its policy permits, per item in a batch', async () => {
    const token = async (agent: string) => {
      expect((await runWarden(['agents', 'create', agent, '--owner', 'payments'], { env })).code).toBe(0);
      const { secret } = json<{ secret: string }>(await runWarden(['agents', 'credentials', 'add', agent, '--secret', '--json'], { env }));
      const res = await fetch(`${server.url}/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${agent}:${secret}`).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${server.url}/v1/keys` }).toString(),
      });
      expect(res.status, await res.clone().text()).toBe(200);
      return ((await res.json()) as { access_token: string }).access_token;
    };
    const call = (bearer: string, op: string, body: unknown) =>
      fetch(`${server.url}/v1/keys/payments/${op}`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const [billing, otherBot] = await Promise.all([token('billing-bot'), token('other-bot')]);
    const acme = { tenant: 'acme' };
    const plaintext = Buffer.from('invoice 42').toString('base64');

    const encrypted = await call(billing, 'encrypt', { plaintext, context: acme });
    expect(encrypted.status, await encrypted.clone().text()).toBe(200);
    const { ciphertext, keyVersion } = (await encrypted.json()) as { ciphertext: string; keyVersion: number };
    expect(keyVersion).toBe(2);
    // The receipt is set only when the authorizer reports the decision's audit index (not yet: asserted when present).
    const receipt = encrypted.headers.get('warden-audit-index');
    if (receipt !== null) expect(receipt).toMatch(/^\d+$/);

    const batch = await call(billing, 'decrypt', { batch: [{ ciphertext, context: acme }, { ciphertext: 'garbage', context: acme }, { ciphertext, context: { tenant: 'globex' } }] });
    expect(batch.status).toBe(200);
    expect(await batch.json()).toMatchObject({
      batch: [{ plaintext, keyVersion: 2 }, { error: { code: 'WARDEN_KMS_DECRYPT_FAILED', status: 400 } }, { error: { code: 'WARDEN_FORBIDDEN', status: 403 } }],
    });

    const other = await call(otherBot, 'encrypt', { plaintext, context: acme });
    expect(other.status).toBe(403);
    expect(await other.json()).toMatchObject({ code: 'WARDEN_FORBIDDEN' });
    const wrongContext = await call(billing, 'encrypt', { plaintext, context: { tenant: 'globex' } });
    expect(wrongContext.status).toBe(403);

    const admin = (verb: string) => fetch(`${server.url}/v1/keys/payments/${verb}`, { method: 'POST', headers: { authorization: `Bearer ${env.WARDEN_TOKEN}` } });
    expect((await admin('disable')).status).toBe(200);
    const disabled = await call(billing, 'encrypt', { plaintext, context: acme });
    expect(disabled.status).toBe(409);
    expect(await disabled.json()).toMatchObject({ code: 'WARDEN_KMS_KEY_DISABLED' });
    expect((await admin('enable')).status).toBe(200);
  });

  it('refuses operations on a disabled key and on a key pending destruction', async () => {
    expect((await keys(['disable', 'scratch'])).stdout).toBe('Disabled scratch.\n');
    const disabled = await runWithStdin(['keys', 'encrypt', 'scratch'], 'x', env);
    expect(disabled.code).toBe(1);
    expect(disabled.stderr).toContain('(WARDEN_KMS_KEY_DISABLED)');

    expect(json(await keys(['destroy', 'scratch', '--days', '7', '--json']))).toMatchObject({ state: 'pending_destruction', destroyAt: expect.any(Number) as number });
    const pending = await runWithStdin(['keys', 'encrypt', 'scratch'], 'x', env);
    expect(pending.code).toBe(1);
    expect(pending.stderr).toContain('(WARDEN_KMS_KEY_PENDING_DESTRUCTION)');
    expect(json(await keys(['cancel-destroy', 'scratch', '--json']))).toMatchObject({ state: 'disabled', destroyAt: null });
  });

  it('imports key material (BYOK) as a new version that encrypts', async () => {
    const material = join(root, 'aes.key');
    writeFileSync(material, randomBytes(32), { mode: 0o600 });
    expect((await keys(['import', 'byok', '--material-file', material])).stdout).toBe('Imported version 2 of byok.\n');
    const encrypted = await runWithStdin(['keys', 'encrypt', 'byok', '--json'], 'secret', env);
    expect(json(encrypted)).toMatchObject({ keyVersion: 2 });
    const { ciphertext } = JSON.parse(encrypted.stdout) as { ciphertext: string };
    expect((await runWithStdin(['keys', 'decrypt', 'byok'], ciphertext, env)).stdout).toBe('secret');
  });
});
