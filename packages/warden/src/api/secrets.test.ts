import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminRole } from '../identity/types.js';
import { createLogger } from '../log/index.js';
import { MAX_SECRET_BYTES, createSecretStore, type SecretStore } from '../secrets/index.js';
import { openTestAuditLog, type TestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { buildApp } from './app.js';
import { secretRoutes } from './secrets.js';
import { fakeRequireAdmin } from '../testing/admin-auth.js';

const anyNumber: unknown = expect.any(Number);
const sqlite = storeBackends.find((b) => b.name === 'sqlite')!;


describe('secret routes', () => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let store: SecretStore;
  let app: FastifyInstance;
  const logLines: string[] = [];
  const as = (role: AdminRole) => ({ 'x-test-role': role });
  const marker = () => `VALUE-MARKER-${randomBytes(8).toString('hex')}`;

  beforeAll(async () => {
    opened = await sqlite.openMigrated();
    audit = await openTestAuditLog(opened.store);
    store = createSecretStore({ db: opened.store.db, barrier: audit.barrier, audit: audit.log });
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logLines.push(chunk.toString('utf8'));
        callback();
      },
    });
    app = await buildApp({
      logger: createLogger({ level: 'debug', destination }),
      bodyLimit: 65_536,
      routes: [secretRoutes({ store, requireAdmin: fakeRequireAdmin })],
    });
  });
  afterAll(async () => {
    await app.close();
    await audit.log.close();
    await opened.cleanup();
  });

  it('refuses callers without an admin role (401) and auditors and others (403), reading or writing', async () => {
    await store.set('existing', 'v', { actor: { type: 'admin', id: 'setup' } });
    const requests = [
      { method: 'GET', url: '/v1/secrets' },
      { method: 'PUT', url: '/v1/secrets/x1', payload: { value: 'v' } },
      { method: 'DELETE', url: '/v1/secrets/existing' },
    ] as const;
    for (const request of requests) {
      const anonymous = await app.inject(request);
      expect(anonymous.statusCode, `${request.method} ${request.url}`).toBe(401);
      expect(anonymous.json()).toMatchObject({ code: 'WARDEN_UNAUTHENTICATED' });
      for (const role of ['auditor', 'pdp'] as AdminRole[]) {
        const forbidden = await app.inject({ ...request, headers: as(role) });
        expect(forbidden.statusCode, `${role} ${request.method} ${request.url}`).toBe(403);
        expect(forbidden.json()).toMatchObject({ code: 'WARDEN_FORBIDDEN' });
      }
    }
    expect(await store.reveal('existing')).toBe('v');
    expect((await store.list()).map((s) => s.name)).toEqual(['existing']);
    expect((await app.inject({ url: '/v1/secrets', headers: as('security') })).statusCode).toBe(200);
  });

  it('creates (201), replaces (200), lists without values and deletes (204, then 404)', async () => {
    const first = marker();
    const created = await app.inject({ method: 'PUT', url: '/v1/secrets/github-pat', headers: as('admin'), payload: { value: first } });
    expect(created.statusCode).toBe(201);
    expect(created.headers['warden-audit-index']).toMatch(/^\d+$/);
    expect(created.json()).toEqual({ name: 'github-pat', createdAt: anyNumber, updatedAt: anyNumber });
    expect(created.body).not.toContain(first);
    const [entry] = await audit.log.entries(Number(created.headers['warden-audit-index']), 1);
    expect(JSON.parse(entry!.body!)).toMatchObject({
      action: 'secret.set',
      actor: { type: 'admin', id: 'admin-user' },
      resource: { type: 'secret', id: 'github-pat' },
      details: { created: true },
    });
    expect(await store.reveal('github-pat')).toBe(first);

    const second = marker();
    const replaced = await app.inject({ method: 'PUT', url: '/v1/secrets/github-pat', headers: as('security'), payload: { value: second } });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.headers['warden-audit-index']).toMatch(/^\d+$/);
    expect(replaced.json<{ createdAt: number }>().createdAt).toBe(created.json<{ createdAt: number }>().createdAt);
    expect(await store.reveal('github-pat')).toBe(second);

    const listed = await app.inject({ url: '/v1/secrets', headers: as('admin') });
    expect(listed.statusCode).toBe(200);
    expect(listed.json<{ secrets: { name: string }[] }>().secrets.map((s) => s.name)).toContain('github-pat');
    for (const secret of listed.json<{ secrets: Record<string, unknown>[] }>().secrets) expect(Object.keys(secret).sort()).toEqual(['createdAt', 'name', 'updatedAt']);
    expect(listed.body).not.toContain(first);
    expect(listed.body).not.toContain(second);
    expect(listed.body).not.toMatch(/"value"/);

    const deleted = await app.inject({ method: 'DELETE', url: '/v1/secrets/github-pat', headers: as('admin') });
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBe('');
    expect(deleted.headers['warden-audit-index']).toMatch(/^\d+$/);
    const gone = await app.inject({ method: 'DELETE', url: '/v1/secrets/github-pat', headers: as('admin') });
    expect(gone.statusCode).toBe(404);
    expect(gone.headers['content-type']).toContain('application/problem+json');
    expect(gone.json()).toMatchObject({ code: 'WARDEN_NOT_FOUND' });
    expect((await app.inject({ url: '/v1/secrets', headers: as('admin') })).body).not.toContain('github-pat');

    // No value in the audit log or the server's log lines either.
    for (const e of await audit.log.entries(0, 1000)) {
      expect(e.body).not.toContain(first);
      expect(e.body).not.toContain(second);
    }
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) {
      expect(line).not.toContain(first);
      expect(line).not.toContain(second);
    }
  });

  it('answers 400 problem+json for bad names and bodies, without echoing the value', async () => {
    const secretLooking = marker();
    const bad: { method: 'PUT' | 'DELETE'; url: string; payload?: unknown }[] = [
      { method: 'PUT', url: '/v1/secrets/Bad%20Name', payload: { value: 'v' } },
      { method: 'PUT', url: '/v1/secrets/UPPER', payload: { value: 'v' } },
      { method: 'PUT', url: `/v1/secrets/${'x'.repeat(64)}`, payload: { value: 'v' } },
      { method: 'PUT', url: '/v1/secrets/ok', payload: {} },
      { method: 'PUT', url: '/v1/secrets/ok', payload: { value: '' } },
      { method: 'PUT', url: '/v1/secrets/ok', payload: { value: 42 } },
      { method: 'PUT', url: '/v1/secrets/ok', payload: { value: 'v', extra: secretLooking } },
      { method: 'PUT', url: '/v1/secrets/ok', payload: { value: `${secretLooking}\u0000` } },
      { method: 'PUT', url: '/v1/secrets/ok', payload: { value: `${secretLooking}${'x'.repeat(MAX_SECRET_BYTES)}` } },
      { method: 'PUT', url: '/v1/secrets/ok', payload: { value: `${secretLooking}${'€'.repeat(MAX_SECRET_BYTES / 2)}` } },
      { method: 'DELETE', url: '/v1/secrets/UPPER' },
    ];
    for (const { method, url, payload } of bad) {
      const res = await app.inject({ method, url, headers: as('admin'), ...(payload === undefined ? {} : { payload: payload as object }) });
      expect(res.statusCode, `${method} ${url}`).toBe(400);
      expect(res.headers['content-type'], `${method} ${url}`).toContain('application/problem+json');
      expect(res.json<{ code: string }>().code, `${method} ${url}`).toBe('WARDEN_VALIDATION_FAILED');
      expect(res.body).not.toContain(secretLooking);
    }
    for (const line of logLines) expect(line).not.toContain(secretLooking);
    expect((await store.list()).map((s) => s.name)).not.toContain('ok');
  });
});
