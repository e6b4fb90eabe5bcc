import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { describe, expect, it } from 'vitest';
import { createPolicyEngine, type AuthorizationRequest, type CedarEntity, type CompiledPolicySet, type EntityRef, type Evaluation, type PolicyLink } from './engine.js';
import { applicable, cedarPolicySet, indexPolicySet, likelySubsets, ourPolicyId, schemaActionGroups } from './policy-index.js';
import { wardenSchema } from './schema.js';

let seed = 7;
/** mulberry32: deterministic. */
function rand(n: number): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) % n;
}
const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;

const AGENTS = 6;
const ROLES = 4;
const SERVERS = 4;
const TOOLS = 8;
const KEYS = 3;
const TOOL_ACTIONS = ['mcp:call_tool', 'mcp:list_tools'];
const KMS_ACTIONS = ['kms:encrypt', 'kms:decrypt', 'kms:sign'];
const act = (id: string) => `Warden::Action::"${id}"`;

function principalScope(): string {
  switch (rand(5)) {
    case 0: return 'principal';
    case 1: return `principal == Warden::Agent::"a${rand(AGENTS)}"`;
    case 2: return `principal in Warden::Role::"r${rand(ROLES)}"`;
    case 3: return 'principal is Warden::Agent';
    default: return `principal is Warden::Agent in Warden::Role::"r${rand(ROLES)}"`;
  }
}
/** A policy of one of three families, type-correct under strict validation. */
function policy(n: number): string {
  const effect = rand(5) === 0 ? 'forbid' : 'permit';
  const erroring = rand(10) === 0 ? ' && context.riskScore + 9223372036854775807 > 100' : '';
  const hour = `${effect === 'forbid' ? `context.hour == ${rand(24)}` : `context.hour >= ${rand(12)}`}${erroring}`;
  const head = `@id("q${n}")\n${effect}(${principalScope()}, `;
  switch (rand(3)) {
    case 0: {
      const action = pick(['action', `action == ${act(pick(TOOL_ACTIONS))}`, `action in [${act('mcp:call_tool')}, ${act('mcp:list_tools')}]`, `action in ${act('mcp:call_tool')}`]);
      const tool = action.includes('call_tool') && !action.includes('list');
      const resource = tool
        ? pick(['resource is Warden::Tool', `resource == Warden::Tool::"t${rand(TOOLS)}"`, `resource in Warden::Server::"s${rand(SERVERS)}"`, `resource is Warden::Tool in Warden::Server::"s${rand(SERVERS)}"`])
        : pick(['resource is Warden::Tool', `resource == Warden::Tool::"t${rand(TOOLS)}"`, `resource is Warden::Tool in Warden::Server::"s${rand(SERVERS)}"`]);
      return `${head}${action}, ${resource}) when { ${hour} && resource.sensitivity <= principal.clearance };`;
    }
    case 1: {
      const action = pick([`action == ${act(pick(KMS_ACTIONS))}`, `action in [${KMS_ACTIONS.slice(rand(2)).map(act).join(', ')}]`]);
      const resource = pick(['resource', 'resource is Warden::Key', `resource == Warden::Key::"k${rand(KEYS)}"`]);
      return `${head}${action}, ${resource}) when { ${hour} && resource.purpose == "p${rand(2)}" };`;
    }
    default: {
      const action = pick(['action', `action == ${act(pick([...TOOL_ACTIONS, ...KMS_ACTIONS]))}`, `action in [${act(pick(KMS_ACTIONS))}, ${act(pick(TOOL_ACTIONS))}]`]);
      const resource = pick(['resource', `resource in Warden::Server::"s${rand(SERVERS)}"`, `resource == Warden::Server::"s${rand(SERVERS)}"`, `resource == Warden::Key::"k${rand(KEYS)}"`]);
      return `${head}${action}, ${resource}) when { ${hour} };`;
    }
  }
}

const templates = `@id("tool-grant")
permit(principal in ?principal, action == ${act('mcp:call_tool')}, resource in ?resource) when { context.hour >= 3 };
@id("agent-ban")
forbid(principal == ?principal, action, resource) when { context.riskScore + 9223372036854775807 > 100 };`;
const links: PolicyLink[] = [
  ...Array.from({ length: 6 }, (_, i): PolicyLink => ({ id: `grant-${i}`, templateId: 'tool-grant', principal: { type: 'Warden::Role', id: `r${i % ROLES}` }, resource: { type: 'Warden::Server', id: `s${i % SERVERS}` } })),
  { id: 'grant-agent', templateId: 'tool-grant', principal: { type: 'Warden::Agent', id: 'a1' }, resource: { type: 'Warden::Tool', id: 't2' } },
  { id: 'ban-a2', templateId: 'agent-ban', principal: { type: 'Warden::Agent', id: 'a2' } },
];

const agentRoles = (a: number): EntityRef[] => [{ type: 'Warden::Role', id: `r${a % ROLES}` }, ...(a % 3 === 0 ? [{ type: 'Warden::Role', id: `r${(a + 1) % ROLES}` }] : [])];
function agent(a: number): CedarEntity {
  return { uid: { type: 'Warden::Agent', id: `a${a}` }, attrs: { owner: 'o', clearance: a % 4, riskScore: 0, status: 'active' }, parents: agentRoles(a) };
}
const server = (s: number): CedarEntity => ({ uid: { type: 'Warden::Server', id: `s${s}` }, attrs: { name: `s${s}` }, parents: [] });
const tool = (t: number): CedarEntity => ({
  uid: { type: 'Warden::Tool', id: `t${t}` },
  attrs: { name: `t${t}`, readOnly: true, destructive: false, sensitivity: t % 4 },
  parents: [{ type: 'Warden::Server', id: `s${t % SERVERS}` }],
});
const key = (k: number): CedarEntity => ({ uid: { type: 'Warden::Key', id: `k${k}` }, attrs: { purpose: `p${k % 2}`, region: 'eu' }, parents: [] });

function randomRequest(): { request: AuthorizationRequest; entities: CedarEntity[] } {
  const a = rand(AGENTS);
  const roles = agentRoles(a).map((uid): CedarEntity => ({ uid, attrs: {}, parents: [] }));
  const context = { hour: rand(24), weekday: 1, sourceIp: '10.0.0.1', riskScore: rand(4) === 0 ? 1 : 0, findings: { categories: [], highestScore: 0 } };
  const principal = agent(a);
  const kind = rand(3);
  let action: string;
  let resource: CedarEntity;
  let extra: CedarEntity[] = [];
  if (kind === 0) {
    action = 'mcp:call_tool';
    resource = tool(rand(TOOLS));
    extra = [server(Number(resource.parents[0]!.id.slice(1)))];
  } else if (kind === 1) {
    action = 'mcp:list_tools';
    resource = rand(2) === 0 ? server(rand(SERVERS)) : tool(rand(TOOLS));
    if (resource.uid.type === 'Warden::Tool') extra = [server(Number(resource.parents[0]!.id.slice(1)))];
  } else {
    action = pick(KMS_ACTIONS);
    resource = key(rand(KEYS));
  }
  // Sometimes leave the resource's parents out of the slice (an incomplete slice is still exact).
  if (rand(5) === 0) extra = [];
  return {
    request: { principal: principal.uid, action: { type: 'Warden::Action', id: action }, resource: resource.uid, context },
    entities: [principal, ...roles, resource, ...extra],
  };
}

/**
 * Plain Cedar over the whole set given policy by policy (so Cedar itself names every policy by our id),
 * shaped like the engine's answer: the reference the engine's joined texts and subsets must match.
 */
function referenceEvaluator(set: CompiledPolicySet): (request: AuthorizationRequest, entities: CedarEntity[]) => Evaluation {
  const linkIds = new Set((set.links ?? []).map((l) => l.id));
  const name = `reference-${set.handle}`;
  const schemaName = 'reference-schema';
  expect(cedar.preparseSchema(schemaName, wardenSchema).type).toBe('success');
  const templateLinks = (set.links ?? []).map((l) => ({
    templateId: l.templateId,
    newId: l.id,
    values: { ...(l.principal ? { '?principal': l.principal } : {}), ...(l.resource ? { '?resource': l.resource } : {}) },
  }));
  const staticPolicies = Object.fromEntries([...set.policies].filter(([id]) => !linkIds.has(id)));
  expect(cedar.preparsePolicySet(name, { staticPolicies, templates: Object.fromEntries(set.templates ?? []), templateLinks }).type).toBe('success');
  const describe = (e: cedar.DetailedError) => {
    const label = e.sourceLocations?.find((l) => l.label)?.label;
    return `${label ? `${e.message}: ${label}` : e.message}${e.help ? ` (${e.help})` : ''}`;
  };
  return (request, entities) => {
    const answer = cedar.statefulIsAuthorized({ ...request, context: request.context as cedar.Context, preparsedSchemaName: schemaName, preparsedPolicySetId: name, validateRequest: true, entities: entities as cedar.EntityJson[] });
    if (answer.type === 'failure') return { decision: 'deny', policies: [], errors: answer.errors.map(describe) };
    const { errors, reason } = answer.response.diagnostics;
    if (errors.length === 0) return { decision: answer.response.decision, policies: [...reason].sort(), errors: [] };
    const sorted = [...errors].sort((a, b) => (a.policyId < b.policyId ? -1 : a.policyId > b.policyId ? 1 : 0));
    return { decision: 'deny', policies: [...new Set(sorted.map((e) => e.policyId))].sort(), errors: sorted.map((e) => `${e.policyId}: ${describe(e.error)}`) };
  };
}

describe('policy index: filtered evaluation equals full evaluation', () => {
  const engine = createPolicyEngine();
  const files = [
    { name: 'random.cedar', text: Array.from({ length: 300 }, (_, n) => policy(n)).join('\n') },
    { name: 'templates.cedar', text: templates },
  ];
  let set: CompiledPolicySet;

  it('compiles the generated set', () => {
    set = engine.compile(1, files, links);
    expect(set.policies.size).toBe(300 + links.length);
  });

  it('returns identical decisions, determining policies and errors for random requests', () => {
    /** A copy of the set is not indexed, so it is evaluated whole. */
    const whole: CompiledPolicySet = { ...set };
    const reference = referenceEvaluator(set);
    const index = indexPolicySet(new Map([...set.policies].filter(([id]) => !links.some((l) => l.id === id))), set.templates ?? new Map(), links)!;
    const groups = schemaActionGroups(wardenSchema)!;
    const seen = { allow: 0, deny: 0, errors: 0, forbidden: 0, filtered: 0 };
    for (let i = 0; i < 400; i++) {
      const { request, entities } = randomRequest();
      const filtered = engine.evaluate(set, request, entities);
      const full = engine.evaluate(whole, request, entities);
      expect(filtered, JSON.stringify(request)).toEqual(full);
      expect(filtered, JSON.stringify(request)).toEqual(reference(request, entities));
      seen[filtered.decision]++;
      if (filtered.errors.length > 0) seen.errors++;
      else if (filtered.decision === 'deny' && filtered.policies.length > 0) seen.forbidden++;
      if (applicable(index, request, entities, groups)!.length < index.entries.length / 2) seen.filtered++;
    }
    // The generated requests exercise every outcome, and the index really narrows the set.
    expect(seen.allow).toBeGreaterThan(20);
    expect(seen.deny).toBeGreaterThan(20);
    expect(seen.errors).toBeGreaterThan(5);
    expect(seen.forbidden).toBeGreaterThan(5);
    expect(seen.filtered).toBeGreaterThan(300);
  });

  it('keeps a malformed request failing closed like the full set', () => {
    const { request, entities } = randomRequest();
    const bad = { ...request, context: { ...request.context, surprise: 1 } };
    const filtered = engine.evaluate(set, bad, entities);
    expect(filtered).toEqual(engine.evaluate({ ...set }, bad, entities));
    expect(filtered).toEqual(referenceEvaluator(set)(bad, entities));
    expect(filtered.decision).toBe('deny');
    expect(filtered.errors.length).toBeGreaterThan(0);
  });
});

describe('policy index: scopes', () => {
  const groups = schemaActionGroups(wardenSchema)!;
  it('reads the Warden schema: no action is in an action group', () => {
    expect(groups.size).toBeGreaterThan(10);
    for (const parents of groups.values()) expect(parents.size).toBe(0);
  });

  it('reads action groups from a schema that has them', () => {
    const g = schemaActionGroups('namespace N { entity A; action "g"; action "x" in ["g"] appliesTo { principal: [A], resource: [A] }; }')!;
    expect([...(g.get('N::Action\u0000x') ?? [])]).toEqual(['N::Action\u0000g']);
  });

  it('matches ==, in (through the slice), is and is-in scopes', () => {
    const text = new Map([
      ['all', 'permit(principal, action, resource);'],
      ['eq', 'permit(principal == Warden::Agent::"a1", action == Warden::Action::"mcp:call_tool", resource);'],
      ['in-role', 'permit(principal in Warden::Role::"r1", action, resource in Warden::Server::"s1");'],
      ['is-in', 'permit(principal is Warden::Agent in Warden::Role::"r2", action in [Warden::Action::"kms:sign"], resource is Warden::Key);'],
    ]);
    const index = indexPolicySet(text, new Map(), [])!;
    const ids = (request: AuthorizationRequest, entities: CedarEntity[]) => applicable(index, request, entities, groups)!.map((n) => index.entries[n]!.id);
    const base = { principal: { type: 'Warden::Agent', id: 'a1' }, action: { type: 'Warden::Action', id: 'mcp:call_tool' }, resource: { type: 'Warden::Tool', id: 't1' }, context: {} };
    expect(ids(base, [])).toEqual(['all', 'eq']);
    const slice = [agent(1), tool(1)];
    expect(ids(base, slice)).toEqual(['all', 'eq', 'in-role']);
    expect(ids({ ...base, principal: agent(2).uid, action: { type: 'Warden::Action', id: 'kms:sign' }, resource: { type: 'Warden::Key', id: 'k1' } }, [agent(2)])).toEqual(['all', 'is-in']);
    // A cyclic slice (the agent among its own ancestors) lists each policy once, in order.
    const cyclic = { ...agent(1), parents: [{ type: 'Warden::Agent', id: 'a1' }, { type: 'Warden::Role', id: 'r1' }] };
    expect(ids(base, [cyclic, tool(1)])).toEqual(['all', 'eq', 'in-role']);
    // Requests the index cannot reason about are evaluated whole.
    expect(applicable(index, { ...base, principal: { type: 'Warden :: Agent', id: 'a1' } }, [], groups)).toBeUndefined();
  });
});

describe('policy index: candidate buckets', () => {
  const groups = schemaActionGroups(wardenSchema)!;
  it('finds exactly the policies a scan of every scope finds', () => {
    const text = new Map(Array.from({ length: 300 }, (_, n): [string, string] => [`q${n}`, policy(n).replace(/^@id\("q\d+"\)\n/, '')]));
    const index = indexPolicySet(text, new Map(), [])!;
    // A set whose only bucket is "names nothing" for both dimensions checks every policy: the scan.
    const scan = { ...index, byPrincipal: new Map([['', index.entries.map((_, n) => n)]]), byResource: new Map([['', index.entries.map((_, n) => n)]]) };
    let narrowed = 0;
    for (let i = 0; i < 300; i++) {
      const { request, entities } = randomRequest();
      const found = applicable(index, request, entities, groups)!;
      expect(found).toEqual(applicable(scan, request, entities, groups));
      if (found.length < index.entries.length) narrowed++;
    }
    expect(narrowed).toBeGreaterThan(250);
  });
});

describe('policy index: Cedar forms', () => {
  const statics: [string, string][] = [
    ['b', 'permit(principal, action, resource);'],
    ['a', 'forbid(principal, action, resource) when { context.hour < 3 };'],
  ];

  it('joins static policies into one text and maps positions back to our ids', () => {
    const form = cedarPolicySet(statics, {}, []);
    expect(form.policies).toEqual({ staticPolicies: `${statics[0]![1]}\n${statics[1]![1]}` });
    expect(['policy0', 'policy1'].map((id) => ourPolicyId(form, id))).toEqual(['b', 'a']);
    // An id naming no policy of the set maps to nothing (the engine then fails closed).
    expect(ourPolicyId(form, 'policy2')).toBeUndefined();
    expect(ourPolicyId(form, 'b')).toBeUndefined();
  });

  it('keeps link ids, and falls back to the per-id form when a link or template id looks positional', () => {
    const link = { templateId: 't', newId: 'grant', values: { '?principal': { type: 'Warden::Agent', id: 'x' } } };
    const templates = { t: 'permit(principal == ?principal, action, resource);' };
    const joined = cedarPolicySet(statics, templates, [link]);
    expect(joined.positional).toEqual(['b', 'a']);
    expect(ourPolicyId(joined, 'grant')).toBe('grant');
    const clash = cedarPolicySet(statics, templates, [{ ...link, newId: 'policy7' }]);
    expect(clash.positional).toBeUndefined();
    expect(clash.policies.staticPolicies).toEqual({ b: statics[0]![1], a: statics[1]![1] });
    expect(ourPolicyId(clash, 'policy7')).toBe('policy7');
    expect(cedarPolicySet(statics, {}, [], false).positional).toBeUndefined();
  });
});

describe('policy index: subsets to prewarm', () => {
  const groups = schemaActionGroups(wardenSchema)!;
  const text = new Map<string, string>([
    ['no-destructive', 'forbid(principal, action, resource is Warden::Tool) when { resource.destructive };'],
    ['risk', 'forbid(principal, action, resource) when { context.riskScore > 80 };'],
    ['agent-a1', 'permit(principal == Warden::Agent::"a1", action == Warden::Action::"mcp:call_tool", resource in Warden::Server::"s0");'],
  ]);
  for (let i = 0; i < 24; i++) {
    text.set(`p${i}`, `permit(principal in Warden::Role::"r${i % ROLES}", action == ${act(pick(TOOL_ACTIONS))}, resource in Warden::Server::"s${i % SERVERS}");`);
  }
  const index = indexPolicySet(text, new Map(), [])!;
  const keys = (subsets: number[][]) => new Set(subsets.map((p) => p.join(',')));

  it('holds the subset of every request whose agent has one role and whose tool is on one server', () => {
    const prewarmed = keys(likelySubsets(index, groups, { maxSubsets: 1000, maxPolicies: 1e6 }));
    let checked = 0;
    for (let a = 0; a < AGENTS; a++) {
      const principal: CedarEntity = { ...agent(a), parents: [{ type: 'Warden::Role', id: `r${a % ROLES}` }] };
      for (let t = 0; t < TOOLS; t++) {
        for (const action of TOOL_ACTIONS) {
          const request = { principal: principal.uid, action: { type: 'Warden::Action', id: action }, resource: tool(t).uid };
          const positions = applicable(index, request, [principal, tool(t)], groups)!;
          if (positions.length === index.entries.length) continue;
          expect(prewarmed.has(positions.join(',')), `${a} ${t} ${action}`).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(50);
  });

  it('stays within its limits, largest subsets first, and never returns the full set', () => {
    const all = likelySubsets(index, groups, { maxSubsets: 1000, maxPolicies: 1e6 });
    expect(all.every((p) => p.length < index.entries.length)).toBe(true);
    const few = likelySubsets(index, groups, { maxSubsets: 3, maxPolicies: 1e6 });
    expect(few).toHaveLength(3);
    expect(few.map((p) => p.length)).toEqual([...all.map((p) => p.length)].slice(0, 3));
    const budget = Math.max(...all.map((p) => p.length)) + 1;
    const cheap = likelySubsets(index, groups, { maxSubsets: 1000, maxPolicies: budget });
    expect(cheap.reduce((n, p) => n + p.length, 0)).toBeLessThanOrEqual(budget);
    expect(likelySubsets(index, groups, { maxSubsets: 0, maxPolicies: 1e6 })).toEqual([]);
  });
});
