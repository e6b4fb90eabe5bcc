/**
 * Tokenization wired into the real server: with `screen.tokenizationKey` the KMS exposes a tokenizer and
 * serves `POST /v1/tokens/detokenize` to agents holding a real access token for `<issuer>/v1/keys`
 * (decided by the operator's policies); without it there is neither.
 */
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../log/index.js';
import { initDataDir } from './data-dir.js';
import { startWarden, type WardenServer } from './warden-server.js';

const logger = createLogger({ level: 'silent' });
const fixture = fileURLToPath(new URL('../../test/fixtures/mcp-upstream.mjs', import.meta.url));
const root = { actor: { type: 'operator' as const, id: 'test' } };
const made: string[] = [];
afterAll(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

async function start(settings: Record<string, unknown> = {}): Promise<WardenServer> {
  const parent = mkdtempSync(join(tmpdir(), 'warden-tokens-'));
  made.push(parent);
  const dir = join(parent, 'data');
  await initDataDir({ dataDir: dir, settings: { listen: { host: '127.0.0.1', port: 0 }, ...settings }, secrets: {} });
  return startWarden({ config: loadConfig({ flags: { dataDir: dir } }), secrets: {}, logger });
}

/** An access token for `resource`, by client_credentials with a new client secret of `agent`. */
async function accessToken(server: WardenServer, agent: string, resource: string): Promise<string> {
  await server.identity.agents.create({ name: agent, owner: 'support' }, root);
  const { secret } = await server.identity.credentials.add(agent, { kind: 'client_secret' }, root);
  const res = await fetch(`${server.url}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${agent}:${secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource }).toString(),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

describe('tokenization in the server', () => {
  it('detokenizes for an agent with a key-audience token and a permitting policy; 403 and nothing otherwise', async () => {
    const server = await start({ screen: { tokenizationKey: 'screen-tokens' } });
    try {
      const tokenizer = server.kms.tokenizer!;
      expect(tokenizer.keyName).toBe('screen-tokens');
      // Configured but not created yet: refused, fail closed.
      await expect(tokenizer.tokenize('email', 'olivia@example.com')).rejects.toMatchObject({ code: 'WARDEN_NOT_FOUND' });
      await server.kms.keyring.create({ name: 'screen-tokens', type: 'hmac-sha256' }, root);
      const token = await tokenizer.tokenize('email', 'olivia@example.com');
      await server.policy.store.apply(
        [{ name: 'tokens.cedar', text: 'permit(principal == Warden::Agent::"support-bot", action == Warden::Action::"tokens:detokenize", resource == Warden::Key::"screen-tokens");' }],
        root,
      );
      const keysAudience = `${server.url}/v1/keys`;
      const [support, other, wrongAudience] = await Promise.all([
        accessToken(server, 'support-bot', keysAudience),
        accessToken(server, 'other-bot', keysAudience),
        accessToken(server, 'mcp-bot', `${server.url}/mcp`),
      ]);
      const call = (bearer: string) =>
        fetch(`${server.url}/v1/tokens/detokenize`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: JSON.stringify({ tokens: [token] }) });

      const ok = await call(support);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ results: [{ value: 'olivia@example.com', type: 'email' }] });
      const index = Number(ok.headers.get('warden-audit-index'));
      const [entry] = await server.runtime.audit.entries(index, index + 1);
      expect(JSON.parse(entry!.body!)).toMatchObject({ action: 'tokens.detokenize', actor: { type: 'agent', id: 'support-bot' }, details: { count: 1, revealed: 1 } });
      expect(entry!.body).not.toContain('olivia');

      const denied = await call(other);
      expect(denied.status).toBe(403);
      expect(await denied.text()).not.toContain('olivia');
      // A token for another resource is not a token for this one.
      expect((await call(wrongAudience)).status).toBe(401);
    } finally {
      await server.close();
    }
  });

  it('tokenizes personal data in MCP tool results when configured, reversibly for whoever may detokenize', async () => {
    const server = await start({ screen: { tokenizationKey: 'pii', actions: { output: { pii: 'tokenize' } } } });
    try {
      await server.kms.keyring.create({ name: 'pii', type: 'hmac-sha256' }, root);
      await server.gateway.registry.add({ name: 'gh', transport: { kind: 'stdio', command: process.execPath, args: [fixture], env: {} }, toolPolicy: 'trust-on-first-use' }, root);
      await server.policy.store.apply(
        [
          {
            name: 'p.cedar',
            text: `permit(principal == Warden::Agent::"mcp-bot", action == Warden::Action::"mcp:call_tool", resource == Warden::Tool::"gh__echo");
permit(principal == Warden::Agent::"support-bot", action == Warden::Action::"tokens:detokenize", resource == Warden::Key::"pii");`,
          },
        ],
        root,
      );
      const mcp = await accessToken(server, 'mcp-bot', `${server.url}/mcp`);
      const support = await accessToken(server, 'support-bot', `${server.url}/v1/keys`);
      const rpc = async (text: string) => {
        const res = await fetch(`${server.url}/mcp`, {
          method: 'POST',
          headers: { authorization: `Bearer ${mcp}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'gh__echo', arguments: { text } } }),
        });
        return ((await res.json()) as { result: { content: { text: string }[] } }).result.content[0]!.text;
      };
      const first = await rpc('write to olivia@example.com');
      expect(first).toMatch(/^echo: write to tok_email_v1_[A-Za-z0-9_-]{22}$/);
      // Deterministic: the same value gives the same token, so joins still work.
      expect(await rpc('cc olivia@example.com')).toBe(`echo: cc ${first.slice('echo: write to '.length)}`);
      const res = await fetch(`${server.url}/v1/tokens/detokenize`, {
        method: 'POST',
        headers: { authorization: `Bearer ${support}`, 'content-type': 'application/json' },
        body: JSON.stringify({ tokens: [first.slice('echo: write to '.length)] }),
      });
      expect(await res.json()).toEqual({ results: [{ value: 'olivia@example.com', type: 'email' }] });
    } finally {
      await server.close();
    }
  });

  it('has no tokenizer and no detokenize route without screen.tokenizationKey', async () => {
    const server = await start();
    try {
      expect(server.kms.tokenizer).toBeUndefined();
      const res = await fetch(`${server.url}/v1/tokens/detokenize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tokens: ['x'] }) });
      expect(res.status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
