import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWardenError } from '../errors/index.js';
import type { Agent, AgentLookup } from '../identity/types.js';
import { openTestAuditLog, sampleEvent, type TestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { createAuthorizer, type Authorizer } from './authorizer.js';
import { dryRun, readRecordedDecisions } from './dry-run.js';
import { createPolicyEngine, type AuthorizationRequest, type CedarEntity } from './engine.js';
import { agentEntityProvider } from './entities.js';

const sqlite = storeBackends.find((b) => b.name === 'sqlite')!;
const engine = createPolicyEngine();
const context = { hour: 10, weekday: 2, sourceIp: '10.1.2.3', riskScore: 0, findings: { categories: [], highestScore: 0 } };

const agent = (name: string, roles: string[]): Agent => ({
  name, owner: 'ana', roles, labels: {}, environment: null, region: null, clearance: 2, status: 'active', requireDpop: false, createdAt: 1, updatedAt: 1,
});
const agents = new Map([agent('billing-bot', ['billing']), agent('support-bot', ['support'])].map((a) => [a.name, a]));
const lookup: AgentLookup = { get: (name) => Promise.resolve(agents.get(name)), onChange: () => () => undefined };
const providers = [agentEntityProvider(lookup)];

const tool = (id: string, destructive = false): CedarEntity => ({ uid: { type: 'Warden::Tool', id }, attrs: { name: id, readOnly: !destructive, destructive, sensitivity: 1 }, parents: [] });
const call = (toolId: string, principal: string, extra: Record<string, unknown> = {}): AuthorizationRequest => ({
  principal: { type: 'Warden::Agent', id: principal },
  action: { type: 'Warden::Action', id: 'mcp:call_tool' },
  resource: { type: 'Warden::Tool', id: toolId },
  context: { ...context, ...extra },
});

const BILLING = `@id("billing-tools")
permit(principal in Warden::Role::"billing", action == Warden::Action::"mcp:call_tool", resource is Warden::Tool);`;
const NO_DESTRUCTIVE = `@id("no-destructive")
forbid(principal, action, resource is Warden::Tool) when { resource.destructive };`;
const SUPPORT = `@id("support-tools")
permit(principal in Warden::Role::"support", action == Warden::Action::"mcp:call_tool", resource == Warden::Tool::"crm.search");`;
const files = (...texts: string[]) => texts.map((text, n) => ({ name: `p${n}.cedar`, text }));

describe('dry run (change gate)', () => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let authorizer: Authorizer;

  beforeAll(async () => {
    opened = await sqlite.openMigrated();
    audit = await openTestAuditLog(opened.store);
    const active = engine.compile(1, files(BILLING, NO_DESTRUCTIVE));
    authorizer = createAuthorizer({ engine, active: () => active, providers, audit: audit.log });
    await authorizer.authorize(call('crm.search', 'billing-bot'), { extraEntities: [tool('crm.search')] }); // allow
    await audit.log.append(sampleEvent(1)); // not a decision
    await audit.log.append({ ...sampleEvent(2), decision: { id: 'admin-1', effect: 'allow', policyIds: ['builtin'] } }); // a decision without a replay record
    await authorizer.authorize(call('db.drop', 'billing-bot'), { extraEntities: [tool('db.drop', true)] }); // deny (forbid)
    await authorizer.authorize(call('crm.search', 'support-bot'), { extraEntities: [tool('crm.search')] }); // deny (default)
    await authorizer.authorize(call('crm.export', 'billing-bot', { arguments: [{ key: 'q', value: 'secret' }] }), { extraEntities: [tool('crm.export')] }); // allow
  });
  afterAll(async () => {
    await audit.log.close();
    await opened.cleanup();
  });

  it('reads the recorded decisions newest first, with sensitive fields left out', async () => {
    const { decisions, unreplayable } = await readRecordedDecisions(audit.log, 100);
    expect(unreplayable).toBe(1);
    expect(decisions.map((d) => [d.request.resource.id, d.effect])).toEqual([
      ['crm.export', 'allow'],
      ['crm.search', 'deny'],
      ['db.drop', 'deny'],
      ['crm.search', 'allow'],
    ]);
    expect(decisions[0]?.omitted).toEqual(['arguments']);
    expect(decisions[0]?.request.context).toEqual(context);
  });

  it('reports allows that a set without the permit would deny', async () => {
    const report = await dryRun({ engine, audit: audit.log, proposed: files(NO_DESTRUCTIVE), providers });
    expect(report).toMatchObject({ replayed: 4, skipped: 1, approximate: 1 });
    expect(report.flips.denyToAllow).toEqual([]);
    expect(report.flips.allowToDeny.map((f) => [f.request.resource.id, f.oldPolicies, f.newPolicies, f.approximate])).toEqual([
      ['crm.export', ['billing-tools'], [], true],
      ['crm.search', ['billing-tools'], [], false],
    ]);
    expect(report.flips.allowToDeny[1]?.request.principal).toEqual({ type: 'Warden::Agent', id: 'billing-bot' });
  });

  it('keeps the active links whose template the proposed set still defines, as apply does', async () => {
    const TEMPLATE = `@id("grant-tool")
permit(principal == ?principal, action == Warden::Action::"mcp:call_tool", resource == ?resource);`;
    const link = { id: 'support-crm', templateId: 'grant-tool', principal: { type: 'Warden::Agent', id: 'support-bot' }, resource: { type: 'Warden::Tool', id: 'crm.search' } };
    // With the template kept, the link still allows support-bot's recorded (denied) call: a deny→allow flip named by the link.
    const kept = await dryRun({ engine, audit: audit.log, proposed: files(BILLING, NO_DESTRUCTIVE, TEMPLATE), links: [link], providers });
    expect(kept.flips.denyToAllow.map((f) => [f.request.principal.id, f.newPolicies])).toEqual([['support-bot', ['support-crm']]]);
    // Without the template the link is dropped, so nothing flips.
    const dropped = await dryRun({ engine, audit: audit.log, proposed: files(BILLING, NO_DESTRUCTIVE), links: [link], providers });
    expect(dropped.flips.denyToAllow).toEqual([]);
  });

  it('reports denies that a set with a new permit would allow', async () => {
    const report = await dryRun({ engine, audit: audit.log, proposed: files(BILLING, NO_DESTRUCTIVE, SUPPORT), providers });
    expect(report.flips.allowToDeny).toEqual([]);
    expect(report.flips.denyToAllow).toHaveLength(1);
    expect(report.flips.denyToAllow[0]).toMatchObject({
      request: { principal: { id: 'support-bot' }, resource: { id: 'crm.search' } },
      oldPolicies: [],
      newPolicies: ['support-tools'],
    });
  });

  it('replays only the last `limit` decisions and skips principals that no longer resolve', async () => {
    expect(await dryRun({ engine, audit: audit.log, proposed: files(NO_DESTRUCTIVE), providers, limit: 1 })).toMatchObject({ replayed: 1 });
    const gone = await dryRun({ engine, audit: audit.log, proposed: files(NO_DESTRUCTIVE), providers: [agentEntityProvider({ ...lookup, get: () => Promise.resolve(undefined) })] });
    expect(gone).toMatchObject({ replayed: 0, skipped: 5 });
  });

  it('refuses an invalid proposed set with WARDEN_POLICY_INVALID', async () => {
    const attempt = dryRun({ engine, audit: audit.log, proposed: [{ name: 'bad.cedar', text: 'permit(principal, action, resource) when { resource.nope };' }], providers });
    await expect(attempt).rejects.toSatisfy((err: unknown) => isWardenError(err, 'WARDEN_POLICY_INVALID'));
  });

  it('is exposed on the authorizer', async () => {
    const report = await authorizer.dryRun(files(BILLING, NO_DESTRUCTIVE));
    expect(report.flips).toEqual({ allowToDeny: [], denyToAllow: [] });
    expect(report.replayed).toBeGreaterThanOrEqual(4);
  });
});
