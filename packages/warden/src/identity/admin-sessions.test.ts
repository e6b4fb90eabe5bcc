/**
 * Admin sessions on both backends: every login refusal with its code and audited reason (wrong
 * password, unknown user, wrong and reused TOTP, disabled admin, throttled per user and per address,
 * reset on success), session expiry, revocation and logout, and admin tokens (fresh TOTP, role cap).
 * Tokens are stored only as hashes.
 */
import { Secret, TOTP } from 'otpauth';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEntryBody, AuditLog } from '../audit/index.js';
import type { Barrier } from '../barrier/index.js';
import { isWardenError } from '../errors/index.js';
import { openTestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { createAdminSessions, type AdminSessions } from './admin-sessions.js';
import { createAdminDirectory, type AdminDirectory, type NewAdmin } from './admins.js';
import { createLoginThrottle } from './login-throttle.js';

const code = (c: Parameters<typeof isWardenError>[1]) => (e: unknown) => isWardenError(e, c);
const totpAt = (base32: string, ms: number) => TOTP.generate({ secret: Secret.fromBase32(base32), timestamp: ms });
const HOUR = 3_600_000;

describe.each(storeBackends)('admin sessions on $name', (backend) => {
  let opened: OpenedTestStore;
  let log: AuditLog;
  let barrier: Barrier;
  let admins: AdminDirectory;
  let sessions: AdminSessions;
  let clock: number;
  let alice: NewAdmin;
  const totp = (who: NewAdmin = alice) => totpAt(who.totpSecret, clock);
  const loginAs = (who: NewAdmin = alice, ip = '192.0.2.1') =>
    sessions.login({ username: who.username, password: who.password, totp: totp(who), ip });
  const audited = async (action: string) =>
    (await log.entries(0, 1000)).map((e) => JSON.parse(e.body!) as AuditEntryBody).filter((b) => b.action === action);
  const nextStep = () => {
    clock += 30_000;
  };

  beforeEach(async () => {
    opened = await backend.openMigrated();
    ({ log, barrier } = await openTestAuditLog(opened.store));
    clock = 1_700_000_000_000;
    const now = () => clock;
    const db = opened.store.db;
    admins = createAdminDirectory({ db, barrier, audit: log, scryptCost: { log2N: 10, r: 8, p: 1 }, now });
    const throttle = createLoginThrottle({ db, now });
    sessions = createAdminSessions({ db, admins, throttle, audit: log, sessionTtl: HOUR, now });
    alice = await admins.create({ username: 'alice', role: 'security' });
  });
  afterEach(async () => {
    await log.close();
    barrier.close();
    await opened.cleanup();
  });

  it('logs in with password and TOTP, authenticates the session, audits the success', async () => {
    const session = await loginAs();
    expect(session.token).toMatch(/^wdn_[\w-]{43}$/);
    expect(session).toMatchObject({ role: 'security', expiresAt: clock + HOUR });
    expect(await sessions.authenticate(session.token)).toEqual({
      kind: 'admin',
      admin: 'alice',
      role: 'security',
      sessionId: session.id,
      expiresAt: clock + HOUR,
    });
    const [entry] = await audited('admin.login');
    expect(entry).toMatchObject({ class_uid: 3002, status: 'success', actor: { type: 'admin', id: 'alice' }, src_endpoint: { ip: '192.0.2.1' } });
    const rows = await opened.store.db.selectFrom('admin_sessions').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(session.token.slice(4));
    expect(rows[0]!.token_hash.length).toBe(32);
  });

  it('refuses a wrong password and an unknown user with the same error, audited with the reason only', async () => {
    const wrong = sessions.login({ username: 'alice', password: 'not-it', totp: totp(), ip: '192.0.2.1' });
    const unknown = sessions.login({ username: 'mallory', password: alice.password, totp: totp(), ip: '192.0.2.1' });
    const errors = await Promise.all([wrong.catch((e: unknown) => e), unknown.catch((e: unknown) => e)]);
    for (const err of errors) expect(code('WARDEN_LOGIN_FAILED')(err)).toBe(true);
    expect((errors[0] as Error).message).toBe((errors[1] as Error).message);
    const failures = await audited('admin.login');
    expect(failures.map((f) => [f.status, f.class_uid, f.details?.reason])).toEqual(
      expect.arrayContaining([
        ['failure', 3002, 'bad_password'],
        ['failure', 3002, 'unknown_user'],
      ]),
    );
    const all = JSON.stringify(await log.entries(0, 1000));
    expect(all).not.toContain(alice.password);
    expect(all).not.toContain('not-it');
  });

  it('refuses a wrong TOTP code and a reused one', async () => {
    const good = totp();
    const wrong = String((Number(good) + 1) % 1_000_000).padStart(6, '0');
    await expect(sessions.login({ username: 'alice', password: alice.password, totp: wrong })).rejects.toSatisfy(code('WARDEN_LOGIN_FAILED'));
    await sessions.login({ username: 'alice', password: alice.password, totp: good });
    await expect(sessions.login({ username: 'alice', password: alice.password, totp: good })).rejects.toSatisfy(code('WARDEN_LOGIN_FAILED'));
    const reasons = (await audited('admin.login')).map((e) => e.details?.reason ?? e.status);
    expect(reasons).toEqual(['bad_totp', 'success', 'bad_totp']);
  });

  it('refuses a disabled admin at login and revokes every existing session for good', async () => {
    const session = await loginAs();
    await admins.disable('alice');
    nextStep();
    await expect(loginAs()).rejects.toSatisfy(code('WARDEN_LOGIN_FAILED'));
    await expect(sessions.authenticate(session.token)).rejects.toSatisfy(code('WARDEN_UNAUTHENTICATED'));
    expect((await audited('admin.login')).at(-1)?.details?.reason).toBe('disabled');
    await admins.enable('alice');
    await expect(sessions.authenticate(session.token)).rejects.toSatisfy(code('WARDEN_UNAUTHENTICATED'));
    nextStep();
    expect((await sessions.authenticate((await loginAs()).token)).admin).toBe('alice');
  });

  it('refuses expired, revoked, logged-out, unknown and malformed tokens', async () => {
    const session = await loginAs();
    clock += HOUR - 1;
    await sessions.authenticate(session.token);
    clock += 1;
    await expect(sessions.authenticate(session.token)).rejects.toSatisfy(code('WARDEN_UNAUTHENTICATED'));
    nextStep();
    const second = await loginAs();
    const principal = await sessions.authenticate(second.token);
    await sessions.logout(principal);
    await expect(sessions.authenticate(second.token)).rejects.toSatisfy(code('WARDEN_UNAUTHENTICATED'));
    nextStep();
    const third = await loginAs();
    await sessions.revoke(third.id, await sessions.authenticate(third.token));
    await expect(sessions.authenticate(third.token)).rejects.toSatisfy(code('WARDEN_UNAUTHENTICATED'));
    for (const bad of ['', 'wdn_', `wdn_${'A'.repeat(43)}`, third.token.slice(0, -1), `Bearer ${third.token}`]) {
      await expect(sessions.authenticate(bad)).rejects.toSatisfy(code('WARDEN_UNAUTHENTICATED'));
    }
  });

  it('throttles a user after repeated failures even with the right credentials, and resets on success', async () => {
    for (let i = 0; i < 4; i++) {
      await expect(sessions.login({ username: 'alice', password: 'x', totp: '000000', ip: `198.51.100.${i}` })).rejects.toSatisfy(
        code('WARDEN_LOGIN_FAILED'),
      );
    }
    await expect(loginAs(alice, '203.0.113.9')).rejects.toSatisfy(code('WARDEN_LOGIN_THROTTLED'));
    expect((await audited('admin.login')).at(-1)?.details?.reason).toBe('throttled');
    clock += 1000;
    await loginAs(alice, '203.0.113.9');
    // Success reset the counter: three more failures are free again.
    for (let i = 0; i < 3; i++) await sessions.login({ username: 'alice', password: 'x', totp: '000000' }).catch(() => undefined);
    nextStep();
    await loginAs();
  });

  it('throttles a source address that tries many usernames', async () => {
    for (let i = 0; i < 4; i++) await sessions.login({ username: `u${i}`, password: 'x', totp: '000000', ip: '203.0.113.66' }).catch(() => undefined);
    await expect(loginAs(alice, '203.0.113.66')).rejects.toSatisfy(code('WARDEN_LOGIN_THROTTLED'));
    await loginAs(alice, '203.0.113.67');
  });

  it('issues admin tokens only with a fresh TOTP code and never above the creator', async () => {
    const session = await loginAs();
    const by = await sessions.authenticate(session.token);
    const used = totp();
    await expect(sessions.createAdminToken({ by, role: 'auditor', ttl: 24 * HOUR, totp: used })).rejects.toSatisfy(code('WARDEN_FORBIDDEN'));
    await expect(sessions.createAdminToken({ by, role: 'auditor', ttl: 24 * HOUR, totp: '123456' })).rejects.toSatisfy(code('WARDEN_FORBIDDEN'));
    nextStep();
    await expect(sessions.createAdminToken({ by, role: 'admin', ttl: 24 * HOUR, totp: totp() })).rejects.toSatisfy(code('WARDEN_FORBIDDEN'));
    await expect(sessions.createAdminToken({ by, role: 'auditor', ttl: 1000, totp: totp() })).rejects.toSatisfy(code('WARDEN_VALIDATION_FAILED'));
    const issued = await sessions.createAdminToken({ by, role: 'auditor', ttl: 24 * HOUR, totp: totp() });
    expect(issued).toMatchObject({ role: 'auditor', expiresAt: clock + 24 * HOUR });
    const principal = await sessions.authenticate(issued.token);
    expect(principal).toMatchObject({ admin: 'alice', role: 'auditor', sessionId: issued.id });
    const created = await audited('admin_token.create');
    expect(created.map((e) => [e.class_uid, e.status])).toEqual([
      [3004, 'failure'],
      [3004, 'failure'],
      [3004, 'success'],
    ]);
    // Another admin (not role admin) cannot revoke it; its owner can.
    const bob = await admins.create({ username: 'bob', role: 'security' });
    const bobPrincipal = await sessions.authenticate((await loginAs(bob)).token);
    await expect(sessions.revoke(issued.id, bobPrincipal)).rejects.toSatisfy(code('WARDEN_NOT_FOUND'));
    await sessions.revoke(issued.id, by);
    await expect(sessions.authenticate(issued.token)).rejects.toSatisfy(code('WARDEN_UNAUTHENTICATED'));
  });
});
