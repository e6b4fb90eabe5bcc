import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initWithAdmin, login, totpCode, type FirstAdmin } from './admin.js';
import { runWarden, startWardenProcess, type ServerProcess } from './process.js';

const policies = `
@id("readers-call-read-only-tools")
permit (principal in Warden::Role::"reader", action == Warden::Action::"mcp:call_tool", resource)
when { resource.readOnly };

@id("no-destructive-tools-when-risky")
forbid (principal, action == Warden::Action::"mcp:call_tool", resource)
when { resource.destructive && context.riskScore > 50 };
`;

describe('policy (end to end)', () => {
  let server: ServerProcess;
  let env: Record<string, string>;
  let headers: Record<string, string>;
  let dir: string;
  let adminSecret: FirstAdmin;

  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), 'warden-policy-'));
    const admin = await initWithAdmin(join(root, 'data'));
    adminSecret = admin;
    server = await startWardenProcess(['--data-dir', join(root, 'data'), '--listen', '127.0.0.1:0']);
    const token = await login(server.url, admin);
    env = { WARDEN_TOKEN: token, WARDEN_ADDR: server.url };
    headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    dir = join(root, 'policies');
    mkdirSync(dir);
    writeFileSync(join(dir, 'tools.cedar'), policies);
    expect((await runWarden(['agents', 'create', 'billing-bot', '--owner', 'payments', '--role', 'reader'], { env })).code).toBe(0);
  });
  afterAll(async () => {
    await server?.stop();
  });

  const tool = (id: string, readOnly: boolean, destructive: boolean) => ({
    uid: { type: 'Warden::Tool', id },
    attrs: { name: id, readOnly, destructive, sensitivity: 0 },
    parents: [],
  });
  const context = { hour: 12, weekday: 1, sourceIp: '127.0.0.1', riskScore: 0, findings: { categories: [], highestScore: 0 } };
  const authorize = async (resource: string, entities: unknown[]) =>
    (await (
      await fetch(`${server.url}/v1/authorize`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          principal: { type: 'Warden::Agent', id: 'billing-bot' },
          action: { type: 'Warden::Action', id: 'mcp:call_tool' },
          resource: { type: 'Warden::Tool', id: resource },
          context,
          entities,
        }),
      })
    ).json()) as { decision: string; decisionId: string; policies: string[]; policySetVersion: number };

  it('denies by default before any policy is applied', async () => {
    expect(await authorize('github__get_issue', [tool('github__get_issue', true, false)])).toMatchObject({ decision: 'deny' });
  });

  it('applies a set from the CLI and decides with it; every decision is audited with its policies and version', async () => {
    const applied = await runWarden(['policies', 'apply', dir, '--json'], { env });
    expect(applied.code, applied.stderr).toBe(0);
    expect(JSON.parse(applied.stdout)).toMatchObject({ version: 1 });

    const allowed = await authorize('github__get_issue', [tool('github__get_issue', true, false)]);
    expect(allowed).toMatchObject({ decision: 'allow', policies: ['readers-call-read-only-tools'], policySetVersion: 1 });
    const denied = await authorize('github__delete_repo', [tool('github__delete_repo', false, true)]);
    expect(denied).toMatchObject({ decision: 'deny', policySetVersion: 1 });

    const { entries } = (await (await fetch(`${server.url}/v1/audit/entries?start=0&limit=1000`, { headers })).json()) as {
      entries: { body: string }[];
    };
    const decisions = entries
      .map((e) => JSON.parse(e.body) as { decision?: { id: string; effect: string; policy_ids: string[]; policy_set_version?: string } })
      .filter((b) => b.decision);
    expect(decisions.find((b) => b.decision!.id === allowed.decisionId)?.decision).toMatchObject({
      effect: 'allow',
      policy_ids: ['readers-call-read-only-tools'],
      policy_set_version: '1',
    });
  });

  it('refuses an invalid set with file, line and column, and keeps the active version', async () => {
    const bad = join(dir, '..', 'bad');
    mkdirSync(bad);
    writeFileSync(join(bad, 'broken.cedar'), 'permit (principal, action, resource)\nwhen { resource.nonexistent };\n');
    const run = await runWarden(['policies', 'apply', bad], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/broken\.cedar:\d+:\d+/);
    const list = await runWarden(['policies', 'list', '--json'], { env });
    expect(JSON.parse(list.stdout)).toMatchObject({ version: 1 });
  });

  it('authorizes the admin API with the built-in policies: an auditor cannot create an agent, a pdp token may only decide', async () => {
    const builtin = await runWarden(['policies', 'list', '--builtin', '--json']);
    expect(builtin.code, builtin.stderr).toBe(0);
    const { version, files } = JSON.parse(builtin.stdout) as { version: string; files: { name: string; text: string }[] };
    expect(version).toMatch(/^builtin-\d+$/);
    expect(files.map((f) => f.text).join('\n')).toContain('@id("builtin.admin-all")');

    const created = await fetch(`${server.url}/v1/admins`, { method: 'POST', headers, body: JSON.stringify({ username: 'ann', role: 'auditor' }) });
    expect(created.status, await created.clone().text()).toBe(201);
    const auditor = (await created.json()) as FirstAdmin;
    const auditorEnv = { WARDEN_TOKEN: await login(server.url, auditor), WARDEN_ADDR: server.url };
    const refused = await runWarden(['agents', 'create', 'sneaky-bot', '--owner', 'x'], { env: auditorEnv });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('WARDEN_FORBIDDEN');
    expect((await runWarden(['agents', 'list'], { env: auditorEnv })).code).toBe(0);

    const pdp = await fetch(`${server.url}/v1/admin-tokens`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ role: 'pdp', ttl: '1h', totp: totpCode(adminSecret, 1) }),
    });
    expect(pdp.status, await pdp.clone().text()).toBe(201);
    const pdpHeaders = { authorization: `Bearer ${((await pdp.json()) as { token: string }).token}`, 'content-type': 'application/json' };
    const decided = await fetch(`${server.url}/v1/authorize`, {
      method: 'POST',
      headers: pdpHeaders,
      body: JSON.stringify({
        principal: { type: 'Warden::Agent', id: 'billing-bot' },
        action: { type: 'Warden::Action', id: 'mcp:call_tool' },
        resource: { type: 'Warden::Tool', id: 'github__get_issue' },
        context,
        entities: [tool('github__get_issue', true, false)],
      }),
    });
    expect(decided.status).toBe(200);
    expect((await fetch(`${server.url}/v1/agents`, { headers: pdpHeaders })).status).toBe(403);
  });
});
