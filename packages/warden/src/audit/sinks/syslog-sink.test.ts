/**
 * The syslog sink against real collectors on 127.0.0.1: octet-counted RFC 5424 messages over TCP and
 * TLS (certificates made at test time), structured-data escaping, reconnecting after the collector
 * restarts (with and without replay of the lost connection's last batches), refusing an untrusted certificate, and rejecting while the collector is down.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isWardenError } from '../../errors/index.js';
import { createLogger } from '../../log/index.js';
import { createCertificateAuthority, type CertificateAuthority, type Pem } from '../../testing/certificates.js';
import { toOcsfEvent, type OcsfEvent } from './ocsf.js';
import { escapeParamValue, formatSyslogMessage, frameOctetCounting } from './syslog-format.js';
import { createSyslogSink, type SyslogSinkConfig } from './syslog-sink.js';
import type { AuditSink } from './sink.js';
import { makeEntry, parseRfc5424, startSyslogReceiver, until, type SyslogReceiver } from '../../testing/audit-sinks.js';

const logger = createLogger({ level: 'silent' });
const events = (from: number, count: number): OcsfEvent[] =>
  Array.from({ length: count }, (_, i) => toOcsfEvent(makeEntry(from + i, { details: { note: 'caf\u00e9 "q" ]\\ \u{1f600}' } })));

let receiver: SyslogReceiver | undefined;
let sink: AuditSink | undefined;
afterEach(async () => {
  await sink?.close();
  await receiver?.stop();
  sink = undefined;
  receiver = undefined;
});

const config = (port: number, extra: Partial<SyslogSinkConfig> = {}): SyslogSinkConfig => ({
  kind: 'syslog',
  name: 'siem',
  host: '127.0.0.1',
  port,
  appName: 'warden',
  ...extra,
});

describe('syslog format', () => {
  it('escapes ", \\ and ] in PARAM-VALUE', () => {
    expect(escapeParamValue('a"b\\c]d[e')).toBe('a\\"b\\\\c\\]d[e');
  });

  it('frames with the octet count of the UTF-8 message', () => {
    expect(frameOctetCounting('<110>1 - - - - - - é').toString('utf8')).toBe('21 <110>1 - - - - - - é');
  });

  it('writes a strict RFC 5424 message with facility 13 and the OCSF event as ASCII JSON', () => {
    const event = events(7, 1)[0]!;
    event.unmapped.warden.leaf_hash = 'ab"c]\\'; // exercise escaping through the parser
    const message = formatSyslogMessage(event, { appName: 'warden', hostname: 'host one\u00e9', procId: '42' });
    const parsed = parseRfc5424(message);
    expect(parsed).toMatchObject({ pri: 13 * 8 + 6, version: 1, hostname: 'hostone', appName: 'warden', procId: '42', msgId: 'ocsf.6003' });
    expect(parsed.timestamp).toBe(new Date(1_700_000_000_007).toISOString());
    expect(parsed.sd).toEqual([{ id: 'warden@32473', params: { index: '7', leafHash: 'ab"c]\\' } }]);
    expect(/^[\x20-\x7e]*$/.test(parsed.msg)).toBe(true);
    expect(JSON.parse(parsed.msg)).toEqual(event);
  });

  it('uses severity warning for failures and NILVALUE time for removed bodies', () => {
    const failed = toOcsfEvent(makeEntry(0, { outcome: 'failure' }));
    expect(parseRfc5424(formatSyslogMessage(failed, { appName: 'w', hostname: '', procId: '1' }))).toMatchObject({ pri: 108, hostname: '-' });
    const removed = toOcsfEvent({ index: 5, leafHash: Buffer.alloc(32), body: null });
    expect(parseRfc5424(formatSyslogMessage(removed, { appName: 'w', hostname: 'h', procId: '1' })).timestamp).toBe('-');
  });
});

describe('syslog sink over TCP', () => {
  it('delivers octet-counted RFC 5424 frames in order', async () => {
    receiver = await startSyslogReceiver();
    sink = createSyslogSink(config(receiver.port), { logger, hostname: 'warden-test' });
    await sink.send(events(0, 3));
    await sink.send(events(3, 200));
    const r = receiver;
    await until(() => r.messages.length === 203);
    expect(r.errors).toEqual([]);
    expect(r.connections).toBe(1);
    const parsed = r.messages.map(parseRfc5424);
    expect(parsed.map((m) => m.sd[0]?.params.index)).toEqual(Array.from({ length: 203 }, (_, i) => String(i)));
    expect(parsed.every((m) => m.hostname === 'warden-test' && m.appName === 'warden')).toBe(true);
    expect((JSON.parse(parsed[0]!.msg) as OcsfEvent).details).toEqual({ note: 'caf\u00e9 "q" ]\\ \u{1f600}' });
  });

  it.each([
    ['replays what the lost connection carried lately', 10_000, ['0', '2', '3']],
    ['replays nothing with replay off', 0, ['2', '3']],
  ])('rejects while the collector is down, reconnects when it is back, and %s', async (_name, replayWindow, expected) => {
    receiver = await startSyslogReceiver();
    const port = receiver.port;
    sink = createSyslogSink(config(port), { logger, replayWindow });
    await sink.send(events(0, 1));
    await receiver.stop();
    receiver = undefined;
    // The closed connection is noticed and the next send cannot connect.
    await until(async () => {
      try {
        await sink!.send(events(1, 1));
        return false;
      } catch (err) {
        expect(isWardenError(err, 'WARDEN_AUDIT_UNAVAILABLE')).toBe(true);
        return true;
      }
    });
    receiver = await startSyslogReceiver({ port });
    await sink.send(events(2, 2));
    const r = receiver;
    await until(() => r.messages.length === expected.length);
    expect(r.messages.map((m) => parseRfc5424(m).sd[0]?.params.index)).toEqual(expected);
    expect(r.connections).toBe(1);
  });
});

describe('syslog sink over TLS', () => {
  let ca: CertificateAuthority;
  let server: Pem;
  let dir: string;
  let caPath: string;
  beforeAll(async () => {
    ca = await createCertificateAuthority();
    server = await ca.issue('localhost', 'server');
    dir = await mkdtemp(join(tmpdir(), 'warden-syslog-'));
    caPath = join(dir, 'ca.pem');
    await writeFile(caPath, ca.cert);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('delivers over TLS verified against the configured CA', async () => {
    receiver = await startSyslogReceiver({ tls: server });
    sink = createSyslogSink(config(receiver.port, { tls: { ca: caPath } }), { logger });
    await sink.send(events(0, 5));
    const r = receiver;
    await until(() => r.messages.length === 5);
    expect(r.messages.map((m) => parseRfc5424(m).sd[0]?.params.index)).toEqual(['0', '1', '2', '3', '4']);
  });

  it('checks the configured server name', async () => {
    receiver = await startSyslogReceiver({ tls: server });
    sink = createSyslogSink(config(receiver.port, { tls: { ca: caPath, serverName: 'localhost' } }), { logger });
    await sink.send(events(0, 1));
    await sink.close();
    sink = createSyslogSink(config(receiver.port, { tls: { ca: caPath, serverName: 'other.example' } }), { logger });
    await expect(sink.send(events(0, 1))).rejects.toSatisfy((e) => isWardenError(e, 'WARDEN_AUDIT_UNAVAILABLE'));
  });

  it('refuses a collector whose certificate the CA did not sign', async () => {
    const other = await createCertificateAuthority('Other CA');
    receiver = await startSyslogReceiver({ tls: await other.issue('localhost', 'server') });
    sink = createSyslogSink(config(receiver.port, { tls: { ca: caPath } }), { logger });
    await expect(sink.send(events(0, 1))).rejects.toSatisfy((e) => isWardenError(e, 'WARDEN_AUDIT_UNAVAILABLE'));
    expect(receiver.messages).toEqual([]);
  });

  it('fails at build time when the CA file is missing', () => {
    expect(() => createSyslogSink(config(6514, { tls: { ca: join(dir, 'missing.pem') } }), { logger })).toThrow(
      expect.objectContaining({ code: 'WARDEN_CONFIG_INVALID' }) as unknown,
    );
  });
});
