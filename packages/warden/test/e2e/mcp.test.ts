/**
 * The MCP gateway end to end: the real server process, a real upstream MCP server over stdio (a secret
 * injected into its environment) and one over Streamable HTTP (a secret injected into a header), and the
 * official MCP SDK client as the agent, authenticated with its own access token for `<issuer>/mcp`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initWithAdmin, login } from './admin.js';
import { runWarden, startWardenProcess, wardenBin, type ServerProcess } from './process.js';

const fixture = fileURLToPath(new URL('../fixtures/mcp-upstream.mjs', import.meta.url));

const policies = `
@id("bot-reads")
permit (principal == Warden::Agent::"mcp-bot", action == Warden::Action::"mcp:call_tool", resource)
when { resource.readOnly };

@id("bot-public-memo")
permit (principal == Warden::Agent::"mcp-bot", action == Warden::Action::"mcp:read_resource", resource == Warden::Resource::"memo://public");

@id("bot-prompts")
permit (principal == Warden::Agent::"mcp-bot", action == Warden::Action::"mcp:get_prompt", resource in Warden::Server::"gh");
`;

function startHttpUpstream(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [fixture, '--http'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.once('data', (chunk: Buffer) => resolve({ url: /listening (\S+)/.exec(chunk.toString())![1]!, child }));
    child.once('exit', (code) => reject(new Error(`upstream exited ${code}`)));
  });
}

describe('MCP gateway (end to end)', () => {
  let server: ServerProcess;
  let upstream: { url: string; child: ChildProcess };
  let admin: Record<string, string>;
  let agentToken: string;
  let agentSecret: string;

  const api = (method: string, path: string, body?: unknown) =>
    fetch(`${server.url}${path}`, { method, headers: { ...admin, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

  async function tokenFor(clientId: string, secret: string, resource: string): Promise<string> {
    const res = await fetch(`${server.url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` },
      body: `grant_type=client_credentials&resource=${encodeURIComponent(resource)}`,
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  async function connect(token: string): Promise<Client> {
    const client = new Client({ name: 'test-agent', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    return client;
  }

  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), 'warden-mcp-'));
    const first = await initWithAdmin(join(root, 'data'));
    server = await startWardenProcess(['--data-dir', join(root, 'data'), '--listen', '127.0.0.1:0']);
    const token = await login(server.url, first);
    admin = { authorization: `Bearer ${token}` };
    const env = { WARDEN_TOKEN: token, WARDEN_ADDR: server.url };
    upstream = await startHttpUpstream();

    expect((await api('PUT', '/v1/secrets/gh-token', { value: 'ghp_from_warden' })).status).toBe(201);
    expect((await api('PUT', '/v1/secrets/api-key', { value: 'key-from-warden' })).status).toBe(201);
    const stdio = await api('POST', '/v1/mcp/servers', {
      name: 'gh',
      transport: { kind: 'stdio', command: process.execPath, args: [fixture], env: { UPSTREAM_SECRET: 'secret:gh-token' } },
      toolPolicy: 'trust-on-first-use',
    });
    expect(stdio.status).toBe(201);
    const http = await api('POST', '/v1/mcp/servers', {
      name: 'web',
      transport: { kind: 'http', url: upstream.url, headers: { 'x-api-key': 'Bearer {{secret:api-key}}' } },
      toolPolicy: 'trust-on-first-use',
    });
    expect(http.status).toBe(201);

    const dir = join(root, 'policies');
    mkdirSync(dir);
    writeFileSync(join(dir, 'mcp.cedar'), policies);
    expect((await runWarden(['policies', 'apply', dir], { env })).code).toBe(0);
    expect((await runWarden(['agents', 'create', 'mcp-bot', '--owner', 'tests'], { env })).code).toBe(0);
    const credential = await runWarden(['agents', 'credentials', 'add', 'mcp-bot', '--secret', '--json'], { env });
    const { secret } = JSON.parse(credential.stdout) as { secret: string };
    agentSecret = secret;
    agentToken = await tokenFor('mcp-bot', secret, `${server.url}/mcp`);
  }, 60_000);
  afterAll(async () => {
    upstream?.child.kill();
    await server?.stop();
  });

  it('publishes Protected Resource Metadata and challenges a missing or wrong token with it', async () => {
    const prm = await fetch(`${server.url}/.well-known/oauth-protected-resource/mcp`);
    expect(await prm.json()).toMatchObject({ resource: `${server.url}/mcp`, authorization_servers: [server.url] });
    const anonymous = await fetch(`${server.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain(`resource_metadata="${server.url}/.well-known/oauth-protected-resource/mcp"`);
    // A token for the KMS is not a token for /mcp (audience), and an admin session is not an agent token.
    const wrongAudience = await fetch(`${server.url}/mcp`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' });
    expect(wrongAudience.status).toBe(401);
    const badOrigin = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agentToken}`, origin: 'https://evil.example', 'content-type': 'application/json' },
      body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    });
    expect(badOrigin.status).toBe(403);
    const badVersion = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agentToken}`, 'mcp-protocol-version': '1999-01-01', 'content-type': 'application/json' },
      body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    });
    expect(badVersion.status).toBe(400);
    expect((await fetch(`${server.url}/mcp`, { headers: { authorization: `Bearer ${agentToken}` } })).status).toBe(405);
  });

  it('lets the SDK client list only permitted tools and call them, with a receipt in the audit log', async () => {
    const client = await connect(agentToken);
    try {
      const names = (await client.listTools()).tools.map((t) => t.name).sort();
      expect(names).toContain('gh__echo');
      expect(names).toContain('web__echo');
      expect(names).not.toContain('gh__delete_repo');
      const result = await client.callTool({ name: 'gh__echo', arguments: { text: 'through warden' } });
      expect(result.content).toEqual([{ type: 'text', text: 'echo: through warden' }]);
      // A hidden tool is indistinguishable from an unknown one.
      const errorOf = (p: Promise<unknown>) => p.then(() => 'no error', (err: Error) => err.message);
      const hidden = await errorOf(client.callTool({ name: 'gh__delete_repo', arguments: { repo: 'x' } }));
      const unknown = await errorOf(client.callTool({ name: 'gh__nope', arguments: {} }));
      expect(hidden).toContain('unknown tool');
      expect(hidden.replace('gh__delete_repo', 'X')).toBe(unknown.replace('gh__nope', 'X'));
    } finally {
      await client.close();
    }
    const raw = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agentToken}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'web__echo', arguments: { text: 'x' } } }),
    });
    const index = raw.headers.get('warden-audit-index');
    expect(index).toMatch(/^\d+$/);
    const entry = (await (await api('GET', `/v1/audit/entries?start=${index}&limit=1`)).json()) as { entries: { body: string }[] };
    expect(JSON.parse(entry.entries[0]!.body)).toMatchObject({ action: 'mcp.call_tool', actor: { id: 'mcp-bot' }, resource: { id: 'web__echo' }, status: 'success' });
  });

  it('screens both ways: a secret in the arguments is redacted before the upstream sees it, an injected result is blocked', async () => {
    const key = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const client = await connect(agentToken);
    try {
      const echoed = (await client.callTool({ name: 'gh__echo', arguments: { text: `deploy with\n${key}` } })).content as { text: string }[];
      // The upstream echoes what it received: the key never reached it.
      expect(echoed[0]!.text).toMatch(/^echo: deploy with\n\[REDACTED:[a-z_]+\]/);
      expect(echoed[0]!.text).not.toContain('PRIVATE KEY');
      await expect(client.callTool({ name: 'gh__inbox', arguments: {} })).rejects.toThrow(/screening withheld the result/);
    } finally {
      await client.close();
    }
    const raw = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agentToken}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'gh__inbox', arguments: {} } }),
    });
    const body = (await raw.json()) as { error: { code: number; data: { code: string; findings: { category: string; path: string }[] } } };
    expect(body.error.code).toBe(-32011);
    expect(body.error.data.code).toBe('WARDEN_SCREEN_BLOCKED');
    expect(body.error.data.findings).toContainEqual(expect.objectContaining({ category: 'prompt_injection', path: 'content[0].text' }));
    expect(JSON.stringify(body)).not.toContain('collector@evil.example');
    const index = raw.headers.get('warden-audit-index');
    const entry = (await (await api('GET', `/v1/audit/entries?start=${index}&limit=1`)).json()) as { entries: { body: string }[] };
    expect(JSON.parse(entry.entries[0]!.body)).toMatchObject({ action: 'mcp.call_tool', resource: { id: 'gh__inbox' }, status: 'failure' });
    expect(entry.entries[0]!.body).toContain('WARDEN_SCREEN_BLOCKED');
    expect(entry.entries[0]!.body).not.toContain('collector@evil.example');
    const screen = await api('POST', '/v1/screen', { id: 'k', text: `key: ${key}`, direction: 'input' });
    expect(screen.status).toBe(200);
    expect(await screen.json()).toMatchObject({ id: 'k', verdict: 'redact', findings: [{ category: 'secret', start: 5 }] });
  });

  it('passes prompts and resources through to the SDK client, filtered and authorized like tools', async () => {
    const client = await connect(agentToken);
    try {
      expect((await client.listResources()).resources.map((r) => r.uri)).toEqual(['memo://public']);
      expect((await client.readResource({ uri: 'memo://public' })).contents).toEqual([{ uri: 'memo://public', text: 'the public memo' }]);
      await expect(client.readResource({ uri: 'memo://private' })).rejects.toThrow(/unknown resource/);
      expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(['gh__greet']);
      const prompt = await client.getPrompt({ name: 'gh__greet', arguments: { name: 'Ada' } });
      expect(prompt.messages[0]!.content).toEqual({ type: 'text', text: 'Say hello to Ada' });
      await expect(client.getPrompt({ name: 'web__greet', arguments: { name: 'Ada' } })).rejects.toThrow(/unknown prompt/);
    } finally {
      await client.close();
    }
  });

  it('injects secrets upstream, never shows them to the agent, and never forwards the agent token', async () => {
    const client = await connect(agentToken);
    try {
      const env = await client.callTool({ name: 'gh__env', arguments: {} });
      expect(env.content).toEqual([{ type: 'text', text: 'ghp_from_warden' }]);
      const seen = (await client.callTool({ name: 'web__headers', arguments: {} })).content as { text: string }[];
      const headers = JSON.parse(seen[0]!.text) as Record<string, string>;
      expect(headers['x-api-key']).toBe('Bearer key-from-warden');
      expect(JSON.stringify(headers)).not.toContain(agentToken);
      expect(headers['authorization']).toBeUndefined();
    } finally {
      await client.close();
    }
    const listed = await (await api('GET', '/v1/secrets')).text();
    expect(listed).not.toContain('ghp_from_warden');
    const servers = await (await api('GET', '/v1/mcp/servers/gh')).text();
    expect(servers).not.toContain('ghp_from_warden');
  });

  it('bridges a stdio-only client through `warden mcp connect` as the agent', async () => {
    const client = new Client({ name: 'stdio-agent', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [wardenBin, 'mcp', 'connect', '--client-id', 'mcp-bot'],
        env: { ...getDefaultEnvironment(), WARDEN_ADDR: server.url, WARDEN_CLIENT_SECRET: agentSecret },
        stderr: 'pipe',
      }),
    );
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toContain('gh__echo');
      expect(names).not.toContain('gh__delete_repo');
      expect((await client.callTool({ name: 'gh__echo', arguments: { text: 'via stdio' } })).content).toEqual([{ type: 'text', text: 'echo: via stdio' }]);
      expect((await client.readResource({ uri: 'memo://public' })).contents).toEqual([{ uri: 'memo://public', text: 'the public memo' }]);
      expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(['gh__greet']);
      await expect(client.callTool({ name: 'gh__delete_repo', arguments: { repo: 'x' } })).rejects.toThrow(/unknown tool/);
    } finally {
      await client.close();
    }
  });
});
