import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../log/index.js';
import { openTestAuditLog, sampleEvent, type TestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { buildApp } from './app.js';
import { auditRoutes } from './audit.js';

const sqlite = storeBackends.find((b) => b.name === 'sqlite')!;

describe('audit routes', () => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let app: FastifyInstance;

  beforeAll(async () => {
    opened = await sqlite.openMigrated();
    audit = await openTestAuditLog(opened.store);
    app = await buildApp({ logger: createLogger({ level: 'silent' }), bodyLimit: 4096, routes: [auditRoutes(audit.log)] });
  });
  afterAll(async () => {
    await app.close();
    await audit.log.close();
    await opened.cleanup();
  });

  it('is refused to callers that are not on this machine', async () => {
    for (const remoteAddress of ['10.0.0.7', '192.168.1.2', '::ffff:10.0.0.7', '2001:db8::1']) {
      const res = await app.inject({ url: '/v1/audit/verifier-key', remoteAddress });
      expect(res.statusCode, remoteAddress).toBe(403);
      expect(res.json()).toMatchObject({ code: 'WARDEN_FORBIDDEN' });
    }
    for (const remoteAddress of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
      expect((await app.inject({ url: '/v1/audit/verifier-key', remoteAddress })).statusCode, remoteAddress).toBe(200);
    }
  });

  it('has no checkpoint before the first one is signed', async () => {
    const res = await app.inject('/v1/audit/checkpoint');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'WARDEN_NOT_FOUND' });
  });

  it('validates proof and paging parameters against the log', async () => {
    for (let i = 0; i < 5; i++) await audit.log.append(sampleEvent(i));
    await audit.log.signCheckpoint();
    const bad = [
      '/v1/audit/proof/inclusion?index=5&size=5',
      '/v1/audit/proof/inclusion?index=0&size=6',
      '/v1/audit/proof/inclusion?index=-1&size=5',
      '/v1/audit/proof/inclusion?index=x&size=5',
      '/v1/audit/proof/consistency?from=4&to=3',
      '/v1/audit/proof/consistency?from=0&to=3',
      '/v1/audit/proof/consistency?from=1&to=99',
      '/v1/audit/entries?limit=1001',
      '/v1/audit/entries?bogus=1',
      '/v1/audit/frontier?size=6',
    ];
    for (const url of bad) {
      const res = await app.inject(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json<{ code: string }>().code, url).toBe('WARDEN_VALIDATION_FAILED');
    }
    const ok = await app.inject('/v1/audit/proof/inclusion?index=2&size=5');
    expect(ok.statusCode).toBe(200);
    expect(ok.json<{ proof: string[] }>().proof).toHaveLength(3);
    const note = await app.inject('/v1/audit/checkpoint');
    expect(note.headers['content-type']).toMatch(/^text\/plain/);
    expect(note.body.split('\n')[1]).toBe('5');
  });
});
