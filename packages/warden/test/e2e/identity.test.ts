import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initWithAdmin, login } from './admin.js';
import { runWarden, startWardenProcess, type ServerProcess } from './process.js';

describe('identity (end to end)', () => {
  let server: ServerProcess;
  let env: Record<string, string>;
  let adminToken: string;

  beforeAll(async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'warden-identity-')), 'data');
    const admin = await initWithAdmin(dataDir);
    server = await startWardenProcess(['--data-dir', dataDir, '--listen', '127.0.0.1:0']);
    adminToken = await login(server.url, admin);
    env = { WARDEN_TOKEN: adminToken, WARDEN_ADDR: server.url };
  });
  afterAll(async () => {
    await server?.stop();
  });

  const whoami = (authorization?: string) =>
    fetch(`${server.url}/v1/whoami`, { headers: authorization ? { authorization } : {} });

  async function token(clientId: string, secret: string): Promise<Response> {
    return fetch(`${server.url}/oauth2/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
  }

  it('knows the admin', async () => {
    const res = await whoami(`Bearer ${adminToken}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ kind: 'admin', admin: 'admin', role: 'admin' });
    const anonymous = await whoami();
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ code: 'WARDEN_UNAUTHENTICATED' });
  });

  it('creates an agent and a client secret from the CLI; the agent gets a token and is known by it', async () => {
    const created = await runWarden(['agents', 'create', 'billing-bot', '--owner', 'payments', '--role', 'reader', '--label', 'team=pay', '--region', 'eu', '--json'], { env });
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ name: 'billing-bot', owner: 'payments', status: 'active', region: 'eu' });

    const credential = await runWarden(['agents', 'credentials', 'add', 'billing-bot', '--secret', '--json'], { env });
    expect(credential.code, credential.stderr).toBe(0);
    const { secret } = JSON.parse(credential.stdout) as { secret: string };
    expect(secret).toMatch(/^wsec_/);

    const issued = await token('billing-bot', secret);
    expect(issued.status).toBe(200);
    const body = (await issued.json()) as { access_token: string; token_type: string; expires_in: number };
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 300 });

    const me = await whoami(`Bearer ${body.access_token}`);
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ kind: 'agent', agent: 'billing-bot', audience: `${server.url}/mcp` });

    const wrong = await token('billing-bot', `${secret}x`);
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('refuses a revoked token and a disabled agent on the very next request', async () => {
    const { secret } = JSON.parse(
      (await runWarden(['agents', 'credentials', 'add', 'billing-bot', '--secret', '--json'], { env })).stdout,
    ) as { secret: string };
    const first = ((await (await token('billing-bot', secret)).json()) as { access_token: string }).access_token;
    expect((await whoami(`Bearer ${first}`)).status).toBe(200);
    const revoked = await fetch(`${server.url}/oauth2/revoke`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`billing-bot:${secret}`).toString('base64')}`,
      },
      body: `token=${first}`,
    });
    expect(revoked.status).toBe(200);
    expect((await whoami(`Bearer ${first}`)).status).toBe(401);

    const second = ((await (await token('billing-bot', secret)).json()) as { access_token: string }).access_token;
    expect((await whoami(`Bearer ${second}`)).status).toBe(200);
    const disabled = await runWarden(['agents', 'disable', 'billing-bot'], { env });
    expect(disabled.code, disabled.stderr).toBe(0);
    const refused = await whoami(`Bearer ${second}`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/invalid_token/);
  });

  it('puts the audit API behind auditor or admin', async () => {
    expect((await fetch(`${server.url}/v1/audit/verifier-key`)).status).toBe(401);
    const run = await runWarden(['audit', 'verify'], { env });
    expect(run.code, run.stderr).toBe(0);
  });
});
