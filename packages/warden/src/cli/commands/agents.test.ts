import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentRoutes } from '../../api/agents.js';
import { buildApp } from '../../api/app.js';
import { createAgentDirectory } from '../../identity/agents.js';
import { createCredentialStore, type CredentialStore } from '../../identity/credentials.js';
import { createLogger } from '../../log/index.js';
import { openTestAuditLog, type TestAuditLog } from '../../testing/audit-log.js';
import { bearerRequireAdmin, createCliRunner, type CliRunner } from '../../testing/cli.js';
import { storeBackends, type OpenedTestStore } from '../../testing/stores.js';
import { agentsCommand, parseRateLimit } from './agents.js';

const sqlite = storeBackends.find((b) => b.name === 'sqlite')!;
const requireAdmin = bearerRequireAdmin({ 'admin-token': 'admin', 'auditor-token': 'auditor' });

describe('warden agents (CLI against a listening server)', () => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let credentials: CredentialStore;
  let app: FastifyInstance;
  let url: string;
  let home: string;
  /** Runs `warden agents …` in-process the way runCli does; resolves to exit code and output. */
  let run: CliRunner;

  beforeAll(async () => {
    opened = await sqlite.openMigrated();
    audit = await openTestAuditLog(opened.store);
    const directory = createAgentDirectory({ db: opened.store.db, audit: audit.log });
    credentials = createCredentialStore({ db: opened.store.db, barrier: audit.barrier, audit: audit.log, directory });
    app = await buildApp({
      logger: createLogger({ level: 'silent' }),
      bodyLimit: 65_536,
      routes: [agentRoutes({ directory, credentials, requireAdmin })],
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    home = await mkdtemp(join(tmpdir(), 'warden-cli-agents-'));
    run = createCliRunner({ register: agentsCommand, group: 'agents', url, home, token: 'admin-token' });
  });
  afterAll(async () => {
    await app.close();
    await audit.log.close();
    await opened.cleanup();
    await rm(home, { recursive: true, force: true });
  });

  it('creates, shows, lists, updates, disables, enables and deletes agents', async () => {
    const created = await run(['create', 'cli-bot', '--owner', 'team-cli', '--role', 'reader', '--role', 'writer', '--label', 'team=cli', '--region', 'eu', '--environment', 'prod', '--clearance', '2', '--require-dpop', '--json']);
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({
      name: 'cli-bot',
      owner: 'team-cli',
      roles: ['reader', 'writer'],
      labels: { team: 'cli' },
      region: 'eu',
      environment: 'prod',
      clearance: 2,
      requireDpop: true,
      status: 'active',
    });
    const shown = await run(['show', 'cli-bot']);
    expect(shown.stdout).toContain('cli-bot (active)');
    expect(shown.stdout).toContain('require DPoP: yes');
    await run(['create', 'other-bot', '--owner', 'someone']);
    const listed = await run(['list', '--label', 'team=cli', '--json']);
    expect(JSON.parse(listed.stdout)).toMatchObject({ agents: [{ name: 'cli-bot' }] });
    expect((await run(['list'], { token: 'auditor-token' })).stdout).toMatch(/cli-bot[\s\S]*other-bot/);

    const updated = await run(['update', 'cli-bot', '--no-require-dpop', '--no-region', '--clearance', '4', '--json']);
    expect(JSON.parse(updated.stdout)).toMatchObject({ requireDpop: false, region: null, clearance: 4, roles: ['reader', 'writer'] });
    expect(JSON.parse((await run(['disable', 'cli-bot', '--json'])).stdout)).toMatchObject({ status: 'disabled' });
    expect(JSON.parse((await run(['enable', 'cli-bot', '--json'])).stdout)).toMatchObject({ status: 'active' });
    expect((await run(['delete', 'other-bot'])).stdout).toContain('Deleted agent other-bot.');
    const missing = await run(['show', 'other-bot']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('(WARDEN_NOT_FOUND)');
  });

  it('adds a secret (printed once) and a public key, lists and revokes them', async () => {
    const added = await run(['credentials', 'add', 'cli-bot', '--secret', '--label', 'ci', '--expires', '90d', '--json']);
    expect(added.code, added.stderr).toBe(0);
    const secret = JSON.parse(added.stdout) as { id: string; secret: string; expiresAt: number };
    expect(secret.secret).toMatch(/^wsec_/);
    expect(secret.expiresAt).toBeGreaterThan(Date.now() + 89 * 86_400_000);
    expect(await credentials.verifySecret('cli-bot', secret.secret)).toBe(true);

    const file = join(home, 'key.jwk');
    await writeFile(file, JSON.stringify(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' })));
    const key = await run(['credentials', 'add', 'cli-bot', '--public-key', file]);
    expect(key.code, key.stderr).toBe(0);
    expect(key.stdout).toMatch(/Added public_key cred_[0-9a-f]{32} to cli-bot/);

    const listed = await run(['credentials', 'list', 'cli-bot', '--json']);
    expect(listed.stdout).not.toContain(secret.secret);
    expect(JSON.parse(listed.stdout)).toMatchObject({ credentials: [{ id: secret.id, kind: 'client_secret' }, { kind: 'public_key' }] });
    const revoked = await run(['credentials', 'revoke', 'cli-bot', secret.id]);
    expect(revoked.stdout).toContain(`Revoked ${secret.id} of cli-bot.`);
    expect(await credentials.verifySecret('cli-bot', secret.secret)).toBe(false);
    expect((await run(['credentials', 'list', 'cli-bot'])).stdout).toMatch(/client_secret +revoked/);
  });

  it('sets, shows, changes one of and clears an agent\'s own rate limits', async () => {
    const created = await run(['create', 'rl-bot', '--owner', 'o', '--rate-limit', '5', '--tool-rate-limit', '2:3', '--json']);
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ rateLimits: { perAgent: { rate: 5, burst: 10 }, perAgentTool: { rate: 2, burst: 3 } } });
    const shown = await run(['show', 'rl-bot']);
    expect(shown.stdout).toContain('rate limit:   5/s, burst 10 (per agent)');
    expect(shown.stdout).toContain('tool limit:   2/s, burst 3 (per agent and tool)');

    const updated = await run(['update', 'rl-bot', '--rate-limit', '0.5', '--json']);
    expect(updated.code, updated.stderr).toBe(0);
    expect(JSON.parse(updated.stdout)).toMatchObject({ rateLimits: { perAgent: { rate: 0.5, burst: 1 }, perAgentTool: { rate: 2, burst: 3 } } });
    const both = await run(['update', 'rl-bot', '--rate-limit', '7:7', '--tool-rate-limit', '1', '--json']);
    expect(JSON.parse(both.stdout)).toMatchObject({ rateLimits: { perAgent: { rate: 7, burst: 7 }, perAgentTool: { rate: 1, burst: 2 } } });

    const cleared = await run(['update', 'rl-bot', '--clear-rate-limits', '--json']);
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(JSON.parse(cleared.stdout)).toMatchObject({ rateLimits: null });
    const plain = await run(['show', 'rl-bot']);
    expect(plain.stdout).toContain('rate limit:   config default');
    expect(plain.stdout).toContain('tool limit:   config default');
    const tool = await run(['update', 'rl-bot', '--tool-rate-limit', '4:4', '--json']);
    expect(JSON.parse(tool.stdout)).toMatchObject({ rateLimits: { perAgentTool: { rate: 4, burst: 4 } } });
    expect((JSON.parse(tool.stdout) as { rateLimits: object }).rateLimits).not.toHaveProperty('perAgent');
  });

  it('parses RATE[:BURST] (burst defaults to twice the rate, at least 1, at most 100000)', () => {
    expect(parseRateLimit('5', '--rate-limit')).toEqual({ rate: 5, burst: 10 });
    expect(parseRateLimit('5:1', '--rate-limit')).toEqual({ rate: 5, burst: 1 });
    expect(parseRateLimit('0.25', '--rate-limit')).toEqual({ rate: 0.25, burst: 1 });
    expect(parseRateLimit('.5', '--rate-limit')).toEqual({ rate: 0.5, burst: 1 });
    expect(parseRateLimit('1.25', '--rate-limit')).toEqual({ rate: 1.25, burst: 3 });
    expect(parseRateLimit('60000', '--rate-limit')).toEqual({ rate: 60_000, burst: 100_000 });
    expect(parseRateLimit('100000:100000', '--rate-limit')).toEqual({ rate: 100_000, burst: 100_000 });
    for (const bad of ['', '0', '0:5', '-1', 'abc', '5:', ':5', '5:0', '5:1.5', '5:-1', '100001', '5:100001', '1e3', '5:5:5', ' 5', 'Infinity', 'NaN']) {
      expect(() => parseRateLimit(bad, '--tool-rate-limit'), bad).toThrow(/^--tool-rate-limit must be RATE\[:BURST\]/);
    }
  });

  it('refuses bad flags with WARDEN_USAGE (exit 2) and reports server refusals', async () => {
    const usage = [
      ['create', 'x-bot', '--owner', 'o', '--clearance', 'high'],
      ['create', 'x-bot', '--owner', 'o', '--label', 'novalue'],
      ['update', 'cli-bot'],
      ['list', '--limit', 'many'],
      ['credentials', 'add', 'cli-bot'],
      ['credentials', 'add', 'cli-bot', '--secret', '--public-key', 'k.jwk'],
      ['credentials', 'add', 'cli-bot', '--secret', '--expires', 'soon'],
      ['credentials', 'add', 'cli-bot', '--public-key', join(home, 'missing.jwk')],
      ['create', 'x-bot', '--owner', 'o', '--rate-limit', '0'],
      ['create', 'x-bot', '--owner', 'o', '--rate-limit', 'fast'],
      ['create', 'x-bot', '--owner', 'o', '--tool-rate-limit', '5:0'],
      ['update', 'cli-bot', '--rate-limit', '100001'],
      ['update', 'cli-bot', '--tool-rate-limit', '5:1.5'],
      ['update', 'cli-bot', '--clear-rate-limits', '--rate-limit', '5'],
    ];
    for (const argv of usage) {
      const res = await run(argv);
      expect(res.code, argv.join(' ')).toBe(2);
      expect(res.stderr, argv.join(' ')).toContain('(WARDEN_USAGE)');
      if (argv.some((a) => a.includes('rate-limit'))) expect(res.stderr.trim().split('\n'), argv.join(' ')).toHaveLength(1);
    }
    expect((await run(['create', 'x-bot', '--owner', 'o', '--clear-rate-limits'])).code).toBe(2); // update only
    expect((await run(['show', 'x-bot'])).stderr).toContain('(WARDEN_NOT_FOUND)');
    expect((await run(['create', 'x-bot'])).code).toBe(2); // commander: missing --owner
    expect((await run(['create', 'x-bot', '--owner', 'o', '--bogus'])).code).toBe(2);
    const invalid = await run(['create', 'Bad_Name', '--owner', 'o']);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('(WARDEN_VALIDATION_FAILED)');
    const forbidden = await run(['create', 'y-bot', '--owner', 'o'], { token: 'auditor-token' });
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toContain('(WARDEN_FORBIDDEN)');
    expect((await run(['list'], { token: 'wrong' })).stderr).toContain('(WARDEN_UNAUTHENTICATED)');
  });
});
