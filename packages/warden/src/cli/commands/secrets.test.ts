import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { secretRoutes } from '../../api/secrets.js';
import { createLogger } from '../../log/index.js';
import { createSecretStore, type SecretStore } from '../../secrets/index.js';
import { openTestAuditLog, type TestAuditLog } from '../../testing/audit-log.js';
import { bearerRequireAdmin, createCliRunner, type CliRunner } from '../../testing/cli.js';
import { storeBackends, type OpenedTestStore } from '../../testing/stores.js';
import { secretsCommand, valueFromStdin } from './secrets.js';

const anyNumber: unknown = expect.any(Number);
const sqlite = storeBackends.find((b) => b.name === 'sqlite')!;
const requireAdmin = bearerRequireAdmin({ 'admin-token': 'admin', 'auditor-token': 'auditor' });

describe('valueFromStdin', () => {
  it('strips exactly one trailing newline and refuses invalid UTF-8', () => {
    expect(valueFromStdin(Buffer.from('abc\n'))).toBe('abc');
    expect(valueFromStdin(Buffer.from('abc\r\n'))).toBe('abc');
    expect(valueFromStdin(Buffer.from('abc\n\n'))).toBe('abc\n');
    expect(valueFromStdin(Buffer.from(' two words '))).toBe(' two words ');
    expect(valueFromStdin(Buffer.from('\n'))).toBe('');
    expect(() => valueFromStdin(Buffer.from([0x61, 0xff, 0x62]))).toThrow(expect.objectContaining({ code: 'WARDEN_USAGE' }));
  });
});

describe('warden secrets (CLI against a listening server)', () => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let store: SecretStore;
  let app: FastifyInstance;
  let url: string;
  let home: string;
  /**
   * Runs `warden secrets …` in-process the way runCli does; resolves to exit code and output. Without
   * `answers` the prompt answers undefined, like the terminal prompt when there is no terminal.
   */
  let run: CliRunner;

  beforeAll(async () => {
    opened = await sqlite.openMigrated();
    audit = await openTestAuditLog(opened.store);
    store = createSecretStore({ db: opened.store.db, barrier: audit.barrier, audit: audit.log });
    app = await buildApp({
      logger: createLogger({ level: 'silent' }),
      bodyLimit: 65_536,
      routes: [secretRoutes({ store, requireAdmin })],
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    home = await mkdtemp(join(tmpdir(), 'warden-cli-secrets-'));
    run = createCliRunner({ register: secretsCommand, group: 'secrets', url, home, token: 'admin-token' });
  });
  afterAll(async () => {
    await app.close();
    await audit.log.close();
    await opened.cleanup();
    await rm(home, { recursive: true, force: true });
  });

  it('sets a secret from stdin, stripping one trailing newline, and never prints it', async () => {
    const set = await run(['set', 'github-pat'], { stdin: 'ghp_from_stdin\n' });
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdinRead).toBe(true);
    expect(set.stdout).toContain('Stored secret github-pat');
    expect(set.stdout).not.toContain('ghp_from_stdin');
    expect(await store.reveal('github-pat')).toBe('ghp_from_stdin');

    const replaced = await run(['set', 'github-pat', '--json'], { stdin: 'line one\nline two\r\n' });
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(JSON.parse(replaced.stdout)).toEqual({ name: 'github-pat', createdAt: anyNumber, updatedAt: anyNumber });
    expect(replaced.stdout).not.toContain('line one');
    expect(await store.reveal('github-pat')).toBe('line one\nline two');

    expect((await run(['set', 'spaced'], { stdin: '  keep spaces  ' })).code).toBe(0);
    expect(await store.reveal('spaced')).toBe('  keep spaces  ');
  });

  it('refuses an empty value with WARDEN_USAGE (exit 2) and sends nothing', async () => {
    for (const stdin of ['', '\n', '\r\n']) {
      const empty = await run(['set', 'empty-one'], { stdin });
      expect(empty.code).toBe(2);
      expect(empty.stderr).toContain('(WARDEN_USAGE)');
    }
    const invalid = await run(['set', 'bad-utf8'], { stdin: Buffer.from([0xc3, 0x28]) });
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('(WARDEN_USAGE)');
    const tooBig = await run(['set', 'too-big'], { stdin: 'x'.repeat(16 * 1024 + 1) });
    expect(tooBig.code).toBe(2);
    expect(tooBig.stderr).toContain('(WARDEN_USAGE)');
    expect((await store.list()).map((s) => s.name)).not.toEqual(expect.arrayContaining(['empty-one']));
  });

  it('asks twice on a terminal instead of reading stdin', async () => {
    const typed = await run(['set', 'typed'], { answers: ['hunter2', 'hunter2'] });
    expect(typed.code, typed.stderr).toBe(0);
    expect(typed.stdinRead).toBe(false);
    expect(typed.asked).toHaveLength(2);
    expect(await store.reveal('typed')).toBe('hunter2');
    const mismatch = await run(['set', 'typed'], { answers: ['one', 'two'] });
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toContain('(WARDEN_USAGE)');
    expect(await store.reveal('typed')).toBe('hunter2');
    expect((await run(['set', 'typed'], { answers: [''] })).code).toBe(2);
  });

  it('reports server refusals: bad names (exit 2) and auditors (exit 1)', async () => {
    const badName = await run(['set', 'Bad Name'], { stdin: 'v' });
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('(WARDEN_VALIDATION_FAILED)');
    const nul = await run(['set', 'with-nul'], { stdin: 'a\u0000b' });
    expect(nul.code).toBe(2);
    expect(nul.stderr).toContain('(WARDEN_VALIDATION_FAILED)');
    const auditor = await run(['list'], { token: 'auditor-token' });
    expect(auditor.code).toBe(1);
    expect(auditor.stderr).toContain('(WARDEN_FORBIDDEN)');
  });

  it('lists names without values and deletes', async () => {
    await run(['set', 'api-key'], { stdin: 'k-secret-value\n' });
    const listed = await run(['list']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/api-key\s+updated /);
    expect(listed.stdout).not.toContain('k-secret-value');
    const json = await run(['list', '--json']);
    const names = JSON.parse(json.stdout) as { secrets: { name: string }[] };
    expect(names.secrets.map((s) => s.name)).toEqual(expect.arrayContaining(['api-key', 'github-pat']));
    expect(json.stdout).not.toContain('k-secret-value');

    const deleted = await run(['delete', 'api-key']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain('Deleted secret api-key.');
    expect(JSON.parse((await run(['delete', 'spaced', '--json'])).stdout)).toEqual({ deleted: 'spaced' });
    const missing = await run(['delete', 'api-key']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('(WARDEN_NOT_FOUND)');
    expect((await run(['list'])).stdout).not.toContain('api-key');
  });
});
