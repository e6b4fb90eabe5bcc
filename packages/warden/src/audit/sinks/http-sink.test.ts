/**
 * The HTTP sink against real receivers on 127.0.0.1: the `ocsf` JSON array with a bearer token, the
 * Splunk HEC newline-separated events with `Authorization: Splunk`, HTTPS with a configured CA,
 * rejection on non-2xx, timeouts and refused connections, and a missing token as a config error that
 * never reveals the token.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { isWardenError } from '../../errors/index.js';
import { createLogger } from '../../log/index.js';
import { createCertificateAuthority } from '../../testing/certificates.js';
import { createHttpSink, type HttpSinkConfig } from './http-sink.js';
import { toOcsfEvent, type OcsfEvent } from './ocsf.js';
import type { AuditSink } from './sink.js';
import { makeEntry, startHttpReceiver, type HttpReceiver } from '../../testing/audit-sinks.js';

const logger = createLogger({ level: 'silent' });
const events = (from: number, count: number): OcsfEvent[] =>
  Array.from({ length: count }, (_, i) => toOcsfEvent(makeEntry(from + i)));
const unavailable = (e: unknown) => isWardenError(e, 'WARDEN_AUDIT_UNAVAILABLE');

let receiver: HttpReceiver | undefined;
let sink: AuditSink | undefined;
afterEach(async () => {
  await sink?.close();
  await receiver?.stop();
  sink = undefined;
  receiver = undefined;
});

const config = (url: string, extra: Partial<HttpSinkConfig> = {}): HttpSinkConfig => ({
  kind: 'http',
  name: 'siem',
  url,
  format: 'ocsf',
  batchSize: 500,
  timeout: 2_000,
  ...extra,
});

describe('http sink', () => {
  it('POSTs a JSON array of OCSF events with a bearer token', async () => {
    receiver = await startHttpReceiver();
    sink = createHttpSink(config(receiver.url, { tokenEnv: 'SIEM_TOKEN' }), { env: { SIEM_TOKEN: 'tok-123' }, logger });
    const batch = events(0, 3);
    await sink.send(batch);
    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/ingest');
    expect(request?.headers.authorization).toBe('Bearer tok-123');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request?.body ?? '')).toEqual(batch);
  });

  it('sends no authorization header without a token', async () => {
    receiver = await startHttpReceiver();
    sink = createHttpSink(config(receiver.url), { env: {}, logger });
    await sink.send(events(0, 1));
    expect(receiver.requests[0]?.headers).not.toHaveProperty('authorization');
  });

  it('POSTs Splunk HEC events with the Splunk token', async () => {
    receiver = await startHttpReceiver();
    sink = createHttpSink(config(receiver.url, { format: 'splunk-hec', tokenEnv: 'HEC_TOKEN' }), {
      env: { HEC_TOKEN: 'hec-secret' },
      logger,
      hostname: 'warden-1',
    });
    const batch = [...events(0, 2), toOcsfEvent({ index: 2, leafHash: Buffer.alloc(32), body: null })];
    await sink.send(batch);
    const [request] = receiver.requests;
    expect(request?.headers.authorization).toBe('Splunk hec-secret');
    const lines = (request?.body ?? '').split('\n');
    expect(lines).toHaveLength(3);
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed[0]).toEqual({ time: 1_700_000_000, host: 'warden-1', source: 'warden', sourcetype: 'ocsf', event: batch[0] });
    expect(parsed[1]?.time).toBe(1_700_000_000.001);
    expect(parsed[2]).not.toHaveProperty('time');
    expect(parsed[2]?.event).toEqual(batch[2]);
  });

  it('rejects on a non-2xx answer, and accepts once the receiver does', async () => {
    receiver = await startHttpReceiver();
    sink = createHttpSink(config(receiver.url), { env: {}, logger });
    for (const status of [500, 503, 401, 302]) {
      receiver.status = status;
      await expect(sink.send(events(0, 1))).rejects.toSatisfy(
        (e) => unavailable(e) && (e as { details?: { status?: number } }).details?.status === status,
      );
    }
    receiver.status = 204;
    await sink.send(events(0, 1));
    expect(receiver.requests).toHaveLength(1);
  });

  it('rejects when the receiver is slower than the timeout', async () => {
    receiver = await startHttpReceiver();
    receiver.delay = 1_000;
    sink = createHttpSink(config(receiver.url, { timeout: 100 }), { env: {}, logger });
    await expect(sink.send(events(0, 1))).rejects.toSatisfy(unavailable);
  });

  it('rejects when nothing listens', async () => {
    receiver = await startHttpReceiver();
    const url = receiver.url;
    await receiver.stop();
    receiver = undefined;
    sink = createHttpSink(config(url), { env: {}, logger });
    await expect(sink.send(events(0, 1))).rejects.toSatisfy(unavailable);
  });

  it('uses HTTPS verified against the configured CA', async () => {
    const ca = await createCertificateAuthority();
    const dir = await mkdtemp(join(tmpdir(), 'warden-http-sink-'));
    try {
      const caPath = join(dir, 'ca.pem');
      await writeFile(caPath, ca.cert);
      receiver = await startHttpReceiver({ tls: await ca.issue('localhost', 'server') });
      sink = createHttpSink(config(receiver.url, { ca: caPath }), { env: {}, logger });
      await sink.send(events(0, 2));
      expect(receiver.requests).toHaveLength(1);
      await sink.close();
      // Without the CA, the system roots do not trust the receiver.
      sink = createHttpSink(config(receiver.url), { env: {}, logger });
      await expect(sink.send(events(0, 1))).rejects.toSatisfy(unavailable);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses to build without the token variable, and never logs the token', async () => {
    expect(() => createHttpSink(config('http://127.0.0.1:1/x', { tokenEnv: 'MISSING' }), { env: {}, logger })).toThrow(
      expect.objectContaining({ code: 'WARDEN_CONFIG_INVALID' }) as unknown,
    );
    const lines: string[] = [];
    const debugLogger = createLogger({
      level: 'trace',
      destination: new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    });
    receiver = await startHttpReceiver();
    sink = createHttpSink(config(receiver.url, { tokenEnv: 'T' }), { env: { T: 'very-secret-token' }, logger: debugLogger });
    await sink.send(events(0, 1));
    receiver.status = 500;
    await sink.send(events(1, 1)).catch((err: unknown) => debugLogger.warn({ err }, 'failed'));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('')).not.toContain('very-secret-token');
  });
});
