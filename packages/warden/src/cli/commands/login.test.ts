/**
 * `warden login`, `logout`, `admins …` and `admin-tokens create` in-process against a real listening
 * server (SQLite): the session file is written under XDG_CONFIG_HOME with mode 0600 in a 0700
 * directory, reused by later commands, and removed (and revoked) by logout; bad flags exit 2.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminAuth } from '../../api/admin-auth.js';
import { buildApp } from '../../api/app.js';
import { authRoutes } from '../../api/auth.js';
import { createAdminSessions, type AdminSessions } from '../../identity/admin-sessions.js';
import { createAdminDirectory, type NewAdmin } from '../../identity/admins.js';
import { createLoginThrottle } from '../../identity/login-throttle.js';
import { createLogger } from '../../log/index.js';
import { openTestAuditLog, type TestAuditLog } from '../../testing/audit-log.js';
import { createCliRunner, type CliRunner } from '../../testing/cli.js';
import { storeBackends, type OpenedTestStore } from '../../testing/stores.js';
import type { SavedSession } from '../http-client.js';
import { adminsCommand } from './admins.js';
import { loginCommands } from './login.js';

const sqlite = storeBackends.find((b) => b.name === 'sqlite')!;

describe('warden login and admins (CLI against a listening server)', () => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let sessions: AdminSessions;
  let app: FastifyInstance;
  let url: string;
  let home: string;
  let root: NewAdmin;
  /** Runs the commands in-process the way runCli does; resolves to exit code and output. */
  let run: CliRunner;
  let clock = Date.now();
  const totp = (who: NewAdmin = root) => TOTP.generate({ secret: Secret.fromBase32(who.totpSecret), timestamp: clock });
  const nextStep = () => {
    clock += 30_000;
  };
  const file = () => join(home, 'warden', 'session.json');

  beforeAll(async () => {
    opened = await sqlite.openMigrated();
    audit = await openTestAuditLog(opened.store);
    const db = opened.store.db;
    const now = () => clock;
    const admins = createAdminDirectory({ db, barrier: audit.barrier, audit: audit.log, scryptCost: { log2N: 10, r: 8, p: 1 }, now });
    sessions = createAdminSessions({ db, admins, throttle: createLoginThrottle({ db, now }), audit: audit.log, sessionTtl: 3_600_000, now });
    const { requireAdmin } = createAdminAuth(sessions);
    app = await buildApp({ logger: createLogger({ level: 'silent' }), bodyLimit: 65_536, routes: [authRoutes({ admins, sessions, requireAdmin })] });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    home = await mkdtemp(join(tmpdir(), 'warden-cli-login-'));
    run = createCliRunner({
      register: (program, ctx, stdio) => {
        loginCommands(program, ctx, { readStdin: stdio.readStdinText });
        adminsCommand(program, ctx);
      },
      home,
    });
    root = (await admins.bootstrap())!;
  });
  afterAll(async () => {
    await app.close();
    await audit.log.close();
    await opened.cleanup();
    await rm(home, { recursive: true, force: true });
  });

  it('logs in with --password-stdin and flags, saving the session 0600 in a 0700 directory', async () => {
    const result = await run(['login', '--url', url, '--username', 'admin', '--password-stdin', '--totp', totp()], { stdin: `${root.password}\n` });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('Logged in to');
    const saved = JSON.parse(await readFile(file(), 'utf8')) as SavedSession;
    expect(saved).toMatchObject({ url: new URL(url).origin, username: 'admin', role: 'admin', token: expect.stringMatching(/^wdn_/) as unknown });
    expect(saved.expiresAt).toBe(clock + 3_600_000);
    expect((await stat(file())).mode & 0o777).toBe(0o600);
    expect((await stat(join(home, 'warden'))).mode & 0o777).toBe(0o700);
    expect((await sessions.authenticate(saved.token)).admin).toBe('admin');
  });

  it('prompts for what is missing', async () => {
    nextStep();
    const result = await run(['login', '--url', url], { answers: { 'Username: ': 'admin', 'Password: ': root.password, 'TOTP code: ': totp() } });
    expect(result.code).toBe(0);
    expect(result.asked).toEqual(['Username: ', 'Password: ', 'TOTP code: ']);
  });

  it('reuses the saved session for admins commands and admin-tokens', async () => {
    const created = await run(['admins', 'create', 'alice', '--role', 'auditor', '--json']);
    expect(created.code).toBe(0);
    const alice = JSON.parse(created.stdout) as NewAdmin;
    expect(alice).toMatchObject({ username: 'alice', role: 'auditor' });
    const list = await run(['admins', 'list']);
    expect(list.stdout).toMatch(/admin\s+admin\s+active/);
    expect(list.stdout).toMatch(/alice\s+auditor\s+active/);
    expect((await run(['admins', 'disable', 'alice'])).stdout).toBe('Admin alice is disabled.\n');
    expect((await run(['admins', 'enable', 'alice'])).stdout).toBe('Admin alice is active.\n');
    nextStep();
    const token = await run(['admin-tokens', 'create', '--role', 'auditor', '--ttl', '24h', '--totp', totp(), '--json']);
    expect(token.code).toBe(0);
    const issued = JSON.parse(token.stdout) as { token: string; role: string };
    expect((await sessions.authenticate(issued.token)).role).toBe('auditor');
    const reused = await run(['admin-tokens', 'create', '--role', 'auditor', '--ttl', '24h', '--totp', totp()]);
    expect(reused.code).toBe(1);
    expect(reused.stderr).toContain('(WARDEN_FORBIDDEN)');
  });

  it('refuses bad flags with exit code 2 (WARDEN_USAGE)', async () => {
    for (const argv of [
      ['admins', 'create', 'Bad Name', '--role', 'auditor'],
      ['admins', 'create', 'bob', '--role', 'root'],
      ['admin-tokens', 'create', '--role', 'auditor', '--ttl', 'forever', '--totp', '123456'],
      ['admin-tokens', 'create', '--role', 'auditor', '--ttl', '1h', '--totp', '12ab'],
      ['login', '--url', url, '--username', 'admin'],
    ]) {
      const result = await run(argv);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('(WARDEN_USAGE)');
    }
    expect((await run(['admins', 'create', 'bob'])).code).toBe(2);
  });

  it('reports a failed login with its code and keeps the saved session', async () => {
    const before = await readFile(file(), 'utf8');
    const result = await run(['login', '--url', url, '--username', 'admin', '--password-stdin', '--totp', '000000'], { stdin: 'wrong' });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('warden: login failed: wrong username, password or TOTP code (WARDEN_LOGIN_FAILED)\n');
    expect(await readFile(file(), 'utf8')).toBe(before);
  });

  it('logs out: revokes the session on the server and deletes the file', async () => {
    const saved = JSON.parse(await readFile(file(), 'utf8')) as SavedSession;
    const result = await run(['logout'], { env: { WARDEN_TOKEN: 'wdn_someone-else' } });
    expect(result).toMatchObject({ code: 0, stdout: `Logged out of ${saved.url}.\n` });
    await expect(stat(file())).rejects.toThrow();
    await expect(sessions.authenticate(saved.token)).rejects.toThrow();
    expect((await run(['admins', 'list', '--url', url])).stderr).toContain('(WARDEN_UNAUTHENTICATED)');
    expect((await run(['logout'])).stdout).toBe('Not logged in.\n');
  });
});
