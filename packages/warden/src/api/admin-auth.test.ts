/** requireAdmin over fastify inject: 401 without or with a bad token (with WWW-Authenticate), 403 for a role not allowed, 200 otherwise. */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WardenError } from '../errors/index.js';
import type { AdminPrincipal, AdminRole } from '../identity/types.js';
import { createLogger } from '../log/index.js';
import { adminPrincipal, bearerToken, createAdminAuth } from './admin-auth.js';
import { buildApp } from './app.js';

const tokenFor = (role: AdminRole) => `wdn_${role.padEnd(43, 'x')}`;
const principals = new Map<string, AdminPrincipal>(
  (['admin', 'security', 'auditor'] as const).map((role) => [
    tokenFor(role),
    { kind: 'admin', admin: `${role}-user`, role, sessionId: `s-${role}`, expiresAt: Date.now() + 60_000 },
  ]),
);
const sessions = {
  authenticate: async (token: string) => {
    const principal = principals.get(token);
    if (!principal) throw new WardenError('WARDEN_UNAUTHENTICATED', 'authentication required');
    return principal;
  },
};

describe('requireAdmin', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    const { requireAdmin } = createAdminAuth(sessions);
    const routes: FastifyPluginAsync = async (instance) => {
      const whoami = async (request: Parameters<typeof adminPrincipal>[0]) => ({ admin: adminPrincipal(request).admin });
      instance.get('/admin-only', { onRequest: requireAdmin() }, whoami);
      instance.get('/auditors', { onRequest: requireAdmin('auditor') }, whoami);
      instance.get('/security', { onRequest: requireAdmin('security') }, whoami);
    };
    app = await buildApp({ logger: createLogger({ level: 'silent' }), bodyLimit: 1024, routes: [routes] });
  });
  afterAll(async () => {
    await app.close();
  });

  const get = (url: string, authorization?: string) =>
    app.inject({ method: 'GET', url, ...(authorization === undefined ? {} : { headers: { authorization } }) });

  it('answers 401 with WWW-Authenticate without a token', async () => {
    for (const authorization of [undefined, '', 'Basic YWRtaW46YWRtaW4=', 'Bearer']) {
      const res = await get('/auditors', authorization);
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="warden"');
      expect(res.json()).toMatchObject({ code: 'WARDEN_UNAUTHENTICATED' });
    }
  });

  it('answers 401 with invalid_token for an unknown token', async () => {
    const res = await get('/auditors', 'Bearer wdn_not-a-real-token');
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="warden", error="invalid_token"');
    expect(res.json()).toMatchObject({ code: 'WARDEN_UNAUTHENTICATED' });
  });

  it('answers 403 for a role that is not allowed', async () => {
    for (const [url, role] of [
      ['/admin-only', 'auditor'],
      ['/admin-only', 'security'],
      ['/security', 'auditor'],
      ['/auditors', 'security'],
    ] as const) {
      const res = await get(url, `Bearer ${tokenFor(role)}`);
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ code: 'WARDEN_FORBIDDEN' });
    }
  });

  it('admits the allowed role, and admin everywhere, with the principal set', async () => {
    expect((await get('/auditors', `Bearer ${tokenFor('auditor')}`)).json()).toEqual({ admin: 'auditor-user' });
    expect((await get('/security', `bearer ${tokenFor('security')}`)).json()).toEqual({ admin: 'security-user' });
    for (const url of ['/admin-only', '/auditors', '/security']) {
      const res = await get(url, `Bearer ${tokenFor('admin')}`);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ admin: 'admin-user' });
    }
  });

  it('parses only well-formed bearer headers', () => {
    const req = (authorization?: string) => ({ headers: { authorization } }) as unknown as Parameters<typeof bearerToken>[0];
    expect(bearerToken(req('Bearer abc'))).toBe('abc');
    expect(bearerToken(req('Bearer a b'))).toBeUndefined();
    expect(bearerToken(req())).toBeUndefined();
  });
});
