/**
 * Auth and admin routes end to end over fastify inject, on both backends: login (success, generic
 * failure, 429 with Retry-After), logout, the admin directory by role, and admin tokens (fresh TOTP,
 * role cap, revoke).
 */
import type { FastifyInstance } from 'fastify';
import { Secret, TOTP } from 'otpauth';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditLog } from '../audit/index.js';
import type { Barrier } from '../barrier/index.js';
import { createAdminSessions } from '../identity/admin-sessions.js';
import { createAdminDirectory, type NewAdmin } from '../identity/admins.js';
import { createLoginThrottle } from '../identity/login-throttle.js';
import { createLogger } from '../log/index.js';
import { openTestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { createAdminAuth } from './admin-auth.js';
import { buildApp } from './app.js';
import { authRoutes } from './auth.js';

describe.each(storeBackends)('auth routes on $name', (backend) => {
  let opened: OpenedTestStore;
  let log: AuditLog;
  let barrier: Barrier;
  let app: FastifyInstance;
  let clock: number;
  let root: NewAdmin;
  const totp = (who: NewAdmin) => TOTP.generate({ secret: Secret.fromBase32(who.totpSecret), timestamp: clock });
  const post = (url: string, body?: unknown, token?: string) =>
    app.inject({
      method: 'POST',
      url,
      ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
      ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
    });
  const login = async (who: NewAdmin) => {
    clock += 30_000;
    const res = await post('/v1/auth/login', { username: who.username, password: who.password, totp: totp(who) });
    expect(res.statusCode).toBe(200);
    return res.json<{ token: string }>().token;
  };

  beforeEach(async () => {
    opened = await backend.openMigrated();
    ({ log, barrier } = await openTestAuditLog(opened.store));
    clock = 1_700_000_000_000;
    const now = () => clock;
    const db = opened.store.db;
    const admins = createAdminDirectory({ db, barrier, audit: log, scryptCost: { log2N: 10, r: 8, p: 1 }, now });
    const throttle = createLoginThrottle({ db, now });
    const sessions = createAdminSessions({ db, admins, throttle, audit: log, sessionTtl: 3_600_000, now });
    const { requireAdmin } = createAdminAuth(sessions);
    app = await buildApp({ logger: createLogger({ level: 'silent' }), bodyLimit: 65_536, routes: [authRoutes({ admins, sessions, requireAdmin })] });
    root = (await admins.bootstrap())!;
  });
  afterEach(async () => {
    await app.close();
    await log.close();
    barrier.close();
    await opened.cleanup();
  });

  it('logs in, lists admins, logs out', async () => {
    clock += 30_000;
    const res = await post('/v1/auth/login', { username: 'admin', password: root.password, totp: totp(root) });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ token: string; expiresAt: number; role: string }>();
    expect(body).toEqual({ token: expect.stringMatching(/^wdn_/) as string, expiresAt: clock + 3_600_000, role: 'admin' });
    const list = await app.inject({ method: 'GET', url: '/v1/admins', headers: { authorization: `Bearer ${body.token}` } });
    expect(list.json()).toMatchObject({ admins: [{ username: 'admin', role: 'admin', status: 'active' }] });
    expect((await post('/v1/auth/logout', undefined, body.token)).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/v1/admins', headers: { authorization: `Bearer ${body.token}` } })).statusCode).toBe(401);
  });

  it('refuses bad logins generically, then throttles with 429 and Retry-After', async () => {
    for (const body of [
      { username: 'admin', password: 'wrong', totp: '000000' },
      { username: 'nobody', password: root.password, totp: '000000' },
      { username: 'admin', password: root.password, totp: '000000' },
      { username: 'admin', password: 'wrong', totp: '000000' },
    ]) {
      const res = await post('/v1/auth/login', body);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ code: 'WARDEN_LOGIN_FAILED', detail: 'login failed: wrong username, password or TOTP code' });
    }
    const res = await post('/v1/auth/login', { username: 'admin', password: root.password, totp: totp(root) });
    expect(res.statusCode).toBe(429);
    expect(res.json()).toMatchObject({ code: 'WARDEN_LOGIN_THROTTLED' });
    expect(res.headers['retry-after']).toBe('1');
    expect((await post('/v1/auth/login', { username: 'admin' })).statusCode).toBe(400);
  });

  it('lets an admin create, disable and enable admins; others may only list', async () => {
    const token = await login(root);
    const created = await post('/v1/admins', { username: 'alice', role: 'auditor' }, token);
    expect(created.statusCode).toBe(201);
    const alice = created.json<NewAdmin>();
    expect(alice).toMatchObject({ username: 'alice', role: 'auditor', password: expect.any(String) as string });
    expect((await post('/v1/admins', { username: 'alice', role: 'auditor' }, token)).json()).toMatchObject({ code: 'WARDEN_CONFLICT' });
    expect((await post('/v1/admins', { username: 'Bad Name', role: 'auditor' }, token)).statusCode).toBe(400);
    const aliceToken = await login(alice);
    expect((await post('/v1/admins', { username: 'eve', role: 'admin' }, aliceToken)).statusCode).toBe(403);
    expect((await post('/v1/admins/admin/disable', undefined, aliceToken)).statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: '/v1/admins', headers: { authorization: `Bearer ${aliceToken}` } })).statusCode).toBe(200);
    expect((await post('/v1/admins/admin/disable', undefined, token)).json()).toMatchObject({ code: 'WARDEN_VALIDATION_FAILED' });
    expect((await post('/v1/admins/nobody/disable', undefined, token)).statusCode).toBe(404);
    expect((await post('/v1/admins/alice/disable', undefined, token)).json()).toMatchObject({ username: 'alice', status: 'disabled' });
    expect((await app.inject({ method: 'GET', url: '/v1/admins', headers: { authorization: `Bearer ${aliceToken}` } })).statusCode).toBe(401);
    expect((await post('/v1/admins/alice/enable', undefined, token)).json()).toMatchObject({ status: 'active' });
  });

  it('issues admin tokens with a fresh TOTP code, capped at the caller role, and revokes them', async () => {
    const token = await login(root);
    const used = totp(root);
    expect((await post('/v1/admin-tokens', { role: 'auditor', ttl: '24h', totp: used }, token)).statusCode).toBe(403);
    clock += 30_000;
    expect((await post('/v1/admin-tokens', { role: 'auditor', ttl: 'forever', totp: totp(root) }, token)).statusCode).toBe(400);
    const res = await post('/v1/admin-tokens', { role: 'auditor', ttl: '24h', totp: totp(root) }, token);
    expect(res.statusCode).toBe(201);
    const issued = res.json<{ id: string; token: string; expiresAt: number; role: string }>();
    expect(issued).toMatchObject({ role: 'auditor', expiresAt: clock + 86_400_000 });
    const auditor = issued.token;
    expect((await app.inject({ method: 'GET', url: '/v1/admins', headers: { authorization: `Bearer ${auditor}` } })).statusCode).toBe(200);
    clock += 30_000;
    const escalate = await post('/v1/admin-tokens', { role: 'security', ttl: '1h', totp: totp(root) }, auditor);
    expect(escalate.json()).toMatchObject({ code: 'WARDEN_FORBIDDEN' });
    expect((await post(`/v1/admin-tokens/${issued.id}/revoke`, undefined, token)).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/v1/admins', headers: { authorization: `Bearer ${auditor}` } })).statusCode).toBe(401);
  });
});
