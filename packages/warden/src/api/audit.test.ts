import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../log/index.js';
import { openTestAuditLog, sampleEvent, type TestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { WardenError } from '../errors/index.js';
import type { AdminPrincipal, AdminRole } from '../identity/types.js';
import { createAdminAuth } from './admin-auth.js';
import { buildApp } from './app.js';
import { auditRoutes } from './audit.js';

// Sessions at the edge: `wdn_<role>` is a valid token of an admin with that role.
const sessions = {
  async authenticate(token: string): Promise<AdminPrincipal> {
    const role = /^wdn_(admin|security|auditor)$/.exec(token)?.[1] as AdminRole | undefined;
    if (!role) throw new WardenError('WARDEN_UNAUTHENTICATED', 'authentication required');
    return { kind: 'admin', admin: `${role}-1`, role, sessionId: 's', expiresAt: Date.now() + 60_000 };
  },
};
const as = (role: string) => ({ authorization: `Bearer wdn_${role}` });

const sqlite = storeBackends.find((b) => b.name === 'sqlite')!;

describe('audit routes', () => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let app: FastifyInstance;

  beforeAll(async () => {
    opened = await sqlite.openMigrated();
    audit = await openTestAuditLog(opened.store);
    const auth = createAdminAuth(sessions);
    app = await buildApp({
      logger: createLogger({ level: 'silent' }),
      bodyLimit: 4096,
      routes: [auditRoutes({ log: audit.log, requireAdmin: auth.requireAdmin.bind(auth) })],
    });
  });
  afterAll(async () => {
    await app.close();
    await audit.log.close();
    await opened.cleanup();
  });

  it('admits auditors and admins only', async () => {
    const none = await app.inject('/v1/audit/verifier-key');
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ code: 'WARDEN_UNAUTHENTICATED' });
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect((await app.inject({ url: '/v1/audit/verifier-key', headers: { authorization: 'Bearer wdn_forged' } })).statusCode).toBe(401);
    const security = await app.inject({ url: '/v1/audit/verifier-key', headers: as('security') });
    expect(security.statusCode).toBe(403);
    expect(security.json()).toMatchObject({ code: 'WARDEN_FORBIDDEN' });
    for (const role of ['auditor', 'admin']) {
      expect((await app.inject({ url: '/v1/audit/verifier-key', headers: as(role) })).statusCode, role).toBe(200);
    }
  });

  it('has no checkpoint before the first one is signed', async () => {
    const res = await app.inject({ url: '/v1/audit/checkpoint', headers: as('auditor') });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'WARDEN_NOT_FOUND' });
  });

  it('validates proof and paging parameters against the log', async () => {
    for (let i = 0; i < 5; i++) await audit.log.append(sampleEvent(i));
    await audit.log.signCheckpoint();
    const bad = [
      '/v1/audit/proof/inclusion?index=5&size=5',
      '/v1/audit/proof/inclusion?index=0&size=6',
      '/v1/audit/proof/inclusion?index=-1&size=5',
      '/v1/audit/proof/inclusion?index=x&size=5',
      '/v1/audit/proof/consistency?from=4&to=3',
      '/v1/audit/proof/consistency?from=0&to=3',
      '/v1/audit/proof/consistency?from=1&to=99',
      '/v1/audit/entries?limit=1001',
      '/v1/audit/entries?bogus=1',
      '/v1/audit/frontier?size=6',
    ];
    for (const url of bad) {
      const res = await app.inject({ url, headers: as('auditor') });
      expect(res.statusCode, url).toBe(400);
      expect(res.json<{ code: string }>().code, url).toBe('WARDEN_VALIDATION_FAILED');
    }
    const ok = await app.inject({ url: '/v1/audit/proof/inclusion?index=2&size=5', headers: as('auditor') });
    expect(ok.statusCode).toBe(200);
    expect(ok.json<{ proof: string[] }>().proof).toHaveLength(3);
    const note = await app.inject({ url: '/v1/audit/checkpoint', headers: as('auditor') });
    expect(note.headers['content-type']).toMatch(/^text\/plain/);
    expect(note.body.split('\n')[1]).toBe('5');
  });
});
