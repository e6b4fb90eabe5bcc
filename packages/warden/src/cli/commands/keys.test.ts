import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, onRequestAsyncHookHandler } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { keyOperationRoutes } from '../../api/key-operations.js';
import { keyRoutes } from '../../api/keys.js';
import { WardenError } from '../../errors/index.js';
import type { AdminRole } from '../../identity/types.js';
import { createKeyOperations, createKeyring, keyEntityProvider, type Keyring } from '../../kms/index.js';
import { createLogger } from '../../log/index.js';
import { createAuthorizer, createPolicyEngine } from '../../policy/index.js';
import { openTestAuditLog, type TestAuditLog } from '../../testing/audit-log.js';
import { bearerRequireAdmin, bearerSessions, createCliRunner, type CliRunner } from '../../testing/cli.js';
import { storeBackends, type OpenedTestStore } from '../../testing/stores.js';
import { formatPeriod, keysCommand, parseContext, table } from './keys.js';

const sqlite = storeBackends.find((b) => b.name === 'sqlite')!;
const tokens: Record<string, AdminRole> = { wdn_admin: 'admin', wdn_auditor: 'auditor' };

const noAgents: onRequestAsyncHookHandler = () => Promise.reject(new WardenError('WARDEN_UNAUTHENTICATED', 'no agents here'));

/** The operator's policy: admins (the role, not auditors) may use every key. */
const policy = 'permit(principal in Warden::AdminRole::"admin", action, resource is Warden::Key);';

describe('warden keys (CLI against a listening server)', () => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let keyring: Keyring;
  let app: FastifyInstance;
  let url: string;
  let home: string;
  /** Runs `warden keys …` in-process the way runCli does, with `stdin` as standard input; resolves to exit code and output. */
  let run: CliRunner;

  beforeAll(async () => {
    opened = await sqlite.openMigrated();
    audit = await openTestAuditLog(opened.store);
    keyring = createKeyring({ db: opened.store.db, barrier: audit.barrier, audit: audit.log, cacheTtlMs: 0 });
    const engine = createPolicyEngine();
    const set = engine.compile(1, [{ name: 'keys.cedar', text: policy }]);
    const authorizer = createAuthorizer({ engine, active: () => set, providers: [keyEntityProvider(keyring)], audit: audit.log });
    const operations = createKeyOperations({ keyring, authorize: (r, o) => authorizer.authorize(r, o) });
    const sessions = bearerSessions(tokens);
    app = await buildApp({
      logger: createLogger({ level: 'silent' }),
      bodyLimit: 1_048_576,
      routes: [keyRoutes({ keyring, requireAdmin: bearerRequireAdmin(tokens) }), keyOperationRoutes({ operations, authenticateAgent: noAgents, sessions })],
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    home = await mkdtemp(join(tmpdir(), 'warden-cli-keys-'));
    run = createCliRunner({ register: keysCommand, group: 'keys', url, home, token: 'wdn_admin' });
  });
  afterAll(async () => {
    await app.close();
    await keyring.close();
    await audit.log.close();
    await opened.cleanup();
    await rm(home, { recursive: true, force: true });
  });

  it('creates, lists, shows, updates, rotates and manages versions and destruction', async () => {
    const created = await run(['create', 'orders', '--type', 'aes256-gcm', '--region', 'eu', '--label', 'team=pay', '--rotation-period', '90d', '--json']);
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ name: 'orders', type: 'aes256-gcm', protection: 'software', region: 'eu', labels: { team: 'pay' }, rotationPeriodMs: 90 * 86_400_000, latestVersion: 1 });
    expect((await run(['create', 'signer', '--type', 'ed25519'])).stdout).toMatch(/^signer \(enabled\)\n[\s\S]*type: +ed25519, software/);

    const listed = await run(['list']);
    expect(listed.code, listed.stderr).toBe(0);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME +TYPE +PROTECTION +STATE +LATEST +ROTATION$/);
    expect(lines.slice(1)).toEqual([expect.stringMatching(/^orders +aes256-gcm +software +enabled +1 +90d$/), expect.stringMatching(/^signer +ed25519 +software +enabled +1 +manual$/)]);
    expect([lines[1]!.indexOf('aes256-gcm'), lines[2]!.indexOf('ed25519')]).toEqual([lines[0]!.indexOf('TYPE'), lines[0]!.indexOf('TYPE')]);
    expect(lines[2]!.indexOf('enabled')).toBe(lines[0]!.indexOf('STATE'));

    const rotated = await run(['rotate', 'orders']);
    expect(rotated.stdout).toBe('Rotated orders: version 2 is now the latest.\n');
    const shown = await run(['show', 'orders']);
    expect(shown.stdout).toContain('rotation:        90d, next ');
    expect(shown.stdout).toContain('latest version:  2 (min decryption 1, min encryption 1)');
    expect(shown.stdout).toMatch(/VERSION +STATE +ORIGIN +USES +LAST USED +CREATED\n +1 +enabled +generated +0 +- +\d{4}-/);

    const updated = await run(['update', 'orders', '--no-rotation-period', '--min-decryption-version', '2', '--json']);
    expect(JSON.parse(updated.stdout)).toMatchObject({ rotationPeriodMs: null, minDecryptionVersion: 2 });
    expect((await run(['versions', 'disable', 'orders', '1'])).stdout).toBe('Disabled version 1 of orders.\n');
    expect(JSON.parse((await run(['versions', 'enable', 'orders', '1', '--json'])).stdout)).toMatchObject({ versions: [{ version: 1, state: 'enabled' }, { version: 2 }] });

    const destroyed = await run(['destroy', 'orders', '--days', '7']);
    expect(destroyed.stdout).toMatch(/^orders is pending_destruction; its material will be destroyed at \d{4}-/);
    expect(JSON.parse((await run(['cancel-destroy', 'orders', '--json'])).stdout)).toMatchObject({ state: 'disabled', destroyAt: null });
    expect((await run(['enable', 'orders'])).stdout).toBe('Enabled orders.\n');
    expect((await run(['disable', 'orders'])).stdout).toBe('Disabled orders.\n');
    expect((await run(['enable', 'orders'])).code).toBe(0);

    const pem = await run(['public-key', 'signer']);
    expect(pem.stdout).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/);
    expect(JSON.parse((await run(['public-key', 'signer', '--jwk'])).stdout)).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    expect(JSON.parse((await run(['public-key', 'signer', '--key-version', '1', '--json'])).stdout)).toMatchObject({ name: 'signer', version: 1 });
  });

  it('encrypts stdin or a file, decrypts to stdout or a file, and needs the same context', async () => {
    await run(['create', 'data', '--type', 'aes256-gcm']);
    const binary = Buffer.concat([randomBytes(64), Buffer.from([0xff, 0xfe, 0x00])]);
    const encrypted = await run(['encrypt', 'data', '--context', 'tenant=acme', '--context', 'env=prod'], { stdin: binary });
    expect(encrypted.code, encrypted.stderr).toBe(0);
    const ciphertext = encrypted.stdout.trim();
    expect(encrypted.stdout.split('\n')).toHaveLength(2);

    const decrypted = await run(['decrypt', 'data', '--context', 'env=prod', '--context', 'tenant=acme'], { stdin: `${ciphertext}\n` });
    expect(decrypted.code, decrypted.stderr).toBe(0);
    expect(decrypted.bytes.equals(binary)).toBe(true);
    expect(decrypted.stdout).toBe('');

    const wrong = await run(['decrypt', 'data', '--context', 'tenant=evil', '--context', 'env=prod'], { stdin: ciphertext });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toBe('warden: decryption failed (WARDEN_KMS_DECRYPT_FAILED)\n');
    expect(wrong.bytes.length).toBe(0);

    const inFile = join(home, 'plain.txt');
    const ctFile = join(home, 'ct.txt');
    const outFile = join(home, 'out.txt');
    await writeFile(inFile, 'hello keys');
    const json = await run(['encrypt', 'data', '--in', inFile, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ ciphertext: expect.any(String) as string, keyVersion: 1 });
    await writeFile(ctFile, (JSON.parse(json.stdout) as { ciphertext: string }).ciphertext);
    const toFile = await run(['decrypt', 'data', '--in', ctFile, '--out', outFile]);
    expect(toFile.code, toFile.stderr).toBe(0);
    expect(toFile.stdout).toBe(`Wrote 10 byte(s) to ${outFile} (key version 1).\n`);
    expect(await readFile(outFile, 'utf8')).toBe('hello keys');
    expect((await stat(outFile)).mode & 0o777).toBe(0o600);
    expect(JSON.parse((await run(['decrypt', 'data', '--in', ctFile, '--json'])).stdout)).toEqual({ plaintext: Buffer.from('hello keys').toString('base64'), keyVersion: 1 });

    const forbidden = await run(['encrypt', 'data'], { token: 'wdn_auditor', stdin: 'x' });
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toContain('(WARDEN_FORBIDDEN)');
    await run(['disable', 'data']);
    const disabled = await run(['encrypt', 'data'], { stdin: 'x' });
    expect(disabled.code).toBe(1);
    expect(disabled.stderr).toContain('(WARDEN_KMS_KEY_DISABLED)');
  });

  it('signs and verifies; an invalid signature prints invalid and exits 1', async () => {
    await run(['create', 'releases', '--type', 'ecdsa-p256']);
    const signed = await run(['sign', 'releases'], { stdin: 'release 1.2.3' });
    expect(signed.code, signed.stderr).toBe(0);
    const signature = signed.stdout.trim();
    const valid = await run(['verify', 'releases', '--signature', signature], { stdin: 'release 1.2.3' });
    expect(valid).toMatchObject({ code: 0, stdout: 'valid\n' });
    const invalid = await run(['verify', 'releases', '--signature', signature], { stdin: 'release 6.6.6' });
    expect(invalid.code).toBe(1);
    expect(invalid.stdout).toBe('invalid\n');
    const json = await run(['verify', 'releases', '--signature', signature, '--json'], { stdin: 'release 6.6.6' });
    expect(JSON.parse(json.stdout)).toEqual({ valid: false, keyVersion: 1 });
    expect(json.code).toBe(1);
    const garbage = await run(['verify', 'releases', '--signature', 'not-a-signature'], { stdin: 'x' });
    expect(garbage.code).toBe(2);
    expect(garbage.stderr).toContain('(WARDEN_KMS_UNSUPPORTED_OPERATION)');
  });

  it('imports raw and PEM material, wrapped locally', async () => {
    await run(['create', 'byok', '--type', 'aes256-gcm']);
    const raw = join(home, 'aes.bin');
    await writeFile(raw, randomBytes(32));
    const imported = await run(['import', 'byok', '--material-file', raw]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toBe('Imported version 2 of byok.\n');
    expect(JSON.parse((await run(['show', 'byok', '--json'])).stdout)).toMatchObject({ versions: [{ origin: 'generated' }, { version: 2, origin: 'imported' }] });
    expect(JSON.parse((await run(['encrypt', 'byok', '--json'], { stdin: 'x' })).stdout)).toMatchObject({ keyVersion: 2 });

    await run(['create', 'byok-ed', '--type', 'ed25519']);
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const pemFile = join(home, 'ed.pem');
    await writeFile(pemFile, privateKey.export({ format: 'pem', type: 'pkcs8' }));
    expect((await run(['import', 'byok-ed', '--material-file', pemFile])).code).toBe(0);
    expect((await run(['public-key', 'byok-ed'])).stdout).toBe(publicKey.export({ format: 'pem', type: 'spki' }));

    const short = join(home, 'short.bin');
    await writeFile(short, randomBytes(16));
    const refused = await run(['import', 'byok', '--material-file', short]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('(WARDEN_KMS_IMPORT_INVALID)');
  });

  it('refuses bad flags with WARDEN_USAGE (exit 2) before sending anything', async () => {
    const before = (await keyring.list()).length;
    const big = join(home, 'big.bin');
    await writeFile(big, Buffer.alloc(64 * 1024 + 1));
    const badPem = join(home, 'bad.pem');
    await writeFile(badPem, '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n');
    const empty = join(home, 'empty.bin');
    await writeFile(empty, '');
    const usage = [
      ['create', 'k1', '--type', 'rsa'],
      ['create', 'Bad_Name', '--type', 'aes256-gcm'],
      ['create', 'k1', '--type', 'aes256-gcm', '--protection', 'tpm'],
      ['create', 'k1', '--type', 'aes256-gcm', '--region', 'EU'],
      ['create', 'k1', '--type', 'aes256-gcm', '--label', 'novalue'],
      ['create', 'k1', '--type', 'aes256-gcm', '--rotation-period', '5m'],
      ['create', 'k1', '--type', 'aes256-gcm', '--rotation-period', 'soon'],
      ['update', 'k1'],
      ['update', 'k1', '--min-decryption-version', '0'],
      ['destroy', 'k1', '--days', '3'],
      ['destroy', 'k1', '--days', '31'],
      ['versions', 'disable', 'k1', 'one'],
      ['public-key', 'k1', '--key-version', 'latest'],
      ['show', 'UPPER'],
      ['encrypt', 'k1', '--context', 'novalue'],
      ['encrypt', 'k1', '--context', '=x'],
      ['encrypt', 'k1', '--in', join(home, 'missing.txt')],
      ['encrypt', 'k1', '--in', big],
      ['decrypt', 'k1'],
      ['verify', 'k1', '--signature', ' '],
      ['import', 'k1', '--material-file', join(home, 'missing.bin')],
      ['import', 'k1', '--material-file', badPem],
      ['import', 'k1', '--material-file', empty],
    ];
    for (const argv of usage) {
      const res = await run(argv, { token: 'none' });
      expect(res.code, argv.join(' ')).toBe(2);
      expect(res.stderr, argv.join(' ')).toContain('(WARDEN_USAGE)');
    }
    expect((await run(['create', 'k1'])).code).toBe(2); // commander: missing --type
    expect((await run(['verify', 'k1'])).code).toBe(2); // commander: missing --signature
    expect((await run(['list', '--bogus'])).code).toBe(2);
    expect((await keyring.list()).length).toBe(before);
    const missing = await run(['show', 'nope']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('(WARDEN_NOT_FOUND)');
    expect((await run(['list'], { token: 'wrong' })).stderr).toContain('(WARDEN_UNAUTHENTICATED)');
  });

  it('parses contexts, formats periods and aligns tables', () => {
    expect(parseContext(['a=1', 'b=x=y', 'c='])).toEqual({ a: '1', b: 'x=y', c: '' });
    expect(() => parseContext(Array.from({ length: 65 }, (_, i) => `k${i}=v`))).toThrow(/at most 64/);
    expect(() => parseContext([`k=${'v'.repeat(1025)}`])).toThrow(/at most 1024 bytes/);
    expect([formatPeriod(null), formatPeriod(90 * 86_400_000), formatPeriod(36 * 3_600_000), formatPeriod(90_000), formatPeriod(1500)]).toEqual(['manual', '90d', '36h', '90s', '1500ms']);
    expect(table([['A', 'BB', 'C'], ['aaa', 'b', 'c']])).toEqual(['A    BB  C', 'aaa  b   c']);
  });
});
