import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentDirectory } from '../identity/agents.js';
import type { AdminRole } from '../identity/types.js';
import { createLogger } from '../log/index.js';
import { createAuthorizer } from '../policy/authorizer.js';
import { createPolicyEngine } from '../policy/engine.js';
import { agentEntityProvider } from '../policy/entities.js';
import { createPolicyStore, type PolicyStore } from '../policy/policy-store.js';
import { baseTestContext } from '../policy/policy-tests.js';
import { openTestAuditLog, type TestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { buildApp } from './app.js';
import { policyRoutes } from './policies.js';
import { fakeRequireAdmin } from '../testing/admin-auth.js';

const sqlite = storeBackends.find((b) => b.name === 'sqlite')!;


const kms = `@id("billing-decrypt")
permit (principal in Warden::Role::"billing", action == Warden::Action::"kms:decrypt", resource == Warden::Key::"payments")
when { resource.region == "eu" };
`;
const broken = `permit (principal, action, resource);

permit (principal, action == Warden::Action::"kms:decrypt", resource) when { resource.nope == 1 };
`;

describe('policy routes', () => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let store: PolicyStore;
  let app: FastifyInstance;
  const as = (role: AdminRole) => ({ 'x-test-role': role });

  beforeAll(async () => {
    opened = await sqlite.openMigrated();
    audit = await openTestAuditLog(opened.store);
    const engine = createPolicyEngine();
    const directory = createAgentDirectory({ db: opened.store.db, audit: audit.log });
    await directory.create({ name: 'billing-bot', owner: 'team-billing', roles: ['billing'] }, { actor: { type: 'system', id: 'test' } });
    store = createPolicyStore({ db: opened.store.db, engine, audit: audit.log });
    const authorizer = createAuthorizer({ engine, active: () => store.active(), providers: [agentEntityProvider(directory)], audit: audit.log });
    app = await buildApp({
      logger: createLogger({ level: 'silent' }),
      bodyLimit: 1_048_576,
      routes: [policyRoutes({ store, authorizer, requireAdmin: fakeRequireAdmin })],
    });
  });
  afterAll(async () => {
    await app.close();
    await audit.log.close();
    await opened.cleanup();
  });

  it('refuses callers without an admin role (401) and with too little of one (403)', async () => {
    expect((await app.inject({ url: '/v1/policies' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/v1/policies/history' })).json()).toMatchObject({ code: 'WARDEN_UNAUTHENTICATED' });
    for (const [method, url, payload] of [
      ['PUT', '/v1/policies', { files: [{ name: 'a.cedar', text: kms }] }],
      ['POST', '/v1/policies/rollback', { version: 1 }],
      ['POST', '/v1/authorize', { principal: { type: 'Warden::Agent', id: 'x' }, action: 'kms:decrypt', resource: 'Warden::Key::"k"' }],
    ] as const) {
      const res = await app.inject({ method, url, headers: as('auditor'), payload });
      expect(res.statusCode, url).toBe(403);
      expect(res.json(), url).toMatchObject({ code: 'WARDEN_FORBIDDEN' });
    }
    expect((await app.inject({ url: '/v1/policies/history', headers: as('auditor') })).statusCode).toBe(200);
  });

  it('has no active set at first (404), then applies, shows and lists versions', async () => {
    expect((await app.inject({ url: '/v1/policies', headers: as('auditor') })).json()).toMatchObject({ code: 'WARDEN_NOT_FOUND' });
    const put = await app.inject({ method: 'PUT', url: '/v1/policies', headers: as('security'), payload: { files: [{ name: 'kms.cedar', text: kms }], comment: 'billing' } });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toEqual({ version: 1 });
    const [entry] = await audit.log.entries(Number(put.headers['warden-audit-index']), 1);
    expect(JSON.parse(entry!.body!)).toMatchObject({ action: 'policy.apply', actor: { type: 'admin', id: 'security-user' }, details: { version: 1, policyIds: ['billing-decrypt'] } });

    const shown = await app.inject({ url: '/v1/policies', headers: as('auditor') });
    expect(shown.json()).toMatchObject({ version: 1, active: true, comment: 'billing', files: [{ name: 'kms.cedar', text: kms }], policies: [{ id: 'billing-decrypt' }] });
    const history = await app.inject({ url: '/v1/policies/history', headers: as('auditor') });
    expect(history.json()).toMatchObject({ versions: [{ version: 1, active: true, policyCount: 1, createdBy: 'security-user' }] });
  });

  it('answers 400 WARDEN_POLICY_INVALID with file/line/column diagnostics and keeps the active set', async () => {
    const res = await app.inject({
      method: 'PUT',
      url: '/v1/policies',
      headers: as('admin'),
      payload: { files: [{ name: 'kms.cedar', text: kms }, { name: 'broken.cedar', text: broken }] },
    });
    expect(res.statusCode).toBe(400);
    const problem = res.json<{ code: string; errors: { file: string; line: number; column: number; message: string }[] }>();
    expect(problem.code).toBe('WARDEN_POLICY_INVALID');
    expect(problem.errors.length).toBeGreaterThan(0);
    expect(problem.errors[0]).toMatchObject({ file: 'broken.cedar', line: 3 });
    expect(problem.errors[0]!.column).toBeGreaterThan(0);
    expect((await app.inject({ url: '/v1/policies', headers: as('admin') })).json()).toMatchObject({ version: 1 });
  });

  it('answers 400 WARDEN_VALIDATION_FAILED for malformed bodies and queries', async () => {
    const bad: { method: 'PUT' | 'POST' | 'GET'; url: string; payload?: object }[] = [
      { method: 'PUT', url: '/v1/policies', payload: { files: [] } },
      { method: 'PUT', url: '/v1/policies', payload: { files: [{ name: '../x.cedar', text: '' }] } },
      { method: 'PUT', url: '/v1/policies', payload: { files: [{ name: 'a.cedar', text: '' }, { name: 'a.cedar', text: '' }] } },
      { method: 'PUT', url: '/v1/policies', payload: { files: [{ name: 'a.cedar', text: kms }], extra: 1 } },
      { method: 'POST', url: '/v1/policies/rollback', payload: { version: 0 } },
      { method: 'GET', url: '/v1/policies?version=abc' },
      { method: 'POST', url: '/v1/authorize', payload: { principal: 'not a ref', action: 'kms:decrypt', resource: 'Warden::Key::"k"' } },
    ];
    for (const { method, url, payload } of bad) {
      const res = await app.inject({ method, url, headers: as('admin'), ...(payload === undefined ? {} : { payload }) });
      expect(res.statusCode, `${method} ${url} ${JSON.stringify(payload)}`).toBe(400);
      expect(res.json<{ code: string }>().code).toBe('WARDEN_VALIDATION_FAILED');
    }
    expect((await app.inject({ url: '/v1/policies?version=99', headers: as('admin') })).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: '/v1/policies/rollback', headers: as('admin'), payload: { version: 99 } })).statusCode).toBe(404);
  });

  it('authorizes a request round trip with caller-supplied entities, and rolls back', async () => {
    const ask = (region: string) =>
      app.inject({
        method: 'POST',
        url: '/v1/authorize',
        headers: as('admin'),
        payload: {
          principal: { type: 'Warden::Agent', id: 'billing-bot' },
          action: { type: 'Warden::Action', id: 'kms:decrypt' },
          resource: { __entity: { type: 'Warden::Key', id: 'payments' } },
          context: baseTestContext,
          entities: [{ uid: { type: 'Warden::Key', id: 'payments' }, attrs: { purpose: 'encrypt', region }, parents: [] }],
        },
      });
    const allowed = await ask('eu');
    expect(allowed.statusCode).toBe(200);
    expect(allowed.json()).toMatchObject({ decision: 'allow', policies: ['billing-decrypt'], errors: [], policySetVersion: 1 });
    const deniedResponse = await ask('us');
    const denied = deniedResponse.json<{ decision: string; decisionId: string }>();
    expect(denied.decision).toBe('deny');
    const entries = await audit.log.entries(0, 100);
    // The receipt names the decision's own audit entry.
    expect(Number(deniedResponse.headers['warden-audit-index'])).toBe(entries[entries.length - 1]!.index);
    const last = JSON.parse(entries[entries.length - 1]!.body!) as { action: string; actor: unknown; decision: { id: string } };
    expect(last).toMatchObject({ action: 'kms:decrypt', actor: { type: 'admin', id: 'admin-user' }, decision: { id: denied.decisionId } });

    await app.inject({ method: 'PUT', url: '/v1/policies', headers: as('admin'), payload: { files: [{ name: 'none.cedar', text: 'forbid (principal, action, resource);' }] } });
    expect((await ask('eu')).json()).toMatchObject({ decision: 'deny', policySetVersion: 2 });
    const rolled = await app.inject({ method: 'POST', url: '/v1/policies/rollback', headers: as('admin'), payload: { version: 1 } });
    expect(rolled.json()).toEqual({ version: 1 });
    expect(rolled.headers['warden-audit-index']).toMatch(/^\d+$/);
    expect((await ask('eu')).json()).toMatchObject({ decision: 'allow', policySetVersion: 1 });
    expect((await app.inject({ url: '/v1/policies?version=2', headers: as('auditor') })).json()).toMatchObject({ version: 2, active: false });
  });

  it('dry-runs a proposed set against the audited decisions (write roles), applying nothing', async () => {
    const before = (await app.inject({ url: '/v1/policies/history', headers: as('auditor') })).json<{ versions: unknown[] }>().versions.length;
    const dry = (payload: object, role: AdminRole = 'security') => app.inject({ method: 'POST', url: '/v1/policies/dry-run', headers: as(role), payload });
    expect((await dry({ files: [{ name: 'none.cedar', text: 'forbid (principal, action, resource);' }] }, 'auditor')).statusCode).toBe(403);
    const res = await dry({ files: [{ name: 'none.cedar', text: '@id("lockdown")\nforbid (principal, action, resource);' }], limit: 50 });
    expect(res.statusCode).toBe(200);
    const report = res.json<{ replayed: number; flips: { allowToDeny: { request: { resource: { id: string } }; oldPolicies: string[]; newPolicies: string[] }[]; denyToAllow: unknown[] } }>();
    expect(report.replayed).toBeGreaterThan(0);
    expect(report.flips.allowToDeny.length).toBeGreaterThan(0);
    expect(report.flips.allowToDeny[0]).toMatchObject({ request: { resource: { id: 'payments' } }, oldPolicies: ['billing-decrypt'], newPolicies: ['lockdown'] });
    const invalid = await dry({ files: [{ name: 'broken.cedar', text: broken }] });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json()).toMatchObject({ code: 'WARDEN_POLICY_INVALID', errors: [{ file: 'broken.cedar' }] });
    expect((await dry({ files: [] })).json()).toMatchObject({ code: 'WARDEN_VALIDATION_FAILED' });
    expect((await app.inject({ url: '/v1/policies/history', headers: as('auditor') })).json<{ versions: unknown[] }>().versions).toHaveLength(before);
  });

  it('reviews an agent\'s permissions at GET /v1/agents/{name}/permissions (read roles)', async () => {
    const res = await app.inject({ url: '/v1/agents/billing-bot/permissions', headers: as('auditor') });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      agent: 'billing-bot',
      policySetVersion: 1,
      permissions: [{ resource: { type: 'Warden::Key', id: 'payments' }, action: 'kms:decrypt', access: 'always', policies: ['billing-decrypt'] }],
    });
    expect((await app.inject({ url: '/v1/agents/ghost/permissions', headers: as('auditor') })).statusCode).toBe(404);
    expect((await app.inject({ url: '/v1/agents/billing-bot/permissions' })).statusCode).toBe(401);
  });
  it('links and unlinks a template (write roles), shows templates and links, and decisions name the link', async () => {
    const template = '@id("crm-access")\npermit (principal == ?principal, action == Warden::Action::"kms:decrypt", resource == ?resource);\n';
    const put = await app.inject({ method: 'PUT', url: '/v1/policies', headers: as('admin'), payload: { files: [{ name: 'kms.cedar', text: kms }, { name: 't.cedar', text: template }] } });
    expect(put.statusCode).toBe(200);
    const payload = { templateId: 'crm-access', principal: 'Warden::Agent::"billing-bot"', resource: { type: 'Warden::Key', id: 'ledger' }, id: 'bot-ledger' };
    expect((await app.inject({ method: 'POST', url: '/v1/policies/links', headers: as('auditor'), payload })).statusCode).toBe(403);
    const linked = await app.inject({ method: 'POST', url: '/v1/policies/links', headers: as('security'), payload });
    expect(linked.statusCode).toBe(200);
    expect(linked.json()).toEqual({ version: put.json<{ version: number }>().version + 1, id: 'bot-ledger' });
    const [entry] = await audit.log.entries(Number(linked.headers['warden-audit-index']), 1);
    expect(JSON.parse(entry!.body!)).toMatchObject({ action: 'policy.link', details: { link: { id: 'bot-ledger', templateId: 'crm-access' } } });
    const shown = (await app.inject({ url: '/v1/policies', headers: as('auditor') })).json<{ templates: unknown[]; links: unknown[] }>();
    expect(shown.templates).toEqual([{ id: 'crm-access', text: template.trimEnd() }]);
    expect(shown.links).toEqual([{ id: 'bot-ledger', templateId: 'crm-access', principal: { type: 'Warden::Agent', id: 'billing-bot' }, resource: { type: 'Warden::Key', id: 'ledger' } }]);

    const ask = (principal: string) =>
      app.inject({
        method: 'POST',
        url: '/v1/authorize',
        headers: as('admin'),
        payload: {
          principal: { type: 'Warden::Agent', id: principal },
          action: 'kms:decrypt',
          resource: 'Warden::Key::"ledger"',
          context: baseTestContext,
          entities: [{ uid: 'Warden::Key::"ledger"', attrs: { purpose: 'p', region: 'eu' } }],
        },
      });
    expect((await ask('billing-bot')).json()).toMatchObject({ decision: 'allow', policies: ['bot-ledger'] });

    const bad = await app.inject({ method: 'POST', url: '/v1/policies/links', headers: as('admin'), payload: { ...payload, id: 'x', principal: 'Warden::Key::"k"' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'WARDEN_POLICY_INVALID' });
    const unknown = await app.inject({ method: 'POST', url: '/v1/policies/links', headers: as('admin'), payload: { ...payload, id: 'y', templateId: 'nope' } });
    expect(unknown.json()).toMatchObject({ code: 'WARDEN_POLICY_INVALID' });
    expect((await app.inject({ method: 'POST', url: '/v1/policies/links', headers: as('admin'), payload: { templateId: 'crm-access' } })).json()).toMatchObject({ code: 'WARDEN_VALIDATION_FAILED' });

    const unlinked = await app.inject({ method: 'DELETE', url: '/v1/policies/links/bot-ledger', headers: as('admin') });
    expect(unlinked.statusCode).toBe(200);
    expect((await app.inject({ url: '/v1/policies', headers: as('auditor') })).json()).toMatchObject({ links: [] });
    expect((await ask('billing-bot')).json()).toMatchObject({ decision: 'deny' });
    expect((await app.inject({ method: 'DELETE', url: '/v1/policies/links/bot-ledger', headers: as('admin') })).statusCode).toBe(404);
  });
});
