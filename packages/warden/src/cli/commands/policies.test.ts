import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { policyRoutes } from '../../api/policies.js';
import { createAgentDirectory } from '../../identity/agents.js';
import { createLogger } from '../../log/index.js';
import { createAuthorizer } from '../../policy/authorizer.js';
import { createPolicyEngine } from '../../policy/engine.js';
import { agentEntityProvider } from '../../policy/entities.js';
import { createPolicyStore } from '../../policy/policy-store.js';
import { openTestAuditLog, type TestAuditLog } from '../../testing/audit-log.js';
import { bearerRequireAdmin, createCliRunner, type CliRunner } from '../../testing/cli.js';
import { storeBackends, type OpenedTestStore } from '../../testing/stores.js';
import { agentsCommand } from './agents.js';
import { policiesCommand } from './policies.js';

const sqlite = storeBackends.find((b) => b.name === 'sqlite')!;
const requireAdmin = bearerRequireAdmin({ 'admin-token': 'admin', 'auditor-token': 'auditor' });

const kms = `@id("billing-decrypt")
permit (principal in Warden::Role::"billing", action == Warden::Action::"kms:decrypt", resource == Warden::Key::"payments");

@id("no-risky")
forbid (principal, action, resource) when { context.riskScore > 80 };
`;
const cases = `
defaults:
  entities:
    - uid: Warden::Agent::"billing-bot"
      attrs: { owner: team-billing, clearance: 2, riskScore: 0, status: active }
      parents: [ Warden::Role::"billing" ]
cases:
  - name: billing decrypts
    principal: Warden::Agent::"billing-bot"
    action: kms:decrypt
    resource: Warden::Key::"payments"
    expect: allow
    because: billing-decrypt
  - name: billing encrypts
    principal: Warden::Agent::"billing-bot"
    action: kms:encrypt
    resource: Warden::Key::"payments"
    expect: allow
`;

describe('warden policies (CLI against a listening server)', () => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let app: FastifyInstance;
  let url: string;
  let home: string;
  /** Runs `warden policies …` (or, with `group: 'agents'`, `warden agents …`) in-process the way runCli does; resolves to exit code and output. */
  let run: CliRunner;

  beforeAll(async () => {
    opened = await sqlite.openMigrated();
    audit = await openTestAuditLog(opened.store);
    const engine = createPolicyEngine();
    const directory = createAgentDirectory({ db: opened.store.db, audit: audit.log });
    await directory.create({ name: 'billing-bot', owner: 'team-billing', roles: ['billing'] }, { actor: { type: 'system', id: 'test' } });
    const store = createPolicyStore({ db: opened.store.db, engine, audit: audit.log });
    const authorizer = createAuthorizer({ engine, active: () => store.active(), providers: [agentEntityProvider(directory)], audit: audit.log });
    app = await buildApp({
      logger: createLogger({ level: 'silent' }),
      bodyLimit: 1_048_576,
      routes: [policyRoutes({ store, authorizer, requireAdmin })],
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    home = await mkdtemp(join(tmpdir(), 'warden-cli-policies-'));
    run = createCliRunner({
      register: (program, ctx) => {
        policiesCommand(program, ctx);
        agentsCommand(program, ctx);
      },
      group: 'policies',
      url,
      home,
      token: 'admin-token',
    });
    await mkdir(join(home, 'good'));
    await writeFile(join(home, 'good', 'kms.cedar'), kms);
    await mkdir(join(home, 'bad'));
    await writeFile(join(home, 'bad', 'kms.cedar'), kms);
    await writeFile(join(home, 'bad', 'typo.cedar'), 'permit (principal, action, resource)\nwhen { resource.nope == 1 };\n');
    await writeFile(join(home, 'cases.yaml'), cases);
    await mkdir(join(home, 'stricter'));
    await writeFile(join(home, 'stricter', 'kms.cedar'), kms.slice(kms.indexOf('@id("no-risky")')));
  });
  afterAll(async () => {
    await app.close();
    await audit.log.close();
    await opened.cleanup();
    await rm(home, { recursive: true, force: true });
  });

  it('runs policy tests locally with --dir: a wrong expectation exits 1 and names the failing case', async () => {
    const result = await run(['test', join(home, 'cases.yaml'), '--dir', join(home, 'good')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/PASS\s+1\s+billing decrypts\s+allow by billing-decrypt/);
    expect(result.stdout).toMatch(/FAIL\s+2\s+billing encrypts\s+expected allow, got deny/);
    expect(result.stdout).toContain('1 passed, 1 failed');
    expect(result.stderr).toContain('1 of 2 policy test case(s) failed');
    const bad = await run(['test', join(home, 'cases.yaml'), '--dir', join(home, 'bad')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^typo\.cedar:2:\d+: /m);
  });

  it('refuses an invalid directory with file:line:column diagnostics (exit 2), then applies, lists and shows', async () => {
    const bad = await run(['apply', join(home, 'bad')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^typo\.cedar:2:\d+: .+/m);
    expect(bad.stderr).toContain('(WARDEN_POLICY_INVALID)');
    expect((await run(['list'])).stderr).toContain('(WARDEN_NOT_FOUND)');

    const applied = await run(['apply', join(home, 'good'), '--comment', 'billing keys']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('Applied 1 file(s) as policy set version 1.');
    const listed = await run(['list', '--json'], { token: 'auditor-token' });
    expect(JSON.parse(listed.stdout)).toEqual({ version: 1, policies: ['billing-decrypt', 'no-risky'], templates: [], links: [] });
    expect((await run(['show', '1'])).stdout).toContain('--- kms.cedar');
    expect((await run(['history'])).stdout).toMatch(/\*\s+1 .*cli-user\s+2 policies\s+billing keys/);
    expect((await run(['apply', join(home, 'good')], { token: 'auditor-token' })).stderr).toContain('(WARDEN_FORBIDDEN)');
  });

  it('tests against the active set from the server, explains decisions and rolls back', async () => {
    const fromServer = await run(['test', join(home, 'cases.yaml'), '--json']);
    expect(fromServer.code).toBe(1);
    expect(JSON.parse(fromServer.stdout)).toMatchObject({ source: 'policy set version 1', passed: 1, failed: 1 });

    const allowed = await run(['explain', '--agent', 'billing-bot', '--action', 'kms:decrypt', '--resource', 'Warden::Key::"payments"']);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stdout).toContain('Decision: ALLOW');
    expect(allowed.stdout).toContain('billing-decrypt:');
    expect(allowed.stdout).toContain('permit (principal in Warden::Role::"billing"');
    const risky = await run(['explain', '--agent', 'billing-bot', '--action', 'kms:decrypt', '--resource', 'Warden::Key::"payments"', '--context', '{"riskScore":95}', '--json']);
    expect(JSON.parse(risky.stdout)).toMatchObject({ decision: 'deny', policies: ['no-risky'], policyTexts: { 'no-risky': expect.stringContaining('forbid') as unknown } });

    await run(['apply', join(home, 'good'), '--comment', 'again']);
    expect((await run(['rollback', '1'])).stdout).toContain('Policy set version 1 is active.');
    expect(JSON.parse((await run(['list', '--json'])).stdout)).toMatchObject({ version: 1 });
  });

  it('apply --dry-run prints the decisions that would flip and applies nothing', async () => {
    await run(['explain', '--agent', 'billing-bot', '--action', 'kms:decrypt', '--resource', 'Warden::Key::"payments"']);
    const before = JSON.parse((await run(['history', '--json'])).stdout) as { versions: { version: number; active: boolean }[] };
    const dry = await run(['apply', '--dry-run', join(home, 'stricter')]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('nothing was applied');
    expect(dry.stdout).toMatch(/allow -> deny\s+\S+\s+Warden::Agent::"billing-bot"\s+kms:decrypt\s+Warden::Key::"payments"\s+billing-decrypt\s+-/);
    expect(dry.stdout).toMatch(/[1-9]\d* allow -> deny, 0 deny -> allow/);
    const json = JSON.parse((await run(['apply', '--dry-run', join(home, 'good'), '--json'])).stdout) as { replayed: number; flips: { allowToDeny: unknown[] } };
    expect(json.replayed).toBeGreaterThan(0);
    expect(json.flips.allowToDeny).toEqual([]);
    expect((await run(['apply', '--dry-run', join(home, 'bad')])).code).toBe(2);
    expect(JSON.parse((await run(['history', '--json'])).stdout)).toEqual(before);
    expect(JSON.parse((await run(['list', '--json'])).stdout)).toMatchObject({ version: 1 });
  });

  it('agents permissions NAME prints the access review', async () => {
    const result = await run(['permissions', 'billing-bot'], { token: 'auditor-token', group: 'agents' });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('billing-bot under policy set version 1');
    expect(result.stdout).toMatch(/conditional\s+kms:decrypt\s+Warden::Key::"payments"\s+billing-decrypt/);
    expect((await run(['permissions', 'billing-bot', '--recent', 'x'], { token: 'auditor-token', group: 'agents' })).stderr).toContain('(WARDEN_USAGE)');
  });

  it('refuses bad flags with WARDEN_USAGE (exit 2)', async () => {
    for (const argv of [
      ['rollback', 'x'],
      ['show', '0'],
      ['explain', '--agent', 'a', '--action', 'kms:decrypt', '--resource', 'payments'],
      ['explain', '--agent', 'a', '--action', 'kms:decrypt', '--resource', 'Warden::Key::"k"', '--context', '[1]'],
      ['apply', join(home, 'missing')],
      ['test', join(home, 'missing.yaml')],
    ]) {
      const result = await run(argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stderr, argv.join(' ')).toContain('(WARDEN_USAGE)');
    }
    expect((await run(['explain', '--agent', 'a'])).code).toBe(2);
  });
  it('links and unlinks a template; explain names the link; bad links exit 2 and change nothing', async () => {
    const dir = join(home, 'templated');
    await mkdir(dir);
    await writeFile(join(dir, 'kms.cedar'), kms);
    await writeFile(join(dir, 'ledger.cedar'), '@id("ledger-access")\npermit (principal == ?principal, action == Warden::Action::"kms:sign", resource == ?resource);\n');
    expect((await run(['apply', dir])).code).toBe(0);
    const linked = await run(['link', 'ledger-access', '--principal', 'Warden::Agent::"billing-bot"', '--resource', 'Warden::Key::"ledger"', '--id', 'bot-ledger']);
    expect(linked.stdout).toMatch(/Linked ledger-access as bot-ledger: policy set version \d+ is active/);
    const listed = await run(['list']);
    expect(listed.stdout).toContain('Templates:\n  ledger-access');
    expect(listed.stdout).toContain('bot-ledger -> ledger-access principal Warden::Agent::"billing-bot" resource Warden::Key::"ledger"');
    const explained = await run(['explain', '--agent', 'billing-bot', '--action', 'kms:sign', '--resource', 'Warden::Key::"ledger"', '--json']);
    const explanation = JSON.parse(explained.stdout) as { policies: string[]; policyTexts: Record<string, string> };
    expect(explanation.policies).toEqual(['bot-ledger']);
    expect(explanation.policyTexts['bot-ledger']).toContain('?principal');

    const before = JSON.parse((await run(['history', '--json'])).stdout) as unknown;
    const wrongType = await run(['link', 'ledger-access', '--principal', 'Warden::Key::"k"', '--resource', 'Warden::Key::"ledger"']);
    expect(wrongType.code).toBe(2);
    expect(wrongType.stderr).toContain('(WARDEN_POLICY_INVALID)');
    expect((await run(['link', 'nope', '--principal', 'Warden::Agent::"billing-bot"'])).stderr).toContain('no template "nope"');
    expect((await run(['link', 'ledger-access'])).stderr).toContain('(WARDEN_USAGE)');
    expect((await run(['link', 'ledger-access', '--principal', 'billing-bot'])).stderr).toContain('(WARDEN_USAGE)');
    expect(JSON.parse((await run(['history', '--json'])).stdout)).toEqual(before);

    // apply keeps the link; unlink removes it
    expect((await run(['apply', dir])).code).toBe(0);
    expect(JSON.parse((await run(['list', '--json'])).stdout)).toMatchObject({ links: [{ id: 'bot-ledger' }] });
    expect((await run(['unlink', 'bot-ledger'])).stdout).toMatch(/Removed link bot-ledger/);
    expect(JSON.parse((await run(['list', '--json'])).stdout)).toMatchObject({ links: [] });
    expect((await run(['unlink', 'bot-ledger'])).stderr).toContain('(WARDEN_NOT_FOUND)');
    // dropping the template reports the dropped link
    await run(['link', 'ledger-access', '--principal', 'Warden::Agent::"billing-bot"', '--resource', 'Warden::Key::"ledger"']);
    expect((await run(['apply', join(home, 'good')])).stdout).toContain('Dropped template link(s) whose template is gone: ledger-access.link1');
  });
});
