import { describe, expect, it } from 'vitest';
import { isWardenError } from '../errors/index.js';
import type { Agent } from '../identity/types.js';
import { createAuthorizer } from './authorizer.js';
import { createPolicyEngine, type CedarEntity } from './engine.js';
import { agentEntity, agentEntityProvider } from './entities.js';
import { permissionsOf, representativeContexts } from './permissions.js';

const engine = createPolicyEngine();
const bot: Agent = {
  name: 'billing-bot', owner: 'ana', roles: ['billing'], labels: {}, environment: null, region: null, clearance: 2, status: 'active', requireDpop: false, createdAt: 1, updatedAt: 1,
};
const entity = agentEntity(bot);
const slice = { entity, ancestors: entity.parents.map((uid): CedarEntity => ({ uid, attrs: {}, parents: [] })) };
const tool = (id: string): CedarEntity => ({ uid: { type: 'Warden::Tool', id }, attrs: { name: id, readOnly: true, destructive: false, sensitivity: 1 }, parents: [] });
const key = (id: string): CedarEntity => ({ uid: { type: 'Warden::Key', id }, attrs: { purpose: 'data', region: 'eu' }, parents: [] });

const POLICIES = `@id("office-hours")
permit(principal in Warden::Role::"billing", action == Warden::Action::"mcp:call_tool", resource == Warden::Tool::"crm.search")
  when { context.hour >= 9 && context.hour < 17 };
@id("list-tools")
permit(principal in Warden::Role::"billing", action == Warden::Action::"mcp:list_tools", resource is Warden::Tool);
@id("drop")
permit(principal, action == Warden::Action::"mcp:call_tool", resource == Warden::Tool::"db.drop");
@id("no-drop")
forbid(principal, action, resource == Warden::Tool::"db.drop");
@id("decrypt")
permit(principal, action == Warden::Action::"kms:decrypt", resource == Warden::Key::"payments");
@id("no-risky")
forbid(principal, action in [Warden::Action::"kms:decrypt"], resource) when { context.riskScore > 80 };`;

const review = (text = POLICIES) =>
  permissionsOf({ engine, set: engine.compile(1, [{ name: 'p.cedar', text }]), agent: slice, resources: [tool('crm.search'), tool('db.drop'), key('payments'), tool('crm.search')] });
const find = (report: ReturnType<typeof review>, resource: string, action: string) => report.permissions.find((p) => p.resource.id === resource && p.action === action);

describe('access review (permissionsOf)', () => {
  it('an unconditional permit is always; a working-hours permit is conditional', () => {
    const report = review();
    expect(report).toMatchObject({ agent: 'billing-bot', policySetVersion: 1, resources: 3 });
    expect(find(report, 'crm.search', 'mcp:list_tools')).toEqual({ resource: { type: 'Warden::Tool', id: 'crm.search' }, action: 'mcp:list_tools', access: 'always', policies: ['list-tools'] });
    expect(find(report, 'crm.search', 'mcp:call_tool')).toMatchObject({ access: 'conditional', policies: ['office-hours'] });
  });

  it('a permit that a forbid can override in some contexts is conditional', () => {
    expect(find(review(), 'payments', 'kms:decrypt')).toMatchObject({ access: 'conditional', policies: ['decrypt'] });
    expect(find(review(), 'payments', 'kms:encrypt')).toBeUndefined();
  });

  it('omits what is forbidden or never permitted', () => {
    const report = review();
    expect(find(report, 'db.drop', 'mcp:call_tool')).toBeUndefined();
    expect(report.permissions.map((p) => `${p.resource.id} ${p.action}`).sort()).toEqual([
      'crm.search mcp:call_tool',
      'crm.search mcp:list_tools',
      'payments kms:decrypt',
    ]);
    expect(find(report, 'db.drop', 'mcp:list_tools')).toBeUndefined(); // list-tools permits it, no-drop forbids every action
  });

  it('finds nothing without an active set', () => {
    expect(permissionsOf({ engine, set: undefined, agent: slice, resources: [tool('crm.search')] })).toMatchObject({ policySetVersion: 0, permissions: [] });
  });

  it('has representative contexts for day and night, low and high risk, with and without findings', () => {
    const contexts = representativeContexts();
    expect(contexts).toHaveLength(8);
    expect(new Set(contexts.map((c) => c['hour']))).toEqual(new Set([12, 2]));
  });

  it('the authorizer reviews resources passed in and recorded in recent decisions; unknown agents are not found', async () => {
    const active = engine.compile(1, [{ name: 'p.cedar', text: POLICIES }]);
    const body = (n: number, resource: string) =>
      JSON.stringify({
        index: n,
        decision: { id: `d${n}`, effect: 'deny', policy_ids: [] },
        details: { replay: { principal: { type: 'Warden::Agent', id: 'x' }, action: { type: 'Warden::Action', id: 'mcp:call_tool' }, resource: { type: 'Warden::Tool', id: resource }, context: {}, entities: [tool(resource)] } },
      });
    const entries = [body(0, 'crm.search')];
    const audit = {
      append: () => Promise.resolve(),
      size: () => Promise.resolve(entries.length),
      entries: (start: number, limit: number) => Promise.resolve(entries.slice(start, start + limit).map((b, i) => ({ index: start + i, leafHash: Buffer.alloc(0), body: b }))),
    };
    const authorizer = createAuthorizer({ engine, active: () => active, providers: [agentEntityProvider({ get: (n) => Promise.resolve(n === bot.name ? bot : undefined), onChange: () => () => undefined })], audit });
    const report = await authorizer.permissions('billing-bot', { resources: [key('payments')] });
    expect(report.resources).toBe(2);
    expect(report.permissions.map((p) => `${p.resource.id} ${p.action} ${p.access}`).sort()).toEqual([
      'crm.search mcp:call_tool conditional',
      'crm.search mcp:list_tools always',
      'payments kms:decrypt conditional',
    ]);
    await expect(authorizer.permissions('ghost')).rejects.toSatisfy((err: unknown) => isWardenError(err, 'WARDEN_NOT_FOUND'));
  });
});
