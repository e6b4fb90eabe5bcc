import { describe, expect, it, vi } from 'vitest';
import type { AuditEvent } from '../audit/index.js';
import { isWardenError } from '../errors/index.js';
import type { Agent, AgentLookup } from '../identity/types.js';
import { createAuthorizer, type Authorizer } from './authorizer.js';
import { createPolicyEngine, type AuthorizationRequest, type CedarEntity, type CompiledPolicySet, type PolicyEngine } from './engine.js';
import { agentEntityProvider } from './entities.js';

const engine = createPolicyEngine();
const context = { hour: 10, weekday: 2, sourceIp: '10.1.2.3', riskScore: 0, findings: { categories: [], highestScore: 0 } };

function agent(overrides: Partial<Agent> = {}): Agent {
  return {
    name: 'billing-bot',
    owner: 'ana',
    roles: ['billing'],
    labels: { team: 'billing' },
    environment: 'prod',
    region: null,
    clearance: 2,
    status: 'active',
    requireDpop: false,
    createdAt: 1,
    updatedAt: 1,
    ...overrides,
  };
}

function directory(initial: Agent[]): AgentLookup & { put(a: Agent): void } {
  const agents = new Map(initial.map((a) => [a.name, a]));
  const listeners = new Set<(name: string) => void>();
  return {
    get: (name) => Promise.resolve(agents.get(name)),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    put(a) {
      agents.set(a.name, a);
      for (const l of listeners) l(a.name);
    },
  };
}

function tool(id: string, attrs: Partial<{ readOnly: boolean; destructive: boolean; sensitivity: number }> = {}): CedarEntity {
  return { uid: { type: 'Warden::Tool', id }, attrs: { name: id, readOnly: true, destructive: false, sensitivity: 1, ...attrs }, parents: [] };
}
const call = (toolId: string, principal = 'billing-bot'): AuthorizationRequest => ({
  principal: { type: 'Warden::Agent', id: principal },
  action: { type: 'Warden::Action', id: 'mcp:call_tool' },
  resource: { type: 'Warden::Tool', id: toolId },
  context,
});

const POLICIES = `@id("billing-tools")
permit(principal in Warden::Role::"billing", action == Warden::Action::"mcp:call_tool", resource is Warden::Tool)
  when { resource.sensitivity <= principal.clearance };
@id("no-destructive")
forbid(principal, action, resource is Warden::Tool) when { resource.destructive };`;

interface Harness {
  authorizer: Authorizer;
  events: AuditEvent[];
  evaluate: ReturnType<typeof vi.fn>;
  lookup: ReturnType<typeof directory>;
  setActive(set: CompiledPolicySet | undefined): void;
  failAudit(fail: boolean): void;
}

function harness(text = POLICIES): Harness {
  let active: CompiledPolicySet | undefined = engine.compile(1, [{ name: 'tools.cedar', text }]);
  let auditDown = false;
  const events: AuditEvent[] = [];
  const evaluate = vi.fn(engine.evaluate);
  const spied: PolicyEngine = { ...engine, evaluate };
  const lookup = directory([agent()]);
  const authorizer = createAuthorizer({
    engine: spied,
    active: () => active,
    providers: [agentEntityProvider(lookup)],
    audit: {
      append(event) {
        if (auditDown) return Promise.reject(new Error('disk full'));
        events.push(event);
        return Promise.resolve({ index: events.length - 1 });
      },
    },
  });
  lookup.onChange((name) => authorizer.invalidate({ type: 'Warden::Agent', id: name }));
  return { authorizer, events, evaluate, lookup, setActive: (s) => (active = s), failAudit: (f) => (auditDown = f) };
}

describe('authorizer', () => {
  it('allows, names the policy and audits the decision with ids and version', async () => {
    const h = harness();
    const decision = await h.authorizer.authorize(call('crm.search'), { extraEntities: [tool('crm.search')], source: { ip: '10.1.2.3', requestId: 'r1' } });
    expect(decision).toMatchObject({ decision: 'allow', policies: ['billing-tools'], errors: [], policySetVersion: 1 });
    expect(h.events).toEqual([
      {
        class: 'api_activity',
        activityId: 99,
        action: 'mcp:call_tool',
        actor: { type: 'agent', id: 'billing-bot' },
        source: { ip: '10.1.2.3', requestId: 'r1' },
        resource: { type: 'Warden::Tool', id: 'crm.search' },
        decision: { id: decision.decisionId, effect: 'allow', policyIds: ['billing-tools'], policySetVersion: '1' },
        outcome: 'success',
        details: {
          replay: {
            principal: { type: 'Warden::Agent', id: 'billing-bot' },
            action: { type: 'Warden::Action', id: 'mcp:call_tool' },
            resource: { type: 'Warden::Tool', id: 'crm.search' },
            context,
            entities: [tool('crm.search')],
          },
        },
      },
    ]);
  });

  it('records tool arguments and the encryption context only as sensitive values (HMACed), not in the replay', async () => {
    const h = harness();
    const args = [{ key: 'q', value: 'salary of ana' }];
    await h.authorizer.authorize({ ...call('crm.search'), context: { ...context, arguments: args, encryptionContext: [] } }, { extraEntities: [tool('crm.search')] });
    const event = h.events[0]!;
    expect(event.sensitive).toEqual({ 'context.arguments': '[{"key":"q","value":"salary of ana"}]', 'context.encryptionContext': '[]' });
    expect(JSON.stringify(event.details)).not.toContain('salary');
    expect(event.details?.['replay']).toMatchObject({ context });
  });

  it('audits denies too, with the determining forbid', async () => {
    const h = harness();
    const decision = await h.authorizer.authorize(call('db.drop'), { extraEntities: [tool('db.drop', { destructive: true })] });
    expect(decision).toMatchObject({ decision: 'deny', policies: ['no-destructive'] });
    expect(h.events[0]).toMatchObject({ outcome: 'failure', decision: { effect: 'deny', policyIds: ['no-destructive'] } });
  });

  it('denies without an active set, with an error', async () => {
    const h = harness();
    h.setActive(undefined);
    const decision = await h.authorizer.authorize(call('crm.search'), { extraEntities: [tool('crm.search')] });
    expect(decision).toMatchObject({ decision: 'deny', errors: ['no policy set'], policySetVersion: 0 });
    expect(h.events).toHaveLength(1);
  });

  it('denies an unknown agent even under a blanket permit', async () => {
    const h = harness('permit(principal, action, resource);');
    const decision = await h.authorizer.authorize(call('crm.search', 'ghost'), { extraEntities: [tool('crm.search')] });
    expect(decision.decision).toBe('deny');
    expect(decision.errors.join()).toMatch(/not found/);
  });

  it('never lets caller-supplied entities replace the resolved principal', async () => {
    const h = harness();
    const forged: CedarEntity = { uid: { type: 'Warden::Agent', id: 'billing-bot' }, attrs: { owner: 'x', clearance: 4, riskScore: 0, status: 'active' }, parents: [{ type: 'Warden::Role', id: 'billing' }] };
    const decision = await h.authorizer.authorize(call('vault.read'), { extraEntities: [forged, tool('vault.read', { sensitivity: 4 })] });
    expect(decision.decision).toBe('deny');
  });

  it('refuses with WARDEN_AUDIT_UNAVAILABLE (no allow) when the audit append fails', async () => {
    const h = harness();
    h.failAudit(true);
    const attempt = h.authorizer.authorize(call('crm.search'), { extraEntities: [tool('crm.search')] });
    await expect(attempt).rejects.toSatisfy((err: unknown) => isWardenError(err, 'WARDEN_AUDIT_UNAVAILABLE'));
  });

  it('serves a repeated request from the cache but still audits it', async () => {
    const h = harness();
    const opts = { extraEntities: [tool('crm.search')] };
    const first = await h.authorizer.authorize(call('crm.search'), opts);
    const second = await h.authorizer.authorize(call('crm.search'), opts);
    expect(h.evaluate).toHaveBeenCalledTimes(1);
    expect(second).toMatchObject({ decision: 'allow', policies: ['billing-tools'] });
    expect(second.decisionId).not.toBe(first.decisionId);
    expect(h.events.map((e) => e.decision?.id)).toEqual([first.decisionId, second.decisionId]);
  });

  it('misses the cache for a different context or resource attributes', async () => {
    const h = harness();
    await h.authorizer.authorize(call('crm.search'), { extraEntities: [tool('crm.search')] });
    await h.authorizer.authorize({ ...call('crm.search'), context: { ...context, hour: 11 } }, { extraEntities: [tool('crm.search')] });
    const decision = await h.authorizer.authorize(call('crm.search'), { extraEntities: [tool('crm.search', { sensitivity: 3 })] });
    expect(h.evaluate).toHaveBeenCalledTimes(3);
    expect(decision.decision).toBe('deny');
  });

  it('re-evaluates under a new policy set version', async () => {
    const h = harness();
    const opts = { extraEntities: [tool('crm.search')] };
    await h.authorizer.authorize(call('crm.search'), opts);
    h.setActive(engine.compile(2, [{ name: 'lockdown.cedar', text: '@id("lockdown")\nforbid(principal, action, resource);' }]));
    const decision = await h.authorizer.authorize(call('crm.search'), opts);
    expect(decision).toMatchObject({ decision: 'deny', policies: ['lockdown'], policySetVersion: 2 });
    expect(h.events[1]?.decision?.policySetVersion).toBe('2');
  });

  it('re-evaluates after an agent attribute change (version)', async () => {
    const h = harness();
    const opts = { extraEntities: [tool('hr.read', { sensitivity: 2 })] };
    expect((await h.authorizer.authorize(call('hr.read'), opts)).decision).toBe('allow');
    h.lookup.put(agent({ clearance: 1, updatedAt: 2 }));
    expect((await h.authorizer.authorize(call('hr.read'), opts)).decision).toBe('deny');
    expect(h.evaluate).toHaveBeenCalledTimes(2);
  });

  it('re-evaluates after a role change, even within the same millisecond', async () => {
    const h = harness();
    const opts = { extraEntities: [tool('crm.search')] };
    expect((await h.authorizer.authorize(call('crm.search'), opts)).decision).toBe('allow');
    h.lookup.put(agent({ roles: ['support'] })); // same updatedAt
    expect((await h.authorizer.authorize(call('crm.search'), opts)).decision).toBe('deny');
  });

  it('invalidate() drops cached decisions for an entity and all of them', async () => {
    const h = harness();
    const opts = { extraEntities: [tool('crm.search')] };
    await h.authorizer.authorize(call('crm.search'), opts);
    h.authorizer.invalidate({ type: 'Warden::Tool', id: 'crm.search' });
    await h.authorizer.authorize(call('crm.search'), opts);
    h.authorizer.invalidate();
    await h.authorizer.authorize(call('crm.search'), opts);
    expect(h.evaluate).toHaveBeenCalledTimes(3);
  });

  it('tools/list filtering per tool gives the same answers as tools/call', async () => {
    const tools = [tool('a'), tool('b', { destructive: true }), tool('c', { sensitivity: 3 }), tool('d', { sensitivity: 2 })];
    const listing = harness();
    const visible = [];
    for (const t of tools) {
      if ((await listing.authorizer.authorize(call(t.uid.id), { extraEntities: [t] })).decision === 'allow') visible.push(t.uid.id);
    }
    const calling = harness();
    const callable = [];
    for (const t of tools) {
      if ((await calling.authorizer.authorize(call(t.uid.id), { extraEntities: [t] })).decision === 'allow') callable.push(t.uid.id);
    }
    expect(visible).toEqual(['a', 'd']);
    expect(callable).toEqual(visible);
  });
});
