import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { upstreamRoutes } from '../../api/upstreams.js';
import { WardenError } from '../../errors/index.js';
import { createUpstreamRegistry, type UpstreamRegistry } from '../../gateway/upstreams.js';
import { createLogger } from '../../log/index.js';
import { openTestAuditLog, type TestAuditLog } from '../../testing/audit-log.js';
import { bearerRequireAdmin, createCliRunner, type CliRunner } from '../../testing/cli.js';
import { storeBackends, type OpenedTestStore } from '../../testing/stores.js';
import { formatMillis, mcpCommand, parsePairs } from './mcp.js';

const sqlite = storeBackends.find((b) => b.name === 'sqlite')!;

/** Admin authentication stand-in: the bearer token names the role; every request is counted. */
let requests = 0;
const requireAdmin = bearerRequireAdmin({ 'admin-token': 'admin', 'auditor-token': 'auditor' }, { onRequest: () => void (requests += 1) });

describe('parsePairs and formatMillis', () => {
  it('splits at the first "=" and refuses pairs without a key or given twice', () => {
    expect(parsePairs('--header', ['Authorization=Bearer {{secret:api-key}}', 'X-Q=a=b', 'X-Empty='])).toEqual({
      Authorization: 'Bearer {{secret:api-key}}',
      'X-Q': 'a=b',
      'X-Empty': '',
    });
    for (const bad of [['novalue'], ['=v'], ['K=1', 'K=2']]) expect(() => parsePairs('--env', bad)).toThrow(WardenError);
  });
  it('prints whole seconds as s and the rest as ms', () => {
    expect([formatMillis(30_000), formatMillis(600_000), formatMillis(250), formatMillis(1500)]).toEqual(['30s', '600s', '250ms', '1500ms']);
  });
});

describe('warden mcp servers (CLI against a listening server)', () => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let registry: UpstreamRegistry;
  let app: FastifyInstance;
  let url: string;
  let home: string;
  /**
   * Runs `warden mcp servers …` in-process the way runCli does; resolves to exit code and output. The
   * server address comes from WARDEN_ADDR (on `add`, `--url` is the upstream's URL).
   */
  let run: CliRunner;

  beforeAll(async () => {
    opened = await sqlite.openMigrated();
    audit = await openTestAuditLog(opened.store);
    registry = createUpstreamRegistry({ db: opened.store.db, audit: audit.log });
    app = await buildApp({ logger: createLogger({ level: 'silent' }), bodyLimit: 65_536, routes: [upstreamRoutes({ registry, requireAdmin })] });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    home = await mkdtemp(join(tmpdir(), 'warden-cli-mcp-'));
    run = createCliRunner({ register: mcpCommand, group: ['mcp', 'servers'], url, urlVia: 'env', home, token: 'admin-token' });
  });
  afterAll(async () => {
    await app.close();
    await audit.log.close();
    await opened.cleanup();
    await rm(home, { recursive: true, force: true });
  });

  it('adds a stdio and an http server, lists, shows and removes them', async () => {
    const stdio = await run(['add', 'github', '--command', 'npx', '--arg', '-y', '--arg', '@modelcontextprotocol/server-github', '--env', 'GITHUB_TOKEN=secret:github-pat', '--restart-backoff', '2s', '--json']);
    expect(stdio.code, stdio.stderr).toBe(0);
    expect(JSON.parse(stdio.stdout)).toMatchObject({
      name: 'github',
      transport: { kind: 'stdio', command: 'npx', args: ['-y', '@modelcontextprotocol/server-github'], env: { GITHUB_TOKEN: 'secret:github-pat' } },
      timeoutMs: 30_000,
      restartBackoffMs: 2000,
      isolation: 'shared',
      toolPolicy: 'approve-first',
    });

    const remote = await run([
      'add',
      'linear',
      '--url',
      'https://mcp.linear.app/mcp',
      '--header',
      'Authorization=Bearer {{secret:api-key}}',
      '--timeout',
      '45s',
      '--isolation',
      'per-agent',
      '--tool-policy',
      'trust-on-first-use',
      '--server',
      url,
    ]);
    expect(remote.code, remote.stderr).toBe(0);
    expect(remote.stdout).toContain('linear (http)');
    expect(remote.stdout).toContain('Authorization=Bearer {{secret:api-key}}');
    expect(remote.stdout).toContain('timeout:         45s');
    expect((await registry.require('linear')).transport).toEqual({ kind: 'http', url: 'https://mcp.linear.app/mcp', headers: { Authorization: 'Bearer {{secret:api-key}}' } });

    const listed = await run(['list'], { token: 'auditor-token' });
    expect(listed.code, listed.stderr).toBe(0);
    const lines = listed.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME +TRANSPORT +ISOLATION +TOOL POLICY +TIMEOUT$/);
    expect(lines[1]).toMatch(/^github +stdio npx +shared +approve-first +30s$/);
    expect(lines[2]).toMatch(/^linear +http https:\/\/mcp\.linear\.app\/mcp +per-agent +trust-on-first-use +45s$/);
    expect(JSON.parse((await run(['list', '--json', '--url', url])).stdout)).toMatchObject({ servers: [{ name: 'github' }, { name: 'linear' }] });

    const shown = await run(['show', 'github']);
    expect(shown.stdout).toContain('github (stdio)');
    expect(shown.stdout).toContain('args:            "-y" "@modelcontextprotocol/server-github"');
    expect(shown.stdout).toContain('GITHUB_TOKEN=secret:github-pat');
    expect(shown.stdout).toContain('restart backoff: 2s');

    expect((await run(['remove', 'linear'])).stdout).toContain('Removed MCP server linear.');
    expect(JSON.parse((await run(['remove', 'github', '--json'])).stdout)).toEqual({ removed: 'github' });
    expect((await run(['list'])).stdout).toContain('No MCP servers.');
    const missing = await run(['show', 'linear']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('(WARDEN_NOT_FOUND)');
  });

  it('refuses bad flags with WARDEN_USAGE (exit 2) before sending anything, and reports server refusals', async () => {
    const usage = [
      ['add', 'x'],
      ['add', 'x', '--command', 'npx', '--url', 'https://a.example'],
      ['add', 'x', '--command', 'npx', '--header', 'A=b'],
      ['add', 'x', '--url', 'https://a.example', '--env', 'A=b'],
      ['add', 'x', '--url', 'https://a.example', '--arg', 'a'],
      ['add', 'x', '--command', 'npx', '--env', 'novalue'],
      ['add', 'x', '--command', 'npx', '--env', 'A=1', '--env', 'A=2'],
      ['add', 'x', '--url', 'https://a.example', '--header', '=v'],
      ['add', 'x', '--command', 'npx', '--timeout', 'soon'],
      ['add', 'x', '--command', 'npx', '--restart-backoff', '1 second'],
      ['add', 'x', '--command', 'npx', '--isolation', 'none'],
      ['add', 'x', '--command', 'npx', '--tool-policy', 'trust'],
    ];
    const before = requests;
    for (const argv of usage) {
      const res = await run(argv);
      expect(res.code, argv.join(' ')).toBe(2);
      expect(res.stderr, argv.join(' ')).toContain('(WARDEN_USAGE)');
    }
    expect(requests).toBe(before);
    expect((await run(['add', 'x', '--command', 'npx', '--bogus'])).code).toBe(2);
    expect((await run(['show'])).code).toBe(2); // commander: missing name

    for (const argv of [
      ['add', 'Bad_Name', '--command', 'npx'],
      ['add', 'plain', '--url', 'http://mcp.example.com/mcp'],
      ['add', 'plain', '--url', 'https://a.example', '--header', 'Host=evil.example'],
      ['add', 'plain', '--command', 'npx', '--env', 'TOKEN=secret:Not Valid'],
      ['add', 'plain', '--command', 'npx', '--timeout', '20m'],
    ]) {
      const invalid = await run(argv);
      expect(invalid.code, argv.join(' ')).toBe(2);
      expect(invalid.stderr, argv.join(' ')).toContain('(WARDEN_VALIDATION_FAILED)');
    }
    expect(await registry.list()).toEqual([]);
    const forbidden = await run(['add', 'y', '--command', 'npx'], { token: 'auditor-token' });
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toContain('(WARDEN_FORBIDDEN)');
    expect((await run(['list'], { token: 'wrong' })).stderr).toContain('(WARDEN_UNAUTHENTICATED)');
  });
});
