import { generateKeyPairSync } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntryBody, AuditEvent } from '../audit/index.js';
import { isWardenError } from '../errors/index.js';
import type { Agent, AgentLookup } from '../identity/types.js';
import { screenSchema } from '../config/schema.js';
import { createLogger } from '../log/index.js';
import { createContentScreen } from '../screen/content.js';
import { createScreener } from '../screen/screener.js';
import { agentEntityProvider, createAuthorizer, createPolicyEngine, type Authorizer } from '../policy/index.js';
import { openTestAuditLog, type TestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { createApprovals, type Approvals } from './approvals.js';
import { createCatalog, type Catalog } from './catalog.js';
import { createToolPins, type ToolPins } from './tool-pins.js';
import { createUpstreamRegistry } from './upstreams.js';
import { createPipeline, type Pipeline } from './pipeline.js';
import { createRateLimiter } from './rate-limiter.js';
import type { Upstream } from './types.js';
import { createUpstreamConnection } from './upstream-connection.js';

const fixture = fileURLToPath(new URL('../../test/fixtures/mcp-upstream.mjs', import.meta.url));
const sqlite = storeBackends.find((b) => b.name === 'sqlite')!;
const logger = createLogger({ level: 'silent' });

const upstream = (name: string, extra: Partial<Upstream> = {}): Upstream => ({
  name,
  transport: { kind: 'stdio', command: process.execPath, args: [fixture], env: { UPSTREAM_SECRET: 'secret:gh-token' } },
  timeoutMs: 2000,
  restartBackoffMs: 100,
  isolation: 'shared',
  toolPolicy: 'trust-on-first-use',
  createdAt: 1,
  updatedAt: 1,
  ...extra,
});

const agent = (name: string, roles: string[]): Agent => ({ name, owner: 'o', roles, labels: {}, environment: null, region: null, clearance: 1, status: 'active', requireDpop: false, createdAt: 1, updatedAt: 1 });
const agents = new Map([
  ['reader-bot', agent('reader-bot', ['reader'])],
  ['admin-bot', agent('admin-bot', ['operator'])],
  ['nobody', agent('nobody', [])],
  ['limited-bot', agent('limited-bot', ['operator'])],
  ['rug-bot', agent('rug-bot', ['reader'])],
  ['careful-bot', agent('careful-bot', ['approver'])],
]);
const lookup: AgentLookup = { get: (n) => Promise.resolve(agents.get(n)), onChange: () => () => undefined };

const policies = `
@id("readers-read-only")
permit(principal in Warden::Role::"reader", action == Warden::Action::"mcp:call_tool", resource) when { resource.readOnly };

@id("operators-all")
permit(principal in Warden::Role::"operator", action == Warden::Action::"mcp:call_tool", resource in Warden::Server::"gh");

@id("no-crash-for-readers")
forbid(principal in Warden::Role::"reader", action, resource == Warden::Tool::"gh__crash");

@id("approve-deletes")
@approval("required")
permit(principal in Warden::Role::"approver", action == Warden::Action::"mcp:call_tool", resource == Warden::Tool::"gh__delete_repo");

@id("readers-public-memo")
permit(principal in Warden::Role::"reader", action == Warden::Action::"mcp:read_resource", resource == Warden::Resource::"memo://public");

@id("readers-notes")
permit(principal in Warden::Role::"reader", action == Warden::Action::"mcp:read_resource", resource)
  when { resource.uri like "memo://notes/*" };

@id("operators-prompts")
permit(principal in Warden::Role::"operator", action == Warden::Action::"mcp:get_prompt", resource in Warden::Server::"gh");

@id("env-no-secret-arguments")
forbid(principal, action == Warden::Action::"mcp:call_tool", resource == Warden::Tool::"gh__env")
  when { context.findings.categories.contains("secret") };

@id("echo-no-secrets")
forbid(principal, action == Warden::Action::"mcp:call_tool", resource == Warden::Tool::"gh__echo")
  when { context has arguments && context.arguments.contains({ key: "text", value: "forbidden" }) };
`;

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (isWardenError(err)) return err.code;
    throw err;
  }
  return 'ok';
}

describe('gateway pipeline (real stdio upstream, real authorizer and audit log)', () => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let catalog: Catalog;
  let pipeline: Pipeline;
  let pins: ToolPins;
  let approvals: Approvals;
  let authorizer: Authorizer;
  const revealed: string[] = [];

  beforeAll(async () => {
    opened = await sqlite.openMigrated();
    audit = await openTestAuditLog(opened.store);
    const engine = createPolicyEngine();
    const set = engine.compile(1, [{ name: 'gw.cedar', text: policies }]);
    authorizer = createAuthorizer({ engine, active: () => set, providers: [agentEntityProvider(lookup)], audit: audit.log, cacheSize: 0 });
    const resolve = (value: string) => {
      revealed.push(value);
      return Promise.resolve(value === 'secret:gh-token' ? 'ghp_injected_value' : value);
    };
    pins = createToolPins({ db: opened.store.db, audit: audit.log });
    const registry = createUpstreamRegistry({ db: opened.store.db, audit: audit.log });
    for (const u of [upstream('gh'), upstream('slowpoke', { timeoutMs: 300 }), upstream('careful', { toolPolicy: 'approve-first' }), upstream('iso', { isolation: 'per-agent' })]) {
      await registry.add({ name: u.name, transport: u.transport, timeoutMs: u.timeoutMs, restartBackoffMs: u.restartBackoffMs, toolPolicy: u.toolPolicy, isolation: u.isolation }, { actor: { type: 'admin', id: 'alice' } });
    }
    catalog = createCatalog({
      upstreams: registry,
      pins,
      connect: (u) => createUpstreamConnection(u, { resolve, logger }),
      logger,
    });
    approvals = createApprovals({ db: opened.store.db, audit: audit.log, waitMs: 300, ttlMs: 60_000, pollMs: 20 });
    pipeline = createPipeline({
      catalog,
      approvals: { store: approvals, needsApproval: (d) => d.policies.some((id) => /@approval\("required"\)/.test(set.policies.get(id) ?? '')) },
      authorize: (r, o) => authorizer.authorize(r, o),
      audit: audit.log,
      limiter: createRateLimiter({ perAgentTool: { rate: 0.001, burst: 8 } }),
    });
  });
  afterAll(async () => {
    await catalog?.close();
    await audit?.log.close();
    await opened?.cleanup();
  });

  it('lists exactly the tools each agent may call, decided by the same function as calls', async () => {
    const reader = { agent: 'reader-bot' };
    const listed = (await pipeline.listTools(reader)).map((t) => t.name).sort();
    const tools = ['echo', 'env', 'headers', 'inbox', 'mutate', 'pid', 'slow'];
    expect(listed).toEqual([...tools.map((t) => `gh__${t}`), ...['crash', ...tools].map((t) => `iso__${t}`), ...['crash', ...tools].map((t) => `slowpoke__${t}`)]);
    for (const who of ['reader-bot', 'admin-bot', 'nobody']) {
      const visible = new Set((await pipeline.listTools({ agent: who })).map((t) => t.name));
      for (const tool of await catalog.tools()) {
        if (['__crash', '__slow', '__mutate'].some((suffix) => tool.name.endsWith(suffix))) continue; // side effects; covered below
        const outcome = await code(pipeline.callTool({ agent: who }, tool.name, tool.name.endsWith('echo') ? { text: 'x' } : tool.name.endsWith('delete_repo') ? { repo: 'r' } : {}));
        expect(outcome === 'ok', `${who} ${tool.name}`).toBe(visible.has(tool.name));
        if (outcome !== 'ok') expect(outcome).toBe('WARDEN_TOOL_NOT_FOUND');
      }
    }
  });

  it('forwards a permitted call, injects secrets upstream, audits the result with a receipt and an argument digest', async () => {
    const { result, auditIndex } = await pipeline.callTool({ agent: 'reader-bot' }, 'gh__echo', { text: 'hello' });
    expect(result.content).toEqual([{ type: 'text', text: 'echo: hello' }]);
    const entry = JSON.parse((await audit.log.entries(auditIndex, 1))[0]!.body!) as AuditEntryBody;
    expect(entry).toMatchObject({ action: 'mcp.call_tool', actor: { id: 'reader-bot' }, resource: { id: 'gh__echo' }, status: 'success', decision: { effect: 'allow', policy_ids: ['readers-read-only'] } });
    expect(JSON.stringify(entry)).not.toContain('hello');
    expect(entry.hashed?.["arguments"]).toMatch(/^hmac-sha256:/);
    const env = await pipeline.callTool({ agent: 'reader-bot' }, 'gh__env', {});
    expect(env.result.content).toEqual([{ type: 'text', text: 'ghp_injected_value' }]);
    expect(revealed).toContain('secret:gh-token');
  });

  it('passes prompts and resources through, listed by the same decision that allows getting and reading them', async () => {
    const reader = { agent: 'reader-bot' };
    const operator = { agent: 'admin-bot' };
    // memo://public and memo://notes/{id} are offered by every upstream here; the first by name serves them.
    expect((await pipeline.listResources(reader)).map((r) => r.uri)).toEqual(['memo://public']);
    expect((await pipeline.listResources(operator)).map((r) => r.uri)).toEqual([]);
    expect((await pipeline.listResourceTemplates(reader)).map((t) => t.uriTemplate)).toEqual(['memo://notes/{id}']);
    const read = await pipeline.readResource(reader, 'memo://public');
    expect(read.result.contents).toEqual([{ uri: 'memo://public', text: 'the public memo' }]);
    expect((await pipeline.readResource(reader, 'memo://notes/42')).result.contents).toEqual([{ uri: 'memo://notes/42', text: 'note 42' }]);
    const entry = JSON.parse((await audit.log.entries(read.auditIndex, 1))[0]!.body!) as AuditEntryBody;
    expect(entry).toMatchObject({ action: 'mcp.read_resource', resource: { type: 'resource', id: 'memo://public' }, decision: { policy_ids: ['readers-public-memo'] } });
    for (const uri of ['memo://private', 'memo://nothing', 'file:///etc/passwd']) expect(await code(pipeline.readResource(reader, uri))).toBe('WARDEN_RESOURCE_NOT_FOUND');

    expect((await pipeline.listPrompts(reader)).map((p) => p.name)).toEqual([]);
    expect((await pipeline.listPrompts(operator)).map((p) => p.name)).toEqual(['gh__greet']);
    const prompt = await pipeline.getPrompt(operator, 'gh__greet', { name: 'Ada' });
    expect(prompt.result.messages).toEqual([{ role: 'user', content: { type: 'text', text: 'Say hello to Ada' } }]);
    expect(await code(pipeline.getPrompt(reader, 'gh__greet', { name: 'Ada' }))).toBe('WARDEN_PROMPT_NOT_FOUND');
    expect(await code(pipeline.getPrompt(operator, 'slowpoke__greet', { name: 'Ada' }))).toBe('WARDEN_PROMPT_NOT_FOUND');
    expect(await code(pipeline.getPrompt(operator, 'gh__nope', {}))).toBe('WARDEN_PROMPT_NOT_FOUND');
  });

  it('gives each agent its own upstream process under per-agent isolation, and shares one otherwise', async () => {
    const pid = async (agent: string, tool: string) => JSON.parse(((await pipeline.callTool({ agent }, tool, {})).result.content[0] as { text: string }).text) as { pid: number; calls: number };
    const [a1, a2, b1] = [await pid('reader-bot', 'iso__pid'), await pid('reader-bot', 'iso__pid'), await pid('rug-bot', 'iso__pid')];
    expect(a2.pid).toBe(a1.pid);
    expect(a2.calls).toBe(a1.calls + 1);
    expect(b1.pid).not.toBe(a1.pid);
    const [s1, s2] = [await pid('reader-bot', 'gh__pid'), await pid('rug-bot', 'gh__pid')];
    expect(s2.pid).toBe(s1.pid);
  });

  it('screens both ways: findings reach the policy, secrets are redacted before forwarding, PII can require approval', async () => {
    const screener = createScreener({ maxBytes: 64 * 1024 });
    const defaults = screenSchema.parse({}).actions;
    const screened = createPipeline({
      catalog,
      screen: createContentScreen({ screener, actions: { ...defaults, input: { ...defaults.input, pii: 'approve' } } }),
      approvals: { store: approvals, needsApproval: () => false },
      authorize: (r, o) => authorizer.authorize(r, o),
      audit: audit.log,
      limiter: createRateLimiter({}),
    });
    const key = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const reader = { agent: 'reader-bot' };
    const echoed = await screened.callTool(reader, 'gh__echo', { text: `use ${key}` });
    expect((echoed.result.content[0] as { text: string }).text).toMatch(/^echo: use \[REDACTED:[a-z_]+\]\n?$/);
    const entry = JSON.parse((await audit.log.entries(echoed.auditIndex, 1))[0]!.body!) as AuditEntryBody;
    expect(entry.details).toMatchObject({ findings: [{ category: 'secret', path: 'arguments.text', start: 4 }] });
    expect(JSON.stringify(entry)).not.toContain('PRIVATE KEY');
    // The input findings are in the policy context: this policy denies gh__env when the arguments carry a secret.
    expect(await code(screened.callTool(reader, 'gh__env', { note: key }))).toBe('WARDEN_TOOL_NOT_FOUND');
    expect(await code(screened.callTool(reader, 'gh__env', { note: 'nothing here' }))).toBe('ok');
    // PII in the arguments hands the call to a human.
    expect(await code(screened.callTool(reader, 'gh__echo', { text: 'mail dana.whitfield@example.org' }))).toBe('WARDEN_APPROVAL_PENDING');
  });

  it('hides forbidden, unknown and argument-forbidden calls behind one error', async () => {
    expect(await code(pipeline.callTool({ agent: 'reader-bot' }, 'gh__delete_repo', { repo: 'x' }))).toBe('WARDEN_TOOL_NOT_FOUND');
    expect(await code(pipeline.callTool({ agent: 'reader-bot' }, 'gh__nope', {}))).toBe('WARDEN_TOOL_NOT_FOUND');
    expect(await code(pipeline.callTool({ agent: 'reader-bot' }, 'nope', {}))).toBe('WARDEN_TOOL_NOT_FOUND');
    expect(await code(pipeline.callTool({ agent: 'ghost' }, 'gh__echo', { text: 'x' }))).toBe('WARDEN_TOOL_NOT_FOUND');
    expect(await code(pipeline.callTool({ agent: 'admin-bot' }, 'gh__echo', { text: 'forbidden' }))).toBe('WARDEN_TOOL_NOT_FOUND');
    expect(await code(pipeline.callTool({ agent: 'admin-bot' }, 'gh__delete_repo', { repo: 'x' }))).toBe('ok');
  });

  it('turns an upstream timeout into an error, and a crash into an error followed by a restart', async () => {
    expect(await code(pipeline.callTool({ agent: 'reader-bot' }, 'slowpoke__slow', { ms: 2000 }))).toBe('WARDEN_UPSTREAM_TIMEOUT');
    // The crash tool is visible to readers on slowpoke (the forbid names gh__crash only).
    await pipeline.callTool({ agent: 'reader-bot' }, 'slowpoke__crash', {});
    await new Promise((r) => setTimeout(r, 200));
    const after = await code(pipeline.callTool({ agent: 'reader-bot' }, 'slowpoke__env', {}));
    expect(['WARDEN_UPSTREAM_UNAVAILABLE', 'ok']).toContain(after);
    await new Promise((r) => setTimeout(r, 400));
    expect(await code(pipeline.callTool({ agent: 'reader-bot' }, 'slowpoke__echo', { text: 'back' }))).toBe('ok');
  });

  it('fails closed when the audit log cannot record: a read-only call may be forwarded but its result is withheld; any other call is not forwarded', async () => {
    // The audit log at the edge: the real one, unless `failing` says this append is refused (a full disk).
    let failing: (event: AuditEvent) => boolean = () => false;
    const flaky = { append: (event: AuditEvent) => (failing(event) ? Promise.reject(new Error('disk full')) : audit.log.append(event)) };
    const engine = createPolicyEngine();
    const set = engine.compile(1, [{ name: 'gw.cedar', text: policies }]);
    const flakyAuthorizer = createAuthorizer({ engine, active: () => set, providers: [agentEntityProvider(lookup)], audit: flaky, cacheSize: 0 });
    const guarded = createPipeline({ catalog, authorize: (r, o) => flakyAuthorizer.authorize(r, o), audit: flaky, limiter: createRateLimiter({}) });
    const operator = { agent: 'admin-bot' };
    // How many tool calls the shared gh process has answered (the pid call included).
    const answered = async () => (JSON.parse(((await guarded.callTool(operator, 'gh__pid', {})).result.content[0] as { text: string }).text) as { calls: number }).calls;
    const decisions = (event: AuditEvent) => event.action === 'mcp:call_tool';
    const results = (event: AuditEvent) => event.action === 'mcp.call_tool';

    // Normally: a read-only call's decision entry is durable, before its result entry, which names it.
    const { auditIndex } = await guarded.callTool(operator, 'gh__echo', { text: 'x' });
    const [resultEntry] = await audit.log.entries(auditIndex, 1);
    const result = JSON.parse(resultEntry!.body!) as AuditEntryBody;
    const earlier = (await audit.log.entries(0, auditIndex)).map((e) => JSON.parse(e.body!) as AuditEntryBody);
    expect(earlier.some((e) => e.action === 'mcp:call_tool' && e.decision?.id === result.decision?.id && e.decision?.effect === 'allow')).toBe(true);

    // A destructive tool whose decision cannot be recorded is never forwarded.
    const before = await answered();
    failing = decisions;
    expect(await code(guarded.callTool(operator, 'gh__delete_repo', { repo: 'prod' }))).toBe('WARDEN_AUDIT_UNAVAILABLE');
    failing = () => false;
    expect(await answered()).toBe(before + 1);

    // A read-only tool is forwarded meanwhile, but without its decision entry nothing comes back.
    failing = decisions;
    const withheld = await guarded.callTool(operator, 'gh__echo', { text: 'no decision entry' }).then(
      () => 'released',
      (err: unknown) => (isWardenError(err) ? `${err.code} ${JSON.stringify(err.details ?? {})}` : 'other'),
    );
    failing = () => false;
    expect(withheld).toBe('WARDEN_AUDIT_UNAVAILABLE {}');
    expect(await answered()).toBe(before + 3);
    // Without its result entry neither.
    failing = results;
    expect(await code(guarded.callTool(operator, 'gh__echo', { text: 'no result entry' }))).toBe('WARDEN_AUDIT_UNAVAILABLE');
    expect(await code(guarded.callTool(operator, 'gh__delete_repo', { repo: 'prod' }))).toBe('WARDEN_AUDIT_UNAVAILABLE');
    failing = () => false;
    // A denied read-only call whose decision cannot be recorded is refused as unrecordable, and not forwarded.
    const reader = { agent: 'reader-bot' };
    const beforeDenied = await answered();
    failing = decisions;
    expect(await code(guarded.callTool(reader, 'gh__crash', {}))).toBe('WARDEN_AUDIT_UNAVAILABLE');
    failing = () => false;
    expect(await answered()).toBe(beforeDenied + 1);

    // A listing records one decision per tool; if they cannot be recorded, nothing is listed.
    const size = await audit.log.size();
    const listed = await guarded.listTools(reader);
    expect(await audit.log.size()).toBe(size + (await catalog.tools()).length);
    expect(listed.length).toBeGreaterThan(0);
    failing = decisions;
    expect(await code(guarded.listTools(reader))).toBe('WARDEN_AUDIT_UNAVAILABLE');
    failing = () => false;
  });

  it('rate-limits per agent and tool, and records the refusal', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 10; i++) outcomes.push(await code(pipeline.callTool({ agent: 'limited-bot' }, 'gh__env', {})));
    expect(outcomes).toEqual([...Array<string>(8).fill('ok'), 'WARDEN_RATE_LIMITED', 'WARDEN_RATE_LIMITED']);
    const entries = await audit.log.entries(0, await audit.log.size());
    expect(entries.filter((e) => e.body?.includes('"mcp.rate_limited"')).length).toBeGreaterThanOrEqual(2);
  });

  it('hides tools of an approve-first upstream until an admin approves them', async () => {
    expect((await pipeline.listTools({ agent: 'reader-bot' })).some((t) => t.name.startsWith('careful__'))).toBe(false);
    expect(await code(pipeline.callTool({ agent: 'reader-bot' }, 'careful__echo', { text: 'x' }))).toBe('WARDEN_TOOL_NOT_FOUND');
    expect((await pins.list({ upstream: 'careful', status: 'pending' })).map((p) => p.tool)).toContain('echo');
    await pins.approve('careful', 'echo', { actor: { type: 'admin', id: 'alice' } });
    expect(await code(pipeline.callTool({ agent: 'reader-bot' }, 'careful__echo', { text: 'x' }))).toBe('ok');
  });

  it('blocks and hides a tool whose definition changes (rug pull) until it is approved again', async () => {
    expect(await code(pipeline.callTool({ agent: 'rug-bot' }, 'gh__echo', { text: 'before' }))).toBe('ok');
    await pipeline.callTool({ agent: 'rug-bot' }, 'gh__mutate', {});
    // The upstream announced tools/list_changed; the next listing sees the new definition.
    await new Promise((r) => setTimeout(r, 100));
    expect((await pipeline.listTools({ agent: 'rug-bot' })).map((t) => t.name)).not.toContain('gh__echo');
    expect(await code(pipeline.callTool({ agent: 'rug-bot' }, 'gh__echo', { text: 'after' }))).toBe('WARDEN_TOOL_NOT_FOUND');
    const pin = await pins.get('gh', 'echo');
    expect(pin.status).toBe('blocked');
    expect(pin.definition.description).toContain('evil.example');
    await pins.approve('gh', 'echo', { actor: { type: 'admin', id: 'alice' } }, pin.hash);
    expect(await code(pipeline.callTool({ agent: 'rug-bot' }, 'gh__echo', { text: 'after' }))).toBe('ok');
    const entries = await audit.log.entries(0, await audit.log.size());
    expect(entries.some((e) => e.body?.includes('"mcp.tool.changed"'))).toBe(true);
  });

  it('holds a call that needs approval; an approval is bound to agent, tool and arguments, single-use, and a denial refuses', async () => {
    const careful = { agent: 'careful-bot' };
    const admin = { actor: { type: 'admin' as const, id: 'alice' } };
    const held = async (args: Record<string, unknown>) => {
      try {
        await pipeline.callTool(careful, 'gh__delete_repo', args);
        return { code: 'ok', id: '' };
      } catch (err) {
        if (!isWardenError(err)) throw err;
        return { code: err.code, id: typeof err.details?.approvalId === 'string' ? err.details.approvalId : '' };
      }
    };
    const first = await held({ repo: 'prod' });
    expect(first.code).toBe('WARDEN_APPROVAL_PENDING');
    expect(first.id).toMatch(/^apr_/);
    expect((await held({ repo: 'prod' })).id).toBe(first.id);
    expect((await approvals.list({ status: 'pending' })).map((a) => a.id)).toContain(first.id);
    await approvals.decide(first.id, 'approved', admin);
    await expect(approvals.decide(first.id, 'denied', admin)).rejects.toMatchObject({ code: 'WARDEN_CONFLICT' });
    // Other arguments do not match the approval.
    expect((await held({ repo: 'other' })).code).toBe('WARDEN_APPROVAL_PENDING');
    expect((await held({ repo: 'prod' })).code).toBe('ok');
    // Single use: the identical call needs a new approval.
    const again = await held({ repo: 'prod' });
    expect(again.code).toBe('WARDEN_APPROVAL_PENDING');
    expect(again.id).not.toBe(first.id);
    await approvals.decide(again.id, 'denied', admin);
    expect((await held({ repo: 'prod' })).code).toBe('WARDEN_APPROVAL_DENIED');
    // A call approved while it is held proceeds.
    const known = new Set((await approvals.list()).map((a) => a.id));
    const waiting = approvals.await({ agent: 'careful-bot', tool: 'gh__delete_repo', args: { repo: 'live' } });
    await new Promise((r) => setTimeout(r, 50));
    const live = (await approvals.list({ status: 'pending' })).find((a) => !known.has(a.id));
    await approvals.decide(live!.id, 'approved', admin);
    await expect(waiting).resolves.toMatchObject({ status: 'used' });
  });

  it('refuses to decide or use an expired approval', async () => {
    let clock = 1_000_000;
    const expiring = createApprovals({ db: opened.store.db, audit: audit.log, waitMs: 0, ttlMs: 1000, now: () => clock });
    const call = { agent: 'careful-bot', tool: 'gh__echo', args: { text: 'x' } };
    const id = await expiring.await(call).then(
      () => '',
      (err: unknown) => (isWardenError(err) ? String(err.details?.approvalId) : ''),
    );
    expect(id).toMatch(/^apr_/);
    clock += 1001;
    await expect(expiring.decide(id, 'approved', { actor: { type: 'admin', id: 'alice' } })).rejects.toMatchObject({ code: 'WARDEN_CONFLICT' });
    await expect(expiring.await(call)).rejects.toMatchObject({ code: 'WARDEN_APPROVAL_PENDING' });
  });
});
