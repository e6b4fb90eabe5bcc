/**
 * requireAdmin over fastify inject, deciding with the real Cedar engine and the built-in policy set
 * (sessions are faked at the edge): 401 without or with a bad token (with WWW-Authenticate), the role
 * matrix on real route patterns (403 WARDEN_FORBIDDEN on deny), every decision audited with the
 * built-in policy ids, and fail-closed behaviour when the engine errors or the audit log is down.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../audit/index.js';
import { WardenError } from '../errors/index.js';
import type { AdminPrincipal, AdminRole } from '../identity/types.js';
import { createLogger } from '../log/index.js';
import { createBuiltinAuthorizer } from '../policy/builtin.js';
import { createPolicyEngine, type PolicyEngine } from '../policy/engine.js';
import { adminPrincipal, adminRequestFor, bearerToken, builtinAdminDecide, createAdminAuth, type AdminAuthOptions } from './admin-auth.js';
import { buildApp } from './app.js';

const roles = ['admin', 'security', 'auditor', 'pdp'] as const;
const tokenFor = (role: AdminRole) => `wdn_${role.padEnd(43, 'x')}`;
const principals = new Map<string, AdminPrincipal>(
  roles.map((role) => [tokenFor(role), { kind: 'admin', admin: `${role}-user`, role, sessionId: `s-${role}`, expiresAt: Date.now() + 60_000 }]),
);
const sessions = {
  authenticate: async (token: string) => {
    const principal = principals.get(token);
    if (!principal) throw new WardenError('WARDEN_UNAUTHENTICATED', 'authentication required');
    return principal;
  },
};

type Method = 'GET' | 'POST' | 'PUT';
/** [method, route, roles the built-in set admits]; the route lists passed to requireAdmin are documentation only. */
const matrix: ReadonlyArray<readonly [Method, string, readonly AdminRole[]]> = [
  ['GET', '/v1/agents', ['admin', 'security', 'auditor']],
  ['POST', '/v1/agents', ['admin', 'security']],
  ['GET', '/v1/agents/:name', ['admin', 'security', 'auditor']],
  ['POST', '/v1/agents/:name/credentials', ['admin', 'security']],
  ['GET', '/v1/policies', ['admin', 'security', 'auditor']],
  ['PUT', '/v1/policies', ['admin', 'security']],
  ['POST', '/v1/authorize', ['admin', 'security', 'pdp']],
  ['GET', '/v1/audit/entries', ['admin', 'auditor']],
  ['POST', '/v1/audit/hash', ['admin', 'auditor']],
  ['GET', '/v1/keys', ['admin', 'security']],
  ['POST', '/v1/keys', ['admin', 'security']],
  ['GET', '/v1/admins', ['admin', 'security', 'auditor']],
  ['POST', '/v1/admins', ['admin']],
  ['POST', '/v1/admins/:username/disable', ['admin']],
  ['POST', '/v1/admin-tokens', ['admin', 'security', 'auditor']],
  ['POST', '/v1/admin-tokens/:id/revoke', ['admin', 'security', 'auditor']],
  ['POST', '/v1/auth/logout', ['admin', 'security', 'auditor']],
  ['GET', '/v1/elsewhere', []],
];
const concrete = (route: string) => route.replace(':name', 'bot-1').replace(':username', 'bob').replace(':id', 'a'.repeat(32));

async function appWith(options: AdminAuthOptions): Promise<FastifyInstance> {
  const { requireAdmin } = createAdminAuth(sessions, options);
  const routes: FastifyPluginAsync = async (instance) => {
    const whoami = async (request: Parameters<typeof adminPrincipal>[0]) => ({ admin: adminPrincipal(request).admin });
    for (const [method, url] of matrix) instance.route({ method, url, onRequest: requireAdmin('auditor'), handler: whoami });
  };
  return buildApp({ logger: createLogger({ level: 'silent' }), bodyLimit: 1024, routes: [routes] });
}

describe('requireAdmin with the built-in policy set', () => {
  const events: AuditEvent[] = [];
  let app: FastifyInstance;
  beforeAll(async () => {
    const builtin = createBuiltinAuthorizer({ engine: createPolicyEngine(), audit: { append: async (event: AuditEvent) => events.push(event) } });
    app = await appWith({ decide: builtinAdminDecide(builtin) });
  });
  afterAll(async () => {
    await app.close();
  });
  beforeEach(() => {
    events.length = 0;
  });

  const call = (method: Method, url: string, authorization?: string) =>
    app.inject({ method, url, ...(authorization === undefined ? {} : { headers: { authorization } }) });

  it('answers 401 with WWW-Authenticate without a token, and with invalid_token for an unknown one', async () => {
    for (const authorization of [undefined, '', 'Basic YWRtaW46YWRtaW4=', 'Bearer']) {
      const res = await call('GET', '/v1/agents', authorization);
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="warden"');
      expect(res.json()).toMatchObject({ code: 'WARDEN_UNAUTHENTICATED' });
    }
    const res = await call('GET', '/v1/agents', 'Bearer wdn_not-a-real-token');
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="warden", error="invalid_token"');
    expect(events).toEqual([]);
  });

  it('decides the role matrix with the engine (the route role lists do not decide)', async () => {
    for (const [method, route, allowed] of matrix) {
      for (const role of roles) {
        const res = await call(method, concrete(route), `Bearer ${tokenFor(role)}`);
        if (allowed.includes(role)) {
          expect(res.statusCode, `${role} ${method} ${route}`).toBe(200);
          expect(res.json()).toEqual({ admin: `${role}-user` });
        } else {
          expect(res.statusCode, `${role} ${method} ${route}`).toBe(403);
          expect(res.json()).toMatchObject({ code: 'WARDEN_FORBIDDEN' });
        }
      }
    }
    // Every decision but the 4 allowed reads of the audit log itself (admin and auditor × 2 routes).
    expect(events).toHaveLength(matrix.length * roles.length - 4);
    expect(events.some((e) => e.resource?.type === 'Warden::Audit' && e.decision?.effect === 'allow')).toBe(false);
  });

  it('audits every decision with the built-in policy ids and version', async () => {
    expect((await call('POST', '/v1/agents', `Bearer ${tokenFor('auditor')}`)).statusCode).toBe(403);
    expect((await call('GET', '/v1/agents?status=active', `Bearer ${tokenFor('auditor')}`)).statusCode).toBe(200);
    expect((await call('POST', '/v1/authorize', `Bearer ${tokenFor('pdp')}`)).statusCode).toBe(200);
    expect((await call('GET', '/v1/elsewhere', `Bearer ${tokenFor('admin')}`)).statusCode).toBe(403);
    expect(events).toMatchObject([
      {
        class: 'api_activity',
        action: 'admin:write',
        actor: { type: 'admin', id: 'auditor-user' },
        resource: { type: 'Warden::Agents', id: 'all' },
        decision: { effect: 'deny', policyIds: [], policySetVersion: 'builtin-3' },
        outcome: 'failure',
        source: { ip: '127.0.0.1' },
        details: { role: 'auditor', route: 'POST /v1/agents' },
      },
      {
        action: 'admin:read',
        decision: { effect: 'allow', policyIds: ['builtin.auditor-agents'], policySetVersion: 'builtin-3' },
        outcome: 'success',
        details: { route: 'GET /v1/agents' },
      },
      { action: 'admin:authorize', resource: { type: 'Warden::Policies' }, decision: { effect: 'allow', policyIds: ['builtin.pdp-authorize'] } },
      { action: 'admin:unknown', resource: { type: 'route', id: 'GET /v1/elsewhere' }, decision: { effect: 'deny' }, details: { errors: ['no admin resource for this route'] } },
    ]);
    expect(events.every((e) => typeof e.decision?.id === 'string' && e.source?.requestId !== undefined)).toBe(true);
  });

  it('uses the route pattern, so an encoded path cannot dodge the mapping', async () => {
    expect((await call('POST', '/v1/%61gents', `Bearer ${tokenFor('auditor')}`)).statusCode).toBe(403);
    expect((await call('GET', '/v1/%61gents', `Bearer ${tokenFor('auditor')}`)).statusCode).toBe(200);
    expect(events.map((e) => e.details?.['route'])).toEqual(['POST /v1/agents', 'GET /v1/agents']);
  });

  it('parses only well-formed bearer headers', () => {
    const req = (authorization?: string) => ({ headers: { authorization } }) as unknown as Parameters<typeof bearerToken>[0];
    expect(bearerToken(req('Bearer abc'))).toBe('abc');
    expect(bearerToken(req('Bearer a b'))).toBeUndefined();
    expect(bearerToken(req())).toBeUndefined();
  });

  it('refuses unknown roles in a route role list', () => {
    const { requireAdmin } = createAdminAuth(sessions);
    expect(() => requireAdmin('root' as AdminRole)).toThrow(/unknown role/);
  });
});

describe('requireAdmin fails closed', () => {
  const admin = `Bearer ${tokenFor('admin')}`;

  it('denies when the engine errors, and audits the errors', async () => {
    const real = createPolicyEngine();
    const events: AuditEvent[] = [];
    const broken: PolicyEngine = { ...real, evaluate: (set, request, entities) => real.evaluate({ ...set, handle: 'no-such-set' }, request, entities) };
    const throwing: PolicyEngine = {
      ...real,
      evaluate: () => {
        throw new Error('wasm trap');
      },
    };
    for (const engine of [broken, throwing]) {
      const app = await appWith({ decide: builtinAdminDecide(createBuiltinAuthorizer({ engine, audit: { append: async (e: AuditEvent) => events.push(e) } })) });
      const res = await app.inject({ method: 'GET', url: '/v1/agents', headers: { authorization: admin } });
      expect(res.statusCode).toBe(403);
      await app.close();
    }
    expect(events).toHaveLength(2);
    for (const event of events) {
      expect(event).toMatchObject({ decision: { effect: 'deny' }, outcome: 'failure' });
      expect(event.details?.['errors']).toEqual([expect.any(String)]);
    }
  });

  it('answers 503 and does not run the route when the decision cannot be audited', async () => {
    let ran = false;
    const audit = { append: () => Promise.reject(new Error('disk full')) };
    const { requireAdmin } = createAdminAuth(sessions, { decide: builtinAdminDecide(createBuiltinAuthorizer({ audit })) });
    const routes: FastifyPluginAsync = async (instance) => {
      instance.get('/v1/agents', { onRequest: requireAdmin() }, async () => {
        ran = true;
        return {};
      });
    };
    const app = await buildApp({ logger: createLogger({ level: 'silent' }), bodyLimit: 1024, routes: [routes] });
    const res = await app.inject({ method: 'GET', url: '/v1/agents', headers: { authorization: admin } });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 'WARDEN_AUDIT_UNAVAILABLE' });
    expect(ran).toBe(false);
    await app.close();
  });

  it('maps routes to actions and collections', () => {
    expect(adminRequestFor('HEAD', '/v1/agents/:name')).toEqual({ action: 'admin:read', collection: 'Agents' });
    expect(adminRequestFor('DELETE', '/v1/agents/:name')).toEqual({ action: 'admin:write', collection: 'Agents' });
    expect(adminRequestFor('POST', '/v1/authorize')).toEqual({ action: 'admin:authorize', collection: 'Policies' });
    expect(adminRequestFor('POST', '/v1/audit/hash')).toEqual({ action: 'admin:read', collection: 'Audit' });
    expect(adminRequestFor('POST', '/v1/admin-tokens/:id/revoke')).toEqual({ action: 'admin:self', collection: 'Admins' });
    expect(adminRequestFor('GET', '/v1/policies?builtin=true')).toEqual({ action: 'admin:read', collection: 'Policies' });
    expect(adminRequestFor('GET', '/v1/agentsx')).toBeUndefined();
    expect(adminRequestFor('GET', '/v1/whoami')).toBeUndefined();
  });
});
