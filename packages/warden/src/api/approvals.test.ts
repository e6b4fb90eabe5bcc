import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WardenError } from '../errors/index.js';
import { createApprovals, type Approvals } from '../gateway/approvals.js';
import type { AdminRole } from '../identity/types.js';
import { createLogger } from '../log/index.js';
import { openTestAuditLog, type TestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { buildApp } from './app.js';
import { approvalRoutes } from './approvals.js';
import { fakeRequireAdmin } from '../testing/admin-auth.js';

const sqlite = storeBackends.find((b) => b.name === 'sqlite')!;


describe('approval routes', () => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let approvals: Approvals;
  let app: FastifyInstance;
  const as = (role: AdminRole) => ({ 'x-test-role': role });

  beforeAll(async () => {
    opened = await sqlite.openMigrated();
    audit = await openTestAuditLog(opened.store);
    approvals = createApprovals({ db: opened.store.db, audit: audit.log, waitMs: 0, ttlMs: 60_000 });
    app = await buildApp({ logger: createLogger({ level: 'silent' }), bodyLimit: 65_536, routes: [approvalRoutes({ approvals, requireAdmin: fakeRequireAdmin })] });
  });
  afterAll(async () => {
    await app.close();
    await audit.log.close();
    await opened.cleanup();
  });

  it('lists held calls and lets admin and security decide them once, with a receipt; auditors only read', async () => {
    const held = await approvals.await({ agent: 'bot', tool: 'gh__delete_repo', args: { repo: 'x' } }).catch((err: WardenError) => err);
    const id = String((held as WardenError).details?.approvalId);
    expect((await app.inject({ url: '/v1/mcp/approvals' })).statusCode).toBe(401);
    const listed = await app.inject({ url: '/v1/mcp/approvals?status=pending', headers: as('auditor') });
    expect(listed.json()).toMatchObject({ approvals: [{ id, agent: 'bot', tool: 'gh__delete_repo', status: 'pending' }] });
    expect(JSON.stringify(listed.json())).not.toContain('"repo"');
    expect((await app.inject({ method: 'POST', url: `/v1/mcp/approvals/${id}/approve`, headers: as('auditor') })).statusCode).toBe(403);
    const approved = await app.inject({ method: 'POST', url: `/v1/mcp/approvals/${id}/approve`, headers: as('security') });
    expect(approved.json()).toMatchObject({ id, status: 'approved', decidedBy: 'security-user' });
    expect(approved.headers['warden-audit-index']).toMatch(/^\d+$/);
    expect((await app.inject({ method: 'POST', url: `/v1/mcp/approvals/${id}/deny`, headers: as('admin') })).json()).toMatchObject({ code: 'WARDEN_CONFLICT' });
    expect((await app.inject({ method: 'POST', url: '/v1/mcp/approvals/apr_nope/deny', headers: as('admin') })).statusCode).toBe(400);
    expect((await app.inject({ method: 'POST', url: `/v1/mcp/approvals/apr_${'0'.repeat(32)}/deny`, headers: as('admin') })).statusCode).toBe(404);
  });
});
