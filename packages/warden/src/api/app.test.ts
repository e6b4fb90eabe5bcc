import { Writable } from 'node:stream';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { WardenError } from '../errors/index.js';
import { createLogger } from '../log/index.js';
import { buildApp } from './app.js';
import { healthRoutes, type HealthProbe } from './health.js';

// Routes that exist only in this test, to drive the boundary (body parsing, validation, errors).
const testRoutes: FastifyPluginAsync = async (instance) => {
  const app = instance.withTypeProvider<ZodTypeProvider>();
  app.post('/test/echo', { schema: { body: z.strictObject({ name: z.string().max(10) }) } }, async (req) => req.body);
  app.get('/test/boom', async () => {
    throw new Error('SELECT secret FROM table -- internal detail');
  });
  app.get('/test/missing', async () => {
    throw new WardenError('WARDEN_NOT_FOUND', 'agent "x" not found');
  });
};

function probe(overrides: Partial<HealthProbe> = {}): HealthProbe {
  return {
    version: '9.9.9',
    storeKind: 'sqlite',
    sealKind: 'file',
    storeReachable: async () => true,
    unsealed: () => true,
    auditHealthy: () => true,
    auditStatus: async () => ({ healthy: true, size: 3, checkpointSize: 2, sinks: [] }),
    isAdmin: async (request) => request.headers.authorization === 'Bearer wdn_admin',
    ...overrides,
  };
}

const expectProblem = (res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, status: number, code: string) => {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json() as Record<string, unknown>;
  expect(body).toMatchObject({ status, code, type: `urn:warden:error:${code}` });
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  expect(body.requestId).toBe(res.headers['x-request-id']);
  return body;
};

describe('HTTP boundary', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildApp({
      logger: createLogger({ level: 'silent' }),
      bodyLimit: 2048,
      routes: [healthRoutes(probe()), testRoutes],
    });
  });
  afterAll(async () => app.close());

  it('answers /healthz and /readyz', async () => {
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', checks: { store: 'ok', seal: 'unsealed', audit: 'ok' } });
  });

  it('returns problem+json for an unknown route', async () => {
    expectProblem(await app.inject('/nope'), 404, 'WARDEN_ROUTE_NOT_FOUND');
    expectProblem(await app.inject({ method: 'DELETE', url: '/healthz' }), 404, 'WARDEN_ROUTE_NOT_FOUND');
  });

  it('returns problem+json for malformed and empty JSON', async () => {
    const headers = { 'content-type': 'application/json' };
    expectProblem(await app.inject({ method: 'POST', url: '/test/echo', headers, payload: '{"name":' }), 400, 'WARDEN_MALFORMED_JSON');
    expectProblem(await app.inject({ method: 'POST', url: '/test/echo', headers, payload: '' }), 400, 'WARDEN_MALFORMED_JSON');
    expectProblem(
      await app.inject({ method: 'POST', url: '/test/echo', headers, payload: '{"__proto__":{"x":1},"name":"a"}' }),
      400,
      'WARDEN_MALFORMED_JSON',
    );
  });

  it('returns 413 for a body over the limit', async () => {
    const payload = JSON.stringify({ name: 'x'.repeat(4096) });
    expectProblem(
      await app.inject({ method: 'POST', url: '/test/echo', headers: { 'content-type': 'application/json' }, payload }),
      413,
      'WARDEN_PAYLOAD_TOO_LARGE',
    );
  });

  it('returns 415 for an unsupported content type', async () => {
    expectProblem(
      await app.inject({ method: 'POST', url: '/test/echo', headers: { 'content-type': 'application/xml' }, payload: '<a/>' }),
      415,
      'WARDEN_UNSUPPORTED_MEDIA_TYPE',
    );
  });

  it('returns 400 with paths for a body that fails its schema', async () => {
    const body = expectProblem(
      await app.inject({ method: 'POST', url: '/test/echo', payload: { name: 'x'.repeat(11), extra: 1 } }),
      400,
      'WARDEN_VALIDATION_FAILED',
    );
    expect(Array.isArray(body.errors)).toBe(true);
    expect((await app.inject({ method: 'POST', url: '/test/echo', payload: { name: 'ok' } })).json()).toEqual({ name: 'ok' });
  });

  it('never leaks internals from an unexpected error', async () => {
    const res = await app.inject('/test/boom');
    const body = expectProblem(res, 500, 'WARDEN_INTERNAL');
    expect(res.body).not.toContain('SELECT');
    expect(res.body).not.toContain('stack');
    expect(body.detail).toBe('an internal error occurred');
  });

  it('keeps the code and safe message of a WardenError', async () => {
    const body = expectProblem(await app.inject('/test/missing'), 404, 'WARDEN_NOT_FOUND');
    expect(body.detail).toBe('agent "x" not found');
  });

  it('echoes a well-formed x-request-id and replaces a malformed one', async () => {
    expect((await app.inject({ url: '/healthz', headers: { 'x-request-id': 'abc-123' } })).headers['x-request-id']).toBe('abc-123');
    const replaced = (await app.inject({ url: '/healthz', headers: { 'x-request-id': 'bad id\u0000<script>' } })).headers['x-request-id'];
    expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
    expect((await app.inject('/healthz')).headers['cache-control']).toBe('no-store');
  });
});

describe('readiness', () => {
  it('writes one access line per request, with the request id and secrets in the URL redacted', async () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const logged = await buildApp({ logger: createLogger({ level: 'info', destination }), bodyLimit: 2048, routes: [testRoutes] });
    try {
      const res = await logged.inject({ method: 'POST', url: '/test/echo?access_token=t0k-SECRET', payload: { name: 'x' }, headers: { 'x-request-id': 'req-12345678' } });
      expect(res.statusCode).toBe(200);
      await logged.close(); // onResponse runs after inject resolves; closing waits for it
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ msg: 'request completed', reqId: 'req-12345678', req: { method: 'POST', url: '/test/echo?access_token=[REDACTED]' }, res: { statusCode: 200 } });
      expect(JSON.stringify(lines)).not.toContain('t0k-SECRET');
    } finally {
      await logged.close();
    }
  });

  it('reports 503 when the store is unreachable', async () => {
    const app = await buildApp({
      logger: createLogger({ level: 'silent' }),
      bodyLimit: 2048,
      routes: [healthRoutes(probe({ storeReachable: async () => false }))],
    });
    const res = await app.inject('/readyz');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'not_ready', checks: { store: 'unavailable', seal: 'unsealed', audit: 'ok' } });
    const anonymous = await app.inject('/v1/status');
    expect(anonymous.json()).toEqual({ version: '9.9.9', store: { kind: 'sqlite', reachable: false }, seal: { kind: 'file', state: 'unsealed' } });
    const status = await app.inject({ url: '/v1/status', headers: { authorization: 'Bearer wdn_admin' } });
    expect(status.json()).toEqual({
      version: '9.9.9',
      store: { kind: 'sqlite', reachable: false },
      seal: { kind: 'file', state: 'unsealed' },
      audit: { healthy: true, size: 3, checkpointSize: 2, sinks: [] },
    });
    await app.close();
  });

  it('reports 503 when the audit log cannot be written', async () => {
    const app = await buildApp({
      logger: createLogger({ level: 'silent' }),
      bodyLimit: 2048,
      routes: [healthRoutes(probe({ auditHealthy: () => false }))],
    });
    const res = await app.inject('/readyz');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'not_ready', checks: { store: 'ok', seal: 'unsealed', audit: 'unavailable' } });
    await app.close();
  });
});
