import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseVerifierKey, verifierKey } from '../../src/audit/index.js';
import { initWithAdmin, login } from './admin.js';
import { runWarden, startWardenProcess, type ServerProcess } from './process.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'warden-audit-'));

describe('warden audit (end to end)', () => {
  let dataDir: string;
  let server: ServerProcess;
  /** An auditor's view: the admin session token, for fetch and for CLI commands (WARDEN_TOKEN). */
  let headers: Record<string, string>;
  let env: Record<string, string>;
  const get = (path: string) => fetch(`${server.url}${path}`, { headers });

  beforeAll(async () => {
    dataDir = join(fresh(), 'data');
    const admin = await initWithAdmin(dataDir);
    // Rotations are audited (requested + completed): a few more entries.
    for (let i = 0; i < 3; i++) expect((await runWarden(['operator', 'rotate-barrier', '--data-dir', dataDir])).code).toBe(0);
    server = await startWardenProcess(['--data-dir', dataDir, '--listen', '127.0.0.1:0']);
    const token = await login(server.url, admin);
    headers = { authorization: `Bearer ${token}` };
    env = { WARDEN_TOKEN: token };
    // Wait for a checkpoint covering everything so far (signed at most every second).
    for (let i = 0; i < 50; i++) {
      const res = await get('/v1/audit/checkpoint');
      if (res.ok && Number((await res.text()).split('\n')[1]) >= 10) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('shows the audit log and its state in warden status', async () => {
    const status = await runWarden(['status', '--url', server.url], { env });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/audit: \d+ entries, checkpoint at \d+/);
  });

  it('records init, barrier rotations and server start', async () => {
    const res = await get('/v1/audit/entries?start=0&limit=100');
    const { entries } = (await res.json()) as { entries: { index: number; body: string }[] };
    const actions = entries.map((e) => (JSON.parse(e.body) as { action: string }).action);
    expect(actions.slice(0, 10)).toEqual([
      'warden.init',
      'admin.create',
      ...Array.from({ length: 3 }, () => ['barrier.rotate', 'barrier.rotate']).flat(),
      'server.start',
      'admin.login',
    ]);
    expect(entries.map((e) => e.index)).toEqual(entries.map((_, i) => i));
  });

  it('verifies the live log, exports a bundle, and verifies it offline elsewhere', async () => {
    const live = await runWarden(['audit', 'verify', '--url', server.url, '--json'], { env });
    expect(live.code, live.stderr).toBe(0);
    expect(JSON.parse(live.stdout)).toMatchObject({ ok: true });

    const out = join(fresh(), 'audit.bundle');
    const exported = await runWarden(['audit', 'export', '--url', server.url, '--out', out, '--json'], { env });
    expect(exported.code, exported.stderr).toBe(0);
    const again = await runWarden(['audit', 'export', '--url', server.url, '--out', out], { env });
    expect(again.code).toBe(2);

    // Offline: another machine, no server, no data directory of this log.
    const elsewhere = fresh();
    const copy = join(elsewhere, 'copy.bundle');
    copyFileSync(out, copy);
    const offline = await runWarden(['audit', 'verify', '--bundle', copy, '--json'], { cwd: elsewhere, env });
    expect(offline.code, offline.stderr).toBe(0);
    expect(JSON.parse(offline.stdout)).toMatchObject({ ok: true });

    // Pinned to the key the auditor trusts; a bundle re-signed under another key must not pass.
    const trusted = (await (await get('/v1/audit/verifier-key')).text()).trim();
    const pinned = await runWarden(['audit', 'verify', '--bundle', copy, '--verifier-key', trusted], { cwd: elsewhere, env });
    expect(pinned.code, pinned.stderr).toBe(0);
    const { publicKey } = generateKeyPairSync('ed25519');
    const impostor = verifierKey(parseVerifierKey(trusted).name, publicKey);
    const forged = await runWarden(['audit', 'verify', '--bundle', copy, '--verifier-key', impostor], { cwd: elsewhere, env });
    expect(forged.code).toBe(1);
    expect(forged.stderr).toContain('WARDEN_AUDIT_VERIFY_FAILED');

    const partial = join(fresh(), 'partial.bundle');
    expect((await runWarden(['audit', 'export', '--url', server.url, '--out', partial, '--from', '3'], { env })).code).toBe(0);
    expect((await runWarden(['audit', 'verify', '--bundle', partial], { env })).code).toBe(0);
  });

  it('prints and verifies an inclusion proof, and tails entries', async () => {
    const proof = await runWarden(['audit', 'proof', '--url', server.url, '--index', '2', '--json'], { env });
    expect(proof.code, proof.stderr).toBe(0);
    expect(JSON.parse(proof.stdout)).toMatchObject({ index: 2, verified: true });
    const tail = await runWarden(['audit', 'tail', '--url', server.url, '-n', '2'], { env });
    expect(tail.code).toBe(0);
    const lines = tail.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.map((line) => (JSON.parse(line) as { action: string }).action)).toEqual(['server.start', 'admin.login']);
  });

  it('names the index of an entry altered in the database', async () => {
    const db = new Database(join(dataDir, 'warden.db'));
    try {
      const row = db.prepare('SELECT body FROM audit_entries WHERE idx = 4').get() as { body: string };
      db.prepare('UPDATE audit_entries SET body = ? WHERE idx = 4').run(row.body.replace('"success"', '"failure"'));
    } finally {
      db.close();
    }
    const run = await runWarden(['audit', 'verify', '--url', server.url], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('WARDEN_AUDIT_VERIFY_FAILED');
    expect(run.stderr).toContain('index 4');
    expect(run.stderr).toContain('entry altered');
  });

  it('refuses audit routes to non-JSON and oversized bodies with problem+json', async () => {
    const json = { ...headers, 'content-type': 'application/json' };
    const malformed = await fetch(`${server.url}/v1/audit/hash`, { method: 'POST', headers: json, body: '{"value":' });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ code: 'WARDEN_MALFORMED_JSON' });
    const big = await fetch(`${server.url}/v1/audit/hash`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ value: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ code: 'WARDEN_PAYLOAD_TOO_LARGE' });
    const hash = await fetch(`${server.url}/v1/audit/hash`, { method: 'POST', headers: json, body: '{"value":"s3cret"}' });
    const { hash: hmac } = (await hash.json()) as { hash: string };
    expect(hmac).toMatch(/^hmac-sha256:[A-Za-z0-9+/]{43}=$/);

    // The lookup is audited (without the value) and the response is its receipt.
    const receipt = Number(hash.headers.get('warden-audit-index'));
    expect(Number.isInteger(receipt)).toBe(true);
    const { entries } = (await (await get(`/v1/audit/entries?start=${receipt}&limit=1`)).json()) as {
      entries: { body: string }[];
    };
    expect(JSON.parse(entries[0]!.body)).toMatchObject({ index: receipt, action: 'audit.hash' });
    expect(entries[0]!.body).not.toContain('s3cret');
    for (let i = 0; i < 50; i++) {
      const note = await (await get('/v1/audit/checkpoint')).text();
      if (Number(note.split('\n')[1]) > receipt) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const proof = await runWarden(['audit', 'proof', '--url', server.url, '--index', String(receipt), '--json'], { env });
    expect(proof.code, proof.stderr).toBe(0);
    expect(JSON.parse(proof.stdout)).toMatchObject({ index: receipt, verified: true });
  });
});

describe('fail closed', () => {
  it('refuses a barrier rotation when its audit entry cannot be written, and changes nothing', async () => {
    const dataDir = join(fresh(), 'data');
    expect((await runWarden(['init', '--data-dir', dataDir])).code).toBe(0);
    const db = new Database(join(dataDir, 'warden.db'));
    db.exec("CREATE TRIGGER audit_down BEFORE INSERT ON audit_entries BEGIN SELECT RAISE(ABORT, 'disk on fire'); END");
    db.close();

    const run = await runWarden(['operator', 'rotate-barrier', '--data-dir', dataDir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('WARDEN_AUDIT_UNAVAILABLE');
    expect(run.stderr).not.toContain('disk on fire');

    const check = new Database(join(dataDir, 'warden.db'), { readonly: true });
    const versions = check.prepare('SELECT count(*) AS n FROM barrier_keys').get() as { n: number };
    check.close();
    expect(versions.n).toBe(1);
  });
});
