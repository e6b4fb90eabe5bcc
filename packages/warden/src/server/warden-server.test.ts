import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { TOTP } from 'otpauth';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../log/index.js';
import { createCertificateAuthority } from '../testing/certificates.js';
import { dropPostgresSchema, testPostgresUrl as postgresUrl } from '../testing/stores.js';
import { initDataDir } from './data-dir.js';
import { startWarden, type WardenServer } from './warden-server.js';

const logger = createLogger({ level: 'silent' });

async function initialized(settings: Record<string, unknown> = {}) {
  const dir = join(mkdtempSync(join(tmpdir(), 'warden-server-')), 'data');
  const { admin } = await initDataDir({ dataDir: dir, settings: { listen: { host: '127.0.0.1', port: 0 }, ...settings }, secrets: {} });
  return { dir, admin };
}

const dataDir = async (settings: Record<string, unknown> = {}) => (await initialized(settings)).dir;

const totpCode = (admin: { totpSecret: string }) =>
  new TOTP({ secret: admin.totpSecret, digits: 6, period: 30, algorithm: 'SHA1' }).generate();

async function start(dir: string, routes: FastifyPluginAsync[] = []): Promise<WardenServer> {
  return startWarden({ config: loadConfig({ flags: { dataDir: dir } }), secrets: {}, logger, routes });
}

describe('Warden server on PostgreSQL', () => {
  const schema = `warden_e2e_${randomBytes(6).toString('hex')}`;
  afterAll(async () => dropPostgresSchema(schema));

  it('initializes, migrates and reports ready', async () => {
    const dir = await dataDir({ store: { postgres: { url: postgresUrl, schema } } });
    const server = await start(dir);
    try {
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      expect(await (await fetch(`${server.url}/v1/status`)).json()).toMatchObject({ store: { kind: 'postgres', reachable: true } });
    } finally {
      await server.close();
    }
    // A second data directory cannot initialize the same PostgreSQL store with another root key.
    await expect(dataDir({ store: { postgres: { url: postgresUrl, schema } } })).rejects.toMatchObject({
      code: 'WARDEN_STORE_CONFLICT',
    });
  });
});

describe('audit sinks', () => {
  it('exports entries to a configured file sink and reports its lag in /v1/status', async () => {
    const { dir, admin } = await initialized({
      audit: { sinkPollInterval: '50ms', sinks: [{ kind: 'file', name: 'archive', path: 'audit.jsonl' }] },
    });
    const server = await start(dir);
    try {
      let lines: { unmapped: { warden: { index: number } }; action?: string }[] = [];
      for (let i = 0; i < 100 && lines.length < 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        const text = existsSync(join(dir, 'audit.jsonl')) ? readFileSync(join(dir, 'audit.jsonl'), 'utf8') : '';
        lines = text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as (typeof lines)[number]);
      }
      // warden.init, admin.create (the first admin), server.start
      expect(lines.map((l) => l.unmapped.warden.index)).toEqual([0, 1, 2]);
      const anonymous = (await (await fetch(`${server.url}/v1/status`)).json()) as { audit?: unknown };
      expect(anonymous.audit).toBeUndefined();
      const { token } = await server.identity.sessions.login({ username: admin.username, password: admin.password, totp: totpCode(admin) });
      const status = (await (await fetch(`${server.url}/v1/status`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
        audit: { size: number; sinks: unknown[] };
      };
      expect(status.audit.size).toBe(4); // + admin.login
      expect(status.audit.sinks).toMatchObject([{ name: 'archive', nextIndex: expect.any(Number) as number }]);
    } finally {
      await server.close();
    }
  });
});

describe('readiness', () => {
  it('turns not ready when the store goes away', async () => {
    const server = await start(await dataDir());
    try {
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      await server.runtime.store.close();
      const res = await fetch(`${server.url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: 'not_ready', checks: { store: 'unavailable', seal: 'unsealed', audit: 'ok' } });
    } finally {
      await server.http.close();
    }
  });
});

describe('graceful shutdown', () => {
  const slow = (ms: number): FastifyPluginAsync => async (app) => {
    app.get('/test/slow', async () => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return { done: true };
    });
  };

  it('lets an in-flight request finish and refuses new connections', async () => {
    const server = await start(await dataDir(), [slow(400)]);
    const inFlight = fetch(`${server.url}/test/slow`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closed = server.close();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ done: true });
    await closed;
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it('cuts requests that outlive the shutdown bound', async () => {
    const dir = await dataDir({ shutdown: { timeout: '200ms' } });
    const server = await start(dir, [slow(5_000)]);
    const inFlight = fetch(`${server.url}/test/slow`).then(
      () => 'answered',
      () => 'cut',
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const began = Date.now();
    await server.close();
    expect(Date.now() - began).toBeLessThan(3_000);
    expect(await inFlight).toBe('cut');
  });
});

describe('TLS', () => {
  interface Answer {
    status?: number;
    error?: string;
    protocol?: string;
  }
  const get = (url: string, options: { ca: string; cert?: string; key?: string; maxVersion?: 'TLSv1.2' }): Promise<Answer> =>
    new Promise((resolve) => {
      const req = httpsRequest(`${url}/healthz`, { ...options, agent: false }, (res) => {
        const protocol = (res.socket as TLSSocket).getProtocol() ?? undefined;
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, ...(protocol ? { protocol } : {}) }));
      });
      req.on('error', (err) => resolve({ error: err.message }));
      req.end();
    });

  async function tlsServer(clientCert?: 'require' | 'request') {
    const ca = await createCertificateAuthority();
    const clientCa = await createCertificateAuthority('Client CA');
    const serverPem = await ca.issue('localhost', 'server');
    const dir = mkdtempSync(join(tmpdir(), 'warden-tls-'));
    writeFileSync(join(dir, 'server.crt'), serverPem.cert);
    writeFileSync(join(dir, 'server.key'), serverPem.key, { mode: 0o600 });
    writeFileSync(join(dir, 'clients.crt'), clientCa.cert);
    const tls = {
      cert: join(dir, 'server.crt'),
      key: join(dir, 'server.key'),
      ...(clientCert ? { clientCa: join(dir, 'clients.crt'), clientCert } : {}),
    };
    const server = await start(await dataDir({ listen: { host: '127.0.0.1', port: 0, tls } }));
    return { server, ca, clientCa };
  }

  it('serves TLS 1.3 only', async () => {
    const { server, ca } = await tlsServer();
    try {
      expect(server.url).toMatch(/^https:/);
      expect(await get(server.url, { ca: ca.cert })).toEqual({ status: 200, protocol: 'TLSv1.3' });
      expect((await get(server.url, { ca: ca.cert, maxVersion: 'TLSv1.2' })).error).toBeTruthy();
    } finally {
      await server.close();
    }
  });

  it('requires a client certificate from the configured CA with mTLS', async () => {
    const { server, ca, clientCa } = await tlsServer('require');
    try {
      const good = await clientCa.issue('agent-1', 'client');
      expect((await get(server.url, { ca: ca.cert, ...good })).status).toBe(200);
      const noCert = await get(server.url, { ca: ca.cert });
      expect(noCert.status).toBeUndefined();
      const stranger = await (await createCertificateAuthority('Stranger CA')).issue('agent-2', 'client');
      expect((await get(server.url, { ca: ca.cert, ...stranger })).status).toBeUndefined();
    } finally {
      await server.close();
    }
  });
});
