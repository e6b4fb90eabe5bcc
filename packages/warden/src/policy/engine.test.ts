import { describe, expect, it } from 'vitest';
import { isWardenError } from '../errors/index.js';
import { createPolicyEngine, type AuthorizationRequest, type CedarEntity } from './engine.js';

const engine = createPolicyEngine();

const context = { hour: 10, weekday: 2, sourceIp: '10.1.2.3', riskScore: 0, findings: { categories: [], highestScore: 0 } };
const request: AuthorizationRequest = {
  principal: { type: 'Warden::Agent', id: 'billing-bot' },
  action: { type: 'Warden::Action', id: 'mcp:call_tool' },
  resource: { type: 'Warden::Tool', id: 'crm.search' },
  context,
};
const entities: CedarEntity[] = [
  {
    uid: { type: 'Warden::Agent', id: 'billing-bot' },
    attrs: { owner: 'ana', clearance: 2, riskScore: 0, status: 'active' },
    parents: [{ type: 'Warden::Role', id: 'billing' }],
    tags: { team: 'billing' },
  },
  { uid: { type: 'Warden::Role', id: 'billing' }, attrs: {}, parents: [] },
  { uid: { type: 'Warden::Server', id: 'crm' }, attrs: { name: 'crm' }, parents: [] },
  {
    uid: { type: 'Warden::Tool', id: 'crm.search' },
    attrs: { name: 'search', readOnly: true, destructive: false, sensitivity: 1 },
    parents: [{ type: 'Warden::Server', id: 'crm' }],
  },
];
const PERMIT_ALL = 'permit(principal, action, resource);';

describe('policy engine: evaluation', () => {
  it('denies by default with an empty set', () => {
    const set = engine.compile(1, []);
    expect(engine.evaluate(set, request, entities)).toEqual({ decision: 'deny', policies: [], errors: [] });
  });

  it('allows under a blanket permit and names the determining policy', () => {
    const set = engine.compile(1, [{ name: 'base.cedar', text: PERMIT_ALL }]);
    expect(engine.evaluate(set, request, entities)).toEqual({ decision: 'allow', policies: ['base.0'], errors: [] });
  });

  it('names the forbid that determined a deny', () => {
    const text = `${PERMIT_ALL}\n@id("no-low-clearance")\nforbid(principal is Warden::Agent, action, resource) when { principal.clearance < 3 };`;
    const set = engine.compile(1, [{ name: 'base.cedar', text }]);
    expect(engine.evaluate(set, request, entities)).toEqual({ decision: 'deny', policies: ['no-low-clearance'], errors: [] });
  });

  it('uses labels (entity tags), roles and the ipaddr context', () => {
    const text = `permit(principal in Warden::Role::"billing", action == Warden::Action::"mcp:call_tool", resource in Warden::Server::"crm")
when { principal.hasTag("team") && principal.getTag("team") == "billing" && context.sourceIp.isInRange(ip("10.0.0.0/8")) };`;
    const set = engine.compile(1, [{ name: 'crm.cedar', text }]);
    expect(engine.evaluate(set, request, entities).decision).toBe('allow');
    expect(engine.evaluate(set, { ...request, context: { ...context, sourceIp: '192.168.1.1' } }, entities).decision).toBe('deny');
  });

  it('denies when a forbid errors at runtime even though a permit matches (overflow)', () => {
    const text = `${PERMIT_ALL}\nforbid(principal, action, resource) when { context.riskScore + 9223372036854775807 > 100 };`;
    const set = engine.compile(1, [{ name: 'base.cedar', text }]);
    const result = engine.evaluate(set, { ...request, context: { ...context, riskScore: 1 } }, entities);
    expect(result.decision).toBe('deny');
    expect(result.policies).toEqual(['base.1']);
    expect(result.errors.join()).toMatch(/overflow/);
  });

  it('denies a malformed request (context does not match the schema, bad IP)', () => {
    const set = engine.compile(1, [{ name: 'base.cedar', text: PERMIT_ALL }]);
    const extra = engine.evaluate(set, { ...request, context: { ...context, surprise: 1 } }, entities);
    expect(extra.decision).toBe('deny');
    expect(extra.errors.length).toBeGreaterThan(0);
    const badIp = engine.evaluate(set, { ...request, context: { ...context, sourceIp: 'not-an-ip' } }, entities);
    expect(badIp).toMatchObject({ decision: 'deny', policies: [] });
    expect(badIp.errors.join()).toMatch(/IP/);
  });

  it('evaluates a set compiled by another engine instance (handles are process-wide)', () => {
    const set = createPolicyEngine().compile(3, [{ name: 'base.cedar', text: PERMIT_ALL }]);
    // Cedar names a joined text's policies by position; the other engine's ids come back all the same.
    expect(engine.evaluate(set, request, entities)).toEqual({ decision: 'allow', policies: ['base.0'], errors: [] });
    expect(engine.evaluate({ ...set }, request, entities)).toEqual({ decision: 'allow', policies: ['base.0'], errors: [] });
  });

  it('names policies and errors by our ids, never by Cedar\'s positional ones', () => {
    const text = [
      '@id("zeta")\nforbid(principal, action, resource) when { context.riskScore + 9223372036854775807 < 0 };',
      '@id("alpha")\npermit(principal in Warden::Role::"billing", action, resource);',
      'permit(principal, action, resource) when { (context.riskScore + 1) * 9223372036854775807 > 1 };',
    ].join('\n');
    const set = engine.compile(1, [{ name: 'ids.cedar', text }]);
    expect(engine.evaluate(set, request, entities)).toEqual({ decision: 'allow', policies: ['alpha', 'ids.2'], errors: [] });
    const risky = engine.evaluate(set, { ...request, context: { ...context, riskScore: 1 } }, entities);
    expect(risky.decision).toBe('deny');
    expect(risky.policies).toEqual(['ids.2', 'zeta']);
    expect(risky.errors).toHaveLength(2);
    expect(risky.errors[0]).toMatch(/^ids\.2: .*multiply/);
    expect(risky.errors[1]).toMatch(/^zeta: .*overflow/);
  });

  it('keeps ids that look like Cedar\'s positional ones apart from the static policies', () => {
    const text = `@id("policy1")\n${PERMIT_ALL}\n@id("policy0")\nforbid(principal, action, resource) when { context.hour < 5 };\n@id("tpl")\npermit(principal == ?principal, action, resource);`;
    const set = engine.compile(1, [{ name: 'pos.cedar', text }], [{ id: 'policy2', templateId: 'tpl', principal: { type: 'Warden::Agent', id: 'billing-bot' } }]);
    expect(engine.evaluate(set, request, entities)).toEqual({ decision: 'allow', policies: ['policy1', 'policy2'], errors: [] });
    expect(engine.evaluate(set, { ...request, context: { ...context, hour: 1 } }, entities)).toEqual({ decision: 'deny', policies: ['policy0'], errors: [] });
  });

  it('denies a set whose handle is unknown to Cedar', () => {
    const result = engine.evaluate({ version: 9, policies: new Map(), handle: 'forged' }, request, entities);
    expect(result.decision).toBe('deny');
  });
});

describe('policy engine: check', () => {
  it('reports parse errors with file, line and column', () => {
    const text = 'permit(principal, action, resource);\n\nforbid(principal, action, resource)\n  when { 1 + };\n';
    const result = engine.check([{ name: 'bad.cedar', text }]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.diagnostics[0]).toMatchObject({ file: 'bad.cedar' });
    // `}` after `1 + ` is on line 4, column 14.
    expect(result.diagnostics).toContainEqual(expect.objectContaining({ file: 'bad.cedar', line: 4, column: 14 }));
  });

  it('rejects an unknown attribute under strict validation, pointing at it', () => {
    const text = '@id("a")\npermit(principal is Warden::Agent, action == Warden::Action::"mcp:call_tool", resource)\nwhen { principal.shoeSize > 3 };';
    const result = engine.check([{ name: 'agents.cedar', text }]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.diagnostics).toEqual([expect.objectContaining({ file: 'agents.cedar', line: 3, column: 8, policyId: 'a' })]);
    expect(result.diagnostics[0]?.message).toMatch(/shoeSize/);
  });

  it('rejects an unknown entity type', () => {
    const text = 'permit(principal is Warden::Robot, action, resource);';
    const result = engine.check([{ name: 'x.cedar', text }]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.diagnostics[0]).toMatchObject({ file: 'x.cedar', line: 1, policyId: 'x.0' });
    expect(result.diagnostics[0]?.message).toMatch(/Robot/);
  });

  it('locates errors in non-ASCII text by character column', () => {
    const text = '// é€\npermit(principal, action, resource) when { principal.nope };';
    const result = engine.check([{ name: 'u.cedar', text }]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.diagnostics[0]).toMatchObject({ line: 2, column: 44 });
  });

  it('takes ids from @id or from the file position', () => {
    const text = `${PERMIT_ALL}\n@id("named")\nforbid(principal, action, resource) when { context.riskScore > 80 };\n${PERMIT_ALL}`;
    const result = engine.check([
      { name: 'agents.cedar', text },
      { name: 'dir/kms.cedar', text: PERMIT_ALL },
    ]);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect([...result.policies.keys()]).toEqual(['agents.0', 'named', 'agents.2', 'kms.0']);
    expect(result.policies.get('named')).toMatch(/^@id\("named"\)\nforbid/);
  });

  it('reports duplicate ids as diagnostics', () => {
    const text = `@id("p")\n${PERMIT_ALL}\n@id("p")\n${PERMIT_ALL}`;
    const result = engine.check([{ name: 'd.cedar', text }]);
    expect(result).toEqual({ ok: false, diagnostics: [expect.objectContaining({ file: 'd.cedar', line: 3, column: 1, policyId: 'p' })] });
  });

  it('accepts templates (ids from @id or position) and validates them strictly', () => {
    const text = `${PERMIT_ALL}\n@id("crm")\npermit(principal == ?principal, action == Warden::Action::"mcp:call_tool", resource in ?resource);\npermit(principal == ?principal, action, resource);`;
    const result = engine.check([{ name: 't.cedar', text }]);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect([...result.policies.keys()]).toEqual(['t.0']);
    expect([...(result.templates?.keys() ?? [])]).toEqual(['crm', 't.2']);
    const bad = engine.check([{ name: 'b.cedar', text: `${PERMIT_ALL}\n@id("tpl")\npermit(principal == ?principal, action, resource)\nwhen { principal.shoeSize > 3 };` }]);
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.diagnostics.length).toBeGreaterThan(0);
    for (const d of bad.diagnostics) expect(d).toMatchObject({ file: 'b.cedar', line: 4, column: 8, policyId: 'tpl' });
  });

  it('compile throws WARDEN_POLICY_INVALID with the diagnostics', () => {
    let thrown: unknown;
    try {
      engine.compile(2, [{ name: 'bad.cedar', text: 'permit(' }]);
    } catch (err) {
      thrown = err;
    }
    expect(isWardenError(thrown, 'WARDEN_POLICY_INVALID')).toBe(true);
    if (!isWardenError(thrown)) return;
    expect(thrown.details?.['errors']).toEqual([expect.objectContaining({ file: 'bad.cedar', line: 1 })]);
  });

  it('accepts the policies users would write across every action', () => {
    const text = `forbid(principal, action, resource) when { context.riskScore > 80 || context.findings.categories.contains("secrets") };
permit(principal is Warden::Agent, action in [Warden::Action::"kms:encrypt", Warden::Action::"kms:decrypt"], resource is Warden::Key)
  when { context has encryptionContext && context.encryptionContext.contains({ key: "tenant", value: principal.owner }) && resource.region == (if principal has region then principal.region else "") };
permit(principal is Warden::Agent, action == Warden::Action::"http:request", resource is Warden::Route) when { resource.methods.contains("GET") && context.hour >= 8 };
permit(principal in Warden::AdminRole::"security", action == Warden::Action::"admin:write", resource == Warden::Policies::"all");
permit(principal is Warden::Agent, action == Warden::Action::"mcp:call_tool", resource is Warden::Tool) when { !resource.destructive && resource.sensitivity <= principal.clearance && (!resource.hasTag("pii") || principal.status == "active") };`;
    const result = engine.check([{ name: "all.cedar", text }]);
    expect(result.ok ? [] : result.diagnostics).toEqual([]);
  });
});

describe('policy engine: templates and links', () => {
  const template = '@id("crm-access")\npermit(principal == ?principal, action == Warden::Action::"mcp:call_tool", resource in ?resource);';
  const files = [{ name: 't.cedar', text: template }];
  const link = { id: 'billing-crm', templateId: 'crm-access', principal: { type: 'Warden::Agent', id: 'billing-bot' }, resource: { type: 'Warden::Server', id: 'crm' } };

  it('allows exactly the linked principal and resource and names the link', () => {
    const set = engine.compile(1, files, [link]);
    expect(engine.evaluate(set, request, entities)).toEqual({ decision: 'allow', policies: ['billing-crm'], errors: [] });
    expect(set.policies.get('billing-crm')).toBe(template);
    const other: CedarEntity = { ...entities[0]!, uid: { type: 'Warden::Agent', id: 'other-bot' } };
    expect(engine.evaluate(set, { ...request, principal: other.uid }, [...entities, other]).decision).toBe('deny');
    const tool: CedarEntity = { uid: { type: 'Warden::Tool', id: 'gh.search' }, attrs: { name: 'search', readOnly: true, destructive: false, sensitivity: 1 }, parents: [{ type: 'Warden::Server', id: 'github' }] };
    expect(engine.evaluate(set, { ...request, resource: tool.uid }, [...entities, tool, { uid: { type: 'Warden::Server', id: 'github' }, attrs: { name: 'github' }, parents: [] }]).decision).toBe('deny');
    expect(engine.evaluate(engine.compile(1, files), request, entities).decision).toBe('deny');
  });

  it('refuses links to unknown templates, with wrong or unknown entity types, missing slots or duplicate ids', () => {
    const refused = (links: object[]) => {
      const result = engine.check(files, links as never);
      return result.ok ? [] : result.diagnostics.map((d) => `${d.file} ${d.policyId ?? ''}: ${d.message}`);
    };
    expect(refused([{ ...link, templateId: 'nope' }]).join()).toMatch(/no template "nope"/);
    expect(refused([{ ...link, principal: { type: 'Warden::Key', id: 'k' } }])).toHaveLength(1);
    expect(refused([{ ...link, principal: { type: 'Warden::Robot', id: 'r' } }]).length).toBeGreaterThan(0);
    expect(refused([{ id: 'x', templateId: 'crm-access', principal: link.principal }]).join()).toMatch(/needs a resource/);
    expect(refused([link, link]).join()).toMatch(/duplicate policy id "billing-crm"/);
    expect(refused([{ ...link, id: 'crm-access' }]).join()).toMatch(/duplicate/);
    expect(refused([link])).toEqual([]);
    expect(() => engine.compile(1, files, [{ ...link, templateId: 'nope' }])).toThrow(/error/);
  });
});
