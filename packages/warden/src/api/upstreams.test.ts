import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUpstreamRegistry } from '../gateway/upstreams.js';
import type { AdminRole } from '../identity/types.js';
import { createLogger } from '../log/index.js';
import { openTestAuditLog, type TestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { buildApp } from './app.js';
import { upstreamRoutes } from './upstreams.js';
import { fakeRequireAdmin } from '../testing/admin-auth.js';

const sqlite = storeBackends.find((b) => b.name === 'sqlite')!;


describe('MCP upstream routes', () => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let app: FastifyInstance;
  const as = (role: AdminRole) => ({ 'x-test-role': role });
  const github = { name: 'github', transport: { kind: 'stdio', command: 'npx', args: ['-y', 'server-github'], env: { GITHUB_TOKEN: 'secret:github-pat' } } };

  beforeAll(async () => {
    opened = await sqlite.openMigrated();
    audit = await openTestAuditLog(opened.store);
    const registry = createUpstreamRegistry({ db: opened.store.db, audit: audit.log });
    app = await buildApp({ logger: createLogger({ level: 'silent' }), bodyLimit: 65_536, routes: [upstreamRoutes({ registry, requireAdmin: fakeRequireAdmin })] });
  });
  afterAll(async () => {
    await app.close();
    await audit.log.close();
    await opened.cleanup();
  });

  it('refuses callers without an admin role (401); an auditor may read but not write (403)', async () => {
    const anonymous = await app.inject({ url: '/v1/mcp/servers' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json()).toMatchObject({ code: 'WARDEN_UNAUTHENTICATED' });
    expect((await app.inject({ method: 'POST', url: '/v1/mcp/servers', payload: github })).statusCode).toBe(401);
    const forbidden = await app.inject({ method: 'POST', url: '/v1/mcp/servers', headers: as('auditor'), payload: github });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ code: 'WARDEN_FORBIDDEN' });
    expect((await app.inject({ method: 'DELETE', url: '/v1/mcp/servers/github', headers: as('auditor') })).statusCode).toBe(403);
    expect((await app.inject({ url: '/v1/mcp/servers', headers: as('auditor') })).statusCode).toBe(200);
  });

  it('adds (201 with a receipt), lists, reads and removes upstreams', async () => {
    const created = await app.inject({ method: 'POST', url: '/v1/mcp/servers', headers: as('admin'), payload: github });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      name: 'github',
      transport: { kind: 'stdio', command: 'npx', args: ['-y', 'server-github'], env: { GITHUB_TOKEN: 'secret:github-pat' } },
      timeoutMs: 30_000,
      restartBackoffMs: 1000,
      isolation: 'shared',
      toolPolicy: 'approve-first',
    });
    expect(created.headers['warden-audit-index']).toMatch(/^\d+$/);
    const [entry] = await audit.log.entries(Number(created.headers['warden-audit-index']), 1);
    expect(JSON.parse(entry!.body!)).toMatchObject({ action: 'mcp.upstream.add', actor: { type: 'admin', id: 'admin-user' }, details: { envKeys: ['GITHUB_TOKEN'] } });
    expect(entry!.body).not.toContain('github-pat');

    const remote = await app.inject({
      method: 'POST',
      url: '/v1/mcp/servers',
      headers: as('security'),
      payload: {
        name: 'linear',
        transport: { kind: 'http', url: 'https://mcp.linear.app/mcp', headers: { Authorization: 'Bearer {{secret:api-key}}' } },
        timeout: '2m',
        restartBackoff: '250ms',
        isolation: 'per-agent',
        toolPolicy: 'trust-on-first-use',
      },
    });
    expect(remote.statusCode).toBe(201);
    expect(remote.json()).toMatchObject({
      transport: { kind: 'http', url: 'https://mcp.linear.app/mcp', headers: { Authorization: 'Bearer {{secret:api-key}}' } },
      timeoutMs: 120_000,
      restartBackoffMs: 250,
      isolation: 'per-agent',
      toolPolicy: 'trust-on-first-use',
    });

    const dup = await app.inject({ method: 'POST', url: '/v1/mcp/servers', headers: as('admin'), payload: github });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ code: 'WARDEN_CONFLICT' });

    const listed = await app.inject({ url: '/v1/mcp/servers', headers: as('auditor') });
    expect(listed.json<{ servers: { name: string }[] }>().servers.map((s) => s.name)).toEqual(['github', 'linear']);
    expect((await app.inject({ url: '/v1/mcp/servers/linear', headers: as('auditor') })).json()).toMatchObject({ name: 'linear', timeoutMs: 120_000 });

    const removed = await app.inject({ method: 'DELETE', url: '/v1/mcp/servers/linear', headers: as('admin') });
    expect(removed.statusCode).toBe(204);
    expect(removed.headers['warden-audit-index']).toMatch(/^\d+$/);
    const gone = await app.inject({ url: '/v1/mcp/servers/linear', headers: as('admin') });
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toMatchObject({ code: 'WARDEN_NOT_FOUND' });
  });

  it('answers 400 problem+json for bad bodies and names, and 404 for missing servers', async () => {
    const stdio = { kind: 'stdio', command: 'npx' };
    const bad: { method: 'POST' | 'GET' | 'DELETE'; url: string; payload?: unknown }[] = [
      { method: 'POST', url: '/v1/mcp/servers', payload: { name: 'git_hub', transport: stdio } },
      { method: 'POST', url: '/v1/mcp/servers', payload: { name: 'ok' } },
      { method: 'POST', url: '/v1/mcp/servers', payload: { name: 'ok', transport: { kind: 'sse', url: 'https://a.example' } } },
      { method: 'POST', url: '/v1/mcp/servers', payload: { name: 'ok', transport: { ...stdio, headers: {} } } },
      { method: 'POST', url: '/v1/mcp/servers', payload: { name: 'ok', transport: { ...stdio, command: '' } } },
      { method: 'POST', url: '/v1/mcp/servers', payload: { name: 'ok', transport: { ...stdio, env: { 'BAD-KEY': 'v' } } } },
      { method: 'POST', url: '/v1/mcp/servers', payload: { name: 'ok', transport: { ...stdio, env: { K: 'secret:Not Valid' } } } },
      { method: 'POST', url: '/v1/mcp/servers', payload: { name: 'ok', transport: { kind: 'http', url: 'http://mcp.example.com/mcp' } } },
      { method: 'POST', url: '/v1/mcp/servers', payload: { name: 'ok', transport: { kind: 'http', url: 'https://u:p@mcp.example.com/mcp' } } },
      { method: 'POST', url: '/v1/mcp/servers', payload: { name: 'ok', transport: { kind: 'http', url: 'https://a.example', headers: { Host: 'b' } } } },
      { method: 'POST', url: '/v1/mcp/servers', payload: { name: 'ok', transport: stdio, timeout: 30 } },
      { method: 'POST', url: '/v1/mcp/servers', payload: { name: 'ok', transport: stdio, timeout: 'soon' } },
      { method: 'POST', url: '/v1/mcp/servers', payload: { name: 'ok', transport: stdio, timeout: '11m' } },
      { method: 'POST', url: '/v1/mcp/servers', payload: { name: 'ok', transport: stdio, restartBackoff: '2m' } },
      { method: 'POST', url: '/v1/mcp/servers', payload: { name: 'ok', transport: stdio, isolation: 'none' } },
      { method: 'POST', url: '/v1/mcp/servers', payload: { name: 'ok', transport: stdio, toolPolicy: 'trust' } },
      { method: 'POST', url: '/v1/mcp/servers', payload: { name: 'ok', transport: stdio, timeoutMs: 1000 } },
      { method: 'GET', url: '/v1/mcp/servers/UPPER' },
      { method: 'DELETE', url: '/v1/mcp/servers/a__b' },
    ];
    for (const { method, url, payload } of bad) {
      const res = await app.inject({ method, url, headers: as('admin'), ...(payload === undefined ? {} : { payload: payload as object }) });
      const what = `${method} ${url} ${JSON.stringify(payload)}`;
      expect(res.statusCode, what).toBe(400);
      expect(res.headers['content-type'], what).toMatch(/^application\/problem\+json/);
      expect(res.json<{ code: string }>().code, what).toBe('WARDEN_VALIDATION_FAILED');
    }
    expect((await app.inject({ url: '/v1/mcp/servers/ok', headers: as('admin') })).statusCode).toBe(404);
    for (const [method, url] of [
      ['GET', '/v1/mcp/servers/nobody'],
      ['DELETE', '/v1/mcp/servers/nobody'],
    ] as const) {
      const res = await app.inject({ method, url, headers: as('admin') });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json()).toMatchObject({ code: 'WARDEN_NOT_FOUND' });
    }
  });
});
