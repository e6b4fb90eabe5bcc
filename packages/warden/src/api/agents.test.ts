import { generateKeyPairSync } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WardenError } from '../errors/index.js';
import { createAgentDirectory } from '../identity/agents.js';
import { createCredentialStore, type CredentialStore } from '../identity/credentials.js';
import type { AdminRole } from '../identity/types.js';
import { createLogger } from '../log/index.js';
import { openTestAuditLog, type TestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { agentPermissionRoutes, agentRoutes } from './agents.js';
import { buildApp } from './app.js';
import { fakeRequireAdmin } from '../testing/admin-auth.js';

const sqlite = storeBackends.find((b) => b.name === 'sqlite')!;


describe('agent routes', () => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let credentials: CredentialStore;
  let app: FastifyInstance;
  const as = (role: AdminRole) => ({ 'x-test-role': role });

  beforeAll(async () => {
    opened = await sqlite.openMigrated();
    audit = await openTestAuditLog(opened.store);
    const directory = createAgentDirectory({ db: opened.store.db, audit: audit.log });
    credentials = createCredentialStore({ db: opened.store.db, barrier: audit.barrier, audit: audit.log, directory });
    app = await buildApp({
      logger: createLogger({ level: 'silent' }),
      bodyLimit: 65_536,
      routes: [agentRoutes({ directory, credentials, requireAdmin: fakeRequireAdmin })],
    });
  });
  afterAll(async () => {
    await app.close();
    await audit.log.close();
    await opened.cleanup();
  });

  it('refuses callers without an admin role (401) and with too little of one (403)', async () => {
    expect((await app.inject({ url: '/v1/agents' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/v1/agents', payload: { name: 'x1', owner: 'o' } })).json()).toMatchObject({
      code: 'WARDEN_UNAUTHENTICATED',
    });
    const forbidden = await app.inject({ method: 'POST', url: '/v1/agents', headers: as('auditor'), payload: { name: 'x1', owner: 'o' } });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ code: 'WARDEN_FORBIDDEN' });
    expect((await app.inject({ method: 'POST', url: '/v1/agents/x1/credentials', headers: as('auditor'), payload: { kind: 'client_secret' } })).statusCode).toBe(403);
    expect((await app.inject({ url: '/v1/agents', headers: as('auditor') })).statusCode).toBe(200);
  });

  it('creates, reads, updates, disables, enables and deletes an agent', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/v1/agents',
      headers: as('admin'),
      payload: { name: 'api-bot', owner: 'team-api', roles: ['reader'], labels: { team: 'api' }, clearance: 2 },
    });
    expect(created.statusCode).toBe(201);
    expect(created.headers['warden-audit-index']).toMatch(/^\d+$/);
    expect(created.json()).toMatchObject({ name: 'api-bot', owner: 'team-api', roles: ['reader'], status: 'active', clearance: 2 });
    const [entry] = await audit.log.entries(Number(created.headers['warden-audit-index']), 1);
    expect(JSON.parse(entry!.body!)).toMatchObject({ action: 'agent.create', actor: { type: 'admin', id: 'admin-user' } });

    const dup = await app.inject({ method: 'POST', url: '/v1/agents', headers: as('admin'), payload: { name: 'api-bot', owner: 'x' } });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ code: 'WARDEN_CONFLICT' });

    expect((await app.inject({ url: '/v1/agents/api-bot', headers: as('auditor') })).json()).toMatchObject({ name: 'api-bot' });
    const patched = await app.inject({ method: 'PATCH', url: '/v1/agents/api-bot', headers: as('security'), payload: { region: 'eu', requireDpop: true } });
    expect(patched.json()).toMatchObject({ region: 'eu', requireDpop: true, roles: ['reader'] });
    expect((await app.inject({ method: 'POST', url: '/v1/agents/api-bot/disable', headers: as('admin') })).json()).toMatchObject({ status: 'disabled' });
    const listed = await app.inject({ url: '/v1/agents?status=disabled&label=team=api', headers: as('auditor') });
    expect(listed.json<{ agents: { name: string }[] }>().agents.map((a) => a.name)).toEqual(['api-bot']);
    expect((await app.inject({ method: 'POST', url: '/v1/agents/api-bot/enable', headers: as('admin') })).json()).toMatchObject({ status: 'active' });
    expect((await app.inject({ method: 'DELETE', url: '/v1/agents/api-bot', headers: as('admin') })).statusCode).toBe(204);
    const gone = await app.inject({ url: '/v1/agents/api-bot', headers: as('admin') });
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toMatchObject({ code: 'WARDEN_NOT_FOUND' });
  });

  it('answers 400 for bad bodies, parameters and queries, and 404 for missing agents', async () => {
    const bad: { method: 'POST' | 'PATCH' | 'GET' | 'DELETE'; url: string; payload?: unknown }[] = [
      { method: 'POST', url: '/v1/agents', payload: { name: 'Bad Name', owner: 'o' } },
      { method: 'POST', url: '/v1/agents', payload: { name: 'ok-name' } },
      { method: 'POST', url: '/v1/agents', payload: { name: 'ok-name', owner: 'o', clearance: 9 } },
      { method: 'POST', url: '/v1/agents', payload: { name: 'ok-name', owner: 'o', labels: { 'Bad Key': 'v' } } },
      { method: 'POST', url: '/v1/agents', payload: { name: 'ok-name', owner: 'o', status: 'active' } },
      { method: 'PATCH', url: '/v1/agents/ok-name', payload: { name: 'renamed' } },
      { method: 'PATCH', url: '/v1/agents/cred-less', payload: {} },
      { method: 'GET', url: '/v1/agents?limit=0' },
      { method: 'GET', url: '/v1/agents?status=gone' },
      { method: 'GET', url: '/v1/agents?label=novalue' },
      { method: 'GET', url: '/v1/agents/UPPER' },
      { method: 'POST', url: '/v1/agents/ok-name/credentials', payload: { kind: 'password' } },
      { method: 'POST', url: '/v1/agents/ok-name/credentials', payload: { kind: 'client_secret', secret: 'mine' } },
      { method: 'DELETE', url: '/v1/agents/ok-name/credentials/not-an-id' },
    ];
    for (const { method, url, payload } of bad) {
      const res = await app.inject({ method, url, headers: as('admin'), ...(payload === undefined ? {} : { payload: payload as object }) });
      expect(res.statusCode, `${method} ${url}`).toBe(400);
      expect(res.json<{ code: string }>().code, `${method} ${url}`).toBe('WARDEN_VALIDATION_FAILED');
    }
    for (const [method, url] of [
      ['GET', '/v1/agents/nobody'],
      ['PATCH', '/v1/agents/nobody'],
      ['DELETE', '/v1/agents/nobody'],
      ['POST', '/v1/agents/nobody/disable'],
      ['GET', '/v1/agents/nobody/credentials'],
      ['DELETE', `/v1/agents/nobody/credentials/cred_${'0'.repeat(32)}`],
    ] as const) {
      const res = await app.inject({ method, url, headers: as('admin'), ...(method === 'PATCH' ? { payload: { clearance: 1 } } : {}) });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
    }
  });

  it('accepts, returns, replaces and clears rateLimits, and refuses bad ones (400)', async () => {
    const rateLimits = { perAgent: { rate: 2.5, burst: 5 } };
    const created = await app.inject({ method: 'POST', url: '/v1/agents', headers: as('admin'), payload: { name: 'rl-bot', owner: 'o', rateLimits } });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ name: 'rl-bot', rateLimits });
    expect((await app.inject({ url: '/v1/agents/rl-bot', headers: as('auditor') })).json()).toMatchObject({ rateLimits });
    const plain = await app.inject({ method: 'POST', url: '/v1/agents', headers: as('admin'), payload: { name: 'rl-plain', owner: 'o' } });
    expect(plain.json<{ rateLimits: unknown }>().rateLimits).toBeNull();

    const tool = { perAgentTool: { rate: 1, burst: 1 } };
    const patched = await app.inject({ method: 'PATCH', url: '/v1/agents/rl-bot', headers: as('security'), payload: { rateLimits: tool } });
    expect(patched.statusCode).toBe(200);
    expect(patched.json<{ rateLimits: unknown }>().rateLimits).toEqual(tool);
    const listed = await app.inject({ url: '/v1/agents', headers: as('auditor') });
    expect(listed.json<{ agents: { name: string; rateLimits: unknown }[] }>().agents.find((a) => a.name === 'rl-bot')!.rateLimits).toEqual(tool);
    const cleared = await app.inject({ method: 'PATCH', url: '/v1/agents/rl-bot', headers: as('admin'), payload: { rateLimits: null } });
    expect(cleared.json<{ rateLimits: unknown }>().rateLimits).toBeNull();

    for (const bad of [
      { perAgent: { rate: 0, burst: 1 } },
      { perAgent: { rate: 100_001, burst: 1 } },
      { perAgent: { rate: 1, burst: 0.5 } },
      { perAgent: { rate: 1, burst: 100_001 } },
      { perAgent: { rate: 1 } },
      { perAgent: { rate: 1, burst: 1, extra: true } },
      { perServer: { rate: 1, burst: 1 } },
      'fast',
    ]) {
      const res = await app.inject({ method: 'PATCH', url: '/v1/agents/rl-bot', headers: as('admin'), payload: { rateLimits: bad } });
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
      expect(res.json<{ code: string }>().code).toBe('WARDEN_VALIDATION_FAILED');
      const create = await app.inject({ method: 'POST', url: '/v1/agents', headers: as('admin'), payload: { name: 'rl-never', owner: 'o', rateLimits: bad } });
      expect(create.statusCode, JSON.stringify(bad)).toBe(400);
    }
    expect((await app.inject({ url: '/v1/agents/rl-bot', headers: as('admin') })).json<{ rateLimits: unknown }>().rateLimits).toBeNull();
    expect((await app.inject({ url: '/v1/agents/rl-never', headers: as('admin') })).statusCode).toBe(404);
  });

  it('returns a client secret once, never lists it, and revokes', async () => {
    await app.inject({ method: 'POST', url: '/v1/agents', headers: as('admin'), payload: { name: 'cred-bot', owner: 'o' } });
    const created = await app.inject({
      method: 'POST',
      url: '/v1/agents/cred-bot/credentials',
      headers: as('security'),
      payload: { kind: 'client_secret', label: 'ci' },
    });
    expect(created.statusCode).toBe(201);
    const { id, secret } = created.json<{ id: string; secret: string }>();
    expect(secret).toMatch(/^wsec_/);
    expect(await credentials.verifySecret('cred-bot', secret)).toBe(true);

    const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
    const key = await app.inject({ method: 'POST', url: '/v1/agents/cred-bot/credentials', headers: as('admin'), payload: { kind: 'public_key', jwk } });
    expect(key.statusCode).toBe(201);
    expect(key.json()).not.toHaveProperty('secret');
    const priv = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
    const refused = await app.inject({ method: 'POST', url: '/v1/agents/cred-bot/credentials', headers: as('admin'), payload: { kind: 'public_key', jwk: priv } });
    expect(refused.statusCode).toBe(400);

    const listed = await app.inject({ url: '/v1/agents/cred-bot/credentials', headers: as('auditor') });
    expect(listed.statusCode).toBe(200);
    expect(listed.body).not.toContain(secret);
    expect(listed.body).not.toMatch(/secret_hash|secretHash|"secret"/);
    expect(listed.json<{ credentials: { id: string }[] }>().credentials.map((c) => c.id)).toContain(id);

    const revoked = await app.inject({ method: 'DELETE', url: `/v1/agents/cred-bot/credentials/${id}`, headers: as('admin') });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json<{ revokedAt: number | null }>().revokedAt).toEqual(expect.any(Number));
    expect(revoked.headers['warden-audit-index']).toMatch(/^\d+$/);
    expect(await credentials.verifySecret('cred-bot', secret)).toBe(false);
  });
});

describe('agent permission route', () => {
  it('returns the access review for read roles and passes ?recent through', async () => {
    const calls: unknown[] = [];
    const authorizer = {
      permissions(name: string, options?: { recent?: number }) {
        calls.push([name, options]);
        if (name === 'ghost') return Promise.reject(new WardenError('WARDEN_NOT_FOUND', 'agent ghost not found'));
        return Promise.resolve({
          agent: name,
          policySetVersion: 3,
          resources: 1,
          permissions: [{ resource: { type: 'Warden::Tool', id: 'crm.search' }, action: 'mcp:call_tool', access: 'conditional' as const, policies: ['office-hours'] }],
        });
      },
    };
    const app = await buildApp({ logger: createLogger({ level: 'silent' }), bodyLimit: 65_536, routes: [agentPermissionRoutes({ authorizer, requireAdmin: fakeRequireAdmin })] });
    try {
      const res = await app.inject({ url: '/v1/agents/api-bot/permissions?recent=10', headers: { 'x-test-role': 'auditor' } });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ agent: 'api-bot', policySetVersion: 3, permissions: [{ access: 'conditional', policies: ['office-hours'] }] });
      expect(calls).toEqual([['api-bot', { recent: 10 }]]);
      expect((await app.inject({ url: '/v1/agents/api-bot/permissions' })).statusCode).toBe(401);
      expect((await app.inject({ url: '/v1/agents/api-bot/permissions?recent=-1', headers: { 'x-test-role': 'auditor' } })).statusCode).toBe(400);
      expect((await app.inject({ url: '/v1/agents/ghost/permissions', headers: { 'x-test-role': 'auditor' } })).statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });
});
