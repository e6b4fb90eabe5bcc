import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditLog } from '../audit/index.js';
import { isWardenError } from '../errors/index.js';
import type { ChangeContext } from '../identity/agents.js';
import { openTestAuditLog, type TestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { checkSecretReferences, createUpstreamRegistry, type NewUpstream, type UpstreamRegistry } from './upstreams.js';

const ctx: ChangeContext = { actor: { type: 'admin', id: 'alice' } };

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (isWardenError(err)) return err.code;
    throw err;
  }
  throw new Error('expected a refusal');
}

async function auditBodies(log: AuditLog): Promise<string[]> {
  return (await log.entries(0, 1000)).map((e) => e.body!);
}

const stdio = (extra: Record<string, unknown> = {}) => ({ kind: 'stdio', command: 'npx', args: [], env: {}, ...extra }) as NewUpstream['transport'];
const http = (extra: Record<string, unknown> = {}) => ({ kind: 'http', url: 'https://mcp.example.com/mcp', headers: {}, ...extra }) as NewUpstream['transport'];

/** Inputs the registry must refuse with WARDEN_VALIDATION_FAILED, each changing nothing. */
const refused: [string, NewUpstream][] = [
  ['an upper-case name', { name: 'GitHub', transport: stdio() }],
  ['a name with _', { name: 'git_hub', transport: stdio() }],
  ['a name with __', { name: 'a__b', transport: stdio() }],
  ['a name ending in -', { name: 'github-', transport: stdio() }],
  ['a 33-character name', { name: 'a'.repeat(33), transport: stdio() }],
  ['an empty name', { name: '', transport: stdio() }],
  ['no transport', { name: 'x' } as unknown as NewUpstream],
  ['an unknown kind', { name: 'x', transport: { kind: 'sse', url: 'https://a.example' } as unknown as NewUpstream['transport'] }],
  ['an empty command', { name: 'x', transport: stdio({ command: '' }) }],
  ['a blank command', { name: 'x', transport: stdio({ command: '   ' }) }],
  ['a command with a newline', { name: 'x', transport: stdio({ command: 'npx\nrm' }) }],
  ['a too long command', { name: 'x', transport: stdio({ command: 'a'.repeat(4097) }) }],
  ['65 args', { name: 'x', transport: stdio({ args: Array.from({ length: 65 }, () => 'a') }) }],
  ['a too long arg', { name: 'x', transport: stdio({ args: ['a'.repeat(4097)] }) }],
  ['a non-string arg', { name: 'x', transport: stdio({ args: [1] }) }],
  ['an arg with NUL', { name: 'x', transport: stdio({ args: ['a\u0000b'] }) }],
  ['a bad env key', { name: 'x', transport: stdio({ env: { '1BAD': 'v' } }) }],
  ['an env key with =', { name: 'x', transport: stdio({ env: { 'A=B': 'v' } }) }],
  ['65 env entries', { name: 'x', transport: stdio({ env: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`K${i}`, 'v'])) }) }],
  ['a too long env value', { name: 'x', transport: stdio({ env: { K: 'v'.repeat(8193) } }) }],
  ['a non-string env value', { name: 'x', transport: stdio({ env: { K: 1 } }) }],
  ['a malformed secret: env value', { name: 'x', transport: stdio({ env: { K: 'secret:Bad Name' } }) }],
  ['an empty secret: env value', { name: 'x', transport: stdio({ env: { K: 'secret:' } }) }],
  ['an unclosed {{secret:', { name: 'x', transport: stdio({ env: { K: 'pre {{secret:github-pat' } }) }],
  ['headers on stdio', { name: 'x', transport: stdio({ headers: {} }) }],
  ['an http URL to a remote host', { name: 'x', transport: http({ url: 'http://mcp.example.com/mcp' }) }],
  ['an http URL to 127.0.0.2', { name: 'x', transport: http({ url: 'http://127.0.0.2/mcp' }) }],
  ['an http URL to localhost.example.com', { name: 'x', transport: http({ url: 'http://localhost.example.com/mcp' }) }],
  ['a ws URL', { name: 'x', transport: http({ url: 'wss://mcp.example.com/mcp' }) }],
  ['a file URL', { name: 'x', transport: http({ url: 'file:///etc/passwd' }) }],
  ['not a URL', { name: 'x', transport: http({ url: 'mcp.example.com' }) }],
  ['a URL with user:pass', { name: 'x', transport: http({ url: 'https://user:pass@mcp.example.com/mcp' }) }],
  ['a URL with a user', { name: 'x', transport: http({ url: 'https://token@mcp.example.com/mcp' }) }],
  ['a URL with whitespace', { name: 'x', transport: http({ url: 'https://mcp.example.com/m cp' }) }],
  ['a too long URL', { name: 'x', transport: http({ url: `https://mcp.example.com/${'a'.repeat(4096)}` }) }],
  ['a header name with a space', { name: 'x', transport: http({ headers: { 'X Api': 'v' } }) }],
  ['a header name with :', { name: 'x', transport: http({ headers: { 'X-Api:': 'v' } }) }],
  ['a Host header', { name: 'x', transport: http({ headers: { Host: 'evil.example' } }) }],
  ['a content-length header', { name: 'x', transport: http({ headers: { 'Content-Length': '1' } }) }],
  ['a transfer-encoding header', { name: 'x', transport: http({ headers: { 'transfer-encoding': 'chunked' } }) }],
  ['a connection header', { name: 'x', transport: http({ headers: { Connection: 'close' } }) }],
  ['an Mcp-Session-Id header', { name: 'x', transport: http({ headers: { 'Mcp-Session-Id': 's' } }) }],
  ['a header given twice', { name: 'x', transport: http({ headers: { 'X-Api': 'a', 'x-api': 'b' } }) }],
  ['a header value with CRLF', { name: 'x', transport: http({ headers: { 'X-Api': 'a\r\nHost: evil' } }) }],
  ['a header value with LF', { name: 'x', transport: http({ headers: { 'X-Api': 'a\nb' } }) }],
  ['a too long header value', { name: 'x', transport: http({ headers: { 'X-Api': 'v'.repeat(8193) } }) }],
  ['a malformed {{secret:}} header', { name: 'x', transport: http({ headers: { Authorization: 'Bearer {{secret:API_KEY}}' } }) }],
  ['an env on http', { name: 'x', transport: http({ env: {} }) }],
  ['a timeout below 100 ms', { name: 'x', transport: stdio(), timeoutMs: 99 }],
  ['a timeout above 10 minutes', { name: 'x', transport: stdio(), timeoutMs: 600_001 }],
  ['a fractional timeout', { name: 'x', transport: stdio(), timeoutMs: 1000.5 }],
  ['a restart backoff below 100 ms', { name: 'x', transport: stdio(), restartBackoffMs: 50 }],
  ['a restart backoff above 60 s', { name: 'x', transport: stdio(), restartBackoffMs: 60_001 }],
  ['an unknown isolation', { name: 'x', transport: stdio(), isolation: 'per-tenant' as never }],
  ['an unknown tool policy', { name: 'x', transport: stdio(), toolPolicy: 'trust-always' as never }],
];

describe('secret references', () => {
  it('accepts whole-value and embedded references with valid names, and plain values', () => {
    for (const value of ['secret:github-pat', 'Bearer {{secret:api-key}}', '{{secret:a}}:{{secret:b.c_d}}', 'plain', '', '{{not-a-secret}}', 'prefix secret:x']) {
      expect(() => checkSecretReferences(value, 'v'), value).not.toThrow();
    }
  });
  it('refuses malformed references', () => {
    for (const value of ['secret:', 'secret:UPPER', 'secret:-lead', 'secret:a b', '{{secret:}}', '{{secret:x', '{{secret:x}', `{{secret:${'a'.repeat(64)}}}`]) {
      expect(() => checkSecretReferences(value, 'v'), value).toThrow(/secret reference/);
    }
  });
});

describe.each(storeBackends)('upstream registry on $name', (backend) => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let registry: UpstreamRegistry;
  const changes: string[] = [];

  beforeAll(async () => {
    opened = await backend.openMigrated();
    audit = await openTestAuditLog(opened.store);
    registry = createUpstreamRegistry({ db: opened.store.db, audit: audit.log });
    registry.onChange((name) => changes.push(name));
  });
  afterAll(async () => {
    await audit.log.close();
    await opened.cleanup();
  });

  it('adds a stdio upstream with defaults, reads it back and audits it without env values', async () => {
    const receipts: number[] = [];
    const upstream = await registry.add(
      {
        name: 'github',
        transport: { kind: 'stdio', command: 'npx', args: ['-y', '@modelcontextprotocol/server-github'], env: { GITHUB_TOKEN: 'secret:github-pat', LOG_LEVEL: 'plain-value-xyz' } },
      },
      { ...ctx, receipt: (i) => receipts.push(i) },
    );
    expect(upstream).toMatchObject({
      name: 'github',
      transport: { kind: 'stdio', command: 'npx', args: ['-y', '@modelcontextprotocol/server-github'], env: { GITHUB_TOKEN: 'secret:github-pat', LOG_LEVEL: 'plain-value-xyz' } },
      timeoutMs: 30_000,
      restartBackoffMs: 1000,
      isolation: 'shared',
      toolPolicy: 'approve-first',
    });
    expect(upstream.createdAt).toBe(upstream.updatedAt);
    expect(await registry.get('github')).toEqual(upstream);
    expect(await registry.require('github')).toEqual(upstream);
    expect(changes).toContain('github');
    expect(receipts).toHaveLength(1);
    const [entry] = await audit.log.entries(receipts[0]!, 1);
    const body = entry!.body!;
    expect(JSON.parse(body)).toMatchObject({
      class_uid: 3004,
      activity_id: 1,
      action: 'mcp.upstream.add',
      actor: { type: 'admin', id: 'alice' },
      resource: { type: 'mcp_upstream', id: 'github' },
      details: { transport: 'stdio', command: 'npx', argCount: 2, envKeys: ['GITHUB_TOKEN', 'LOG_LEVEL'], timeoutMs: 30_000, isolation: 'shared', toolPolicy: 'approve-first' },
    });
    expect(body).not.toContain('github-pat');
    expect(body).not.toContain('plain-value-xyz');
  });

  it('adds an http upstream with every option and audits header names, never values or the query', async () => {
    const upstream = await registry.add(
      {
        name: 'linear',
        transport: { kind: 'http', url: 'https://mcp.linear.app/mcp?key=query-value-abc', headers: { Authorization: 'Bearer {{secret:api-key}}', 'X-Team': 'header-value-def' } },
        timeoutMs: 600_000,
        restartBackoffMs: 100,
        isolation: 'per-agent',
        toolPolicy: 'trust-on-first-use',
      },
      ctx,
    );
    expect(upstream).toMatchObject({
      transport: { kind: 'http', url: 'https://mcp.linear.app/mcp?key=query-value-abc', headers: { Authorization: 'Bearer {{secret:api-key}}', 'X-Team': 'header-value-def' } },
      timeoutMs: 600_000,
      restartBackoffMs: 100,
      isolation: 'per-agent',
      toolPolicy: 'trust-on-first-use',
    });
    const bodies = await auditBodies(audit.log);
    const added = bodies.find((b) => b.includes('"linear"'))!;
    expect(JSON.parse(added)).toMatchObject({ details: { transport: 'http', url: 'https://mcp.linear.app/mcp', headerNames: ['Authorization', 'X-Team'] } });
    for (const value of ['api-key', 'header-value-def', 'query-value-abc', 'Bearer']) expect(added).not.toContain(value);
  });

  it('allows http:// to loopback hosts only', async () => {
    for (const [name, url] of [
      ['local-v4', 'http://127.0.0.1:8080/mcp'],
      ['local-v6', 'http://[::1]:8080/mcp'],
      ['local-name', 'http://localhost/mcp'],
    ]) {
      expect((await registry.add({ name: name!, transport: { kind: 'http', url: url!, headers: {} } }, ctx)).transport).toMatchObject({ url });
    }
  });

  it('lists by name and refuses a duplicate', async () => {
    expect((await registry.list()).map((u) => u.name)).toEqual(['github', 'linear', 'local-name', 'local-v4', 'local-v6']);
    const before = (await auditBodies(audit.log)).length;
    expect(await refusal(registry.add({ name: 'github', transport: stdio({ command: 'other' }) }, ctx))).toBe('WARDEN_CONFLICT');
    expect((await registry.require('github')).transport).toMatchObject({ command: 'npx' });
    expect(await auditBodies(audit.log)).toHaveLength(before);
  });

  it.each(refused)('refuses %s and changes nothing', async (_what, input) => {
    const before = { list: await registry.list(), audit: (await auditBodies(audit.log)).length, changes: changes.length };
    expect(await refusal(registry.add(input, ctx))).toBe('WARDEN_VALIDATION_FAILED');
    expect(await registry.list()).toEqual(before.list);
    expect(await auditBodies(audit.log)).toHaveLength(before.audit);
    expect(changes).toHaveLength(before.changes);
  });

  it('reads unknown and malformed names as absent, and requires them as not found', async () => {
    expect(await registry.get('nothing')).toBeUndefined();
    expect(await registry.get('Bad_Name')).toBeUndefined();
    expect(await refusal(registry.require('nothing'))).toBe('WARDEN_NOT_FOUND');
    expect(await refusal(registry.require('Bad_Name'))).toBe('WARDEN_VALIDATION_FAILED');
  });

  it('removes an upstream, audited first, and tells the listeners', async () => {
    const receipts: number[] = [];
    const heard: string[] = [];
    const off = registry.onChange((name) => heard.push(name));
    await registry.remove('local-v6', { ...ctx, receipt: (i) => receipts.push(i) });
    off();
    expect(heard).toEqual(['local-v6']);
    expect(await registry.get('local-v6')).toBeUndefined();
    const [entry] = await audit.log.entries(receipts[0]!, 1);
    expect(JSON.parse(entry!.body!)).toMatchObject({ activity_id: 4, action: 'mcp.upstream.remove', resource: { type: 'mcp_upstream', id: 'local-v6' } });
    expect(await refusal(registry.remove('local-v6', ctx))).toBe('WARDEN_NOT_FOUND');
    await registry.remove('local-v4', ctx);
    expect(heard).toEqual(['local-v6']);
    expect(changes).toContain('local-v4');
  });

  it('keeps serving listeners after one of them throws', async () => {
    const off = registry.onChange(() => {
      throw new Error('listener failure');
    });
    const heard: string[] = [];
    const off2 = registry.onChange((name) => heard.push(name));
    await registry.add({ name: 'noisy', transport: stdio() }, ctx);
    off();
    off2();
    expect(heard).toEqual(['noisy']);
  });

  it('refuses a change when the audit log cannot record it, and writes nothing', async () => {
    const failing = createUpstreamRegistry({ db: opened.store.db, audit: { append: () => Promise.reject(new Error('disk full')) } });
    expect(await refusal(failing.add({ name: 'unaudited', transport: stdio() }, ctx))).toBe('WARDEN_AUDIT_UNAVAILABLE');
    expect(await registry.get('unaudited')).toBeUndefined();
    expect(await refusal(failing.remove('github', ctx))).toBe('WARDEN_AUDIT_UNAVAILABLE');
    expect(await registry.get('github')).toBeDefined();
  });
});
