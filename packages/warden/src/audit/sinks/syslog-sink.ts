/**
 * The syslog sink: RFC 5424 messages (see syslog-format.ts), octet-counted (RFC 6587 §3.4.1), over one
 * long-lived TCP connection, or TLS (RFC 5425) verified against the configured CA (or the system
 * roots) with TLS 1.2 at least. The connection is opened on the first send and re-opened on the next
 * send after any failure (the runner's backoff paces the attempts). A batch is accepted once all its
 * frames are written and flushed to the connection. Syslog has no application-level acknowledgement,
 * so to narrow the window in which a dying collector loses accepted data, a connection the peer closed
 * is noticed before writing, and when a connection is lost shortly after a batch was written, that
 * batch is written again on the next connection (a duplicate the entry index identifies).
 */
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import type { SinkConfig } from '../../config/schema.js';
import { WardenError } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import { readCa } from './ca-file.js';
import { formatSyslogMessage, frameOctetCounting, type SyslogHeader } from './syslog-format.js';
import type { AuditSink } from './sink.js';

/** Most bytes kept for replay after a lost connection. */
const MAX_REPLAY_BYTES = 8 * 1024 * 1024;

export type SyslogSinkConfig = Extract<SinkConfig, { kind: 'syslog' }>;

export interface SyslogSinkDeps {
  readonly logger: Logger;
  /** HOSTNAME of the messages; the machine's host name by default. */
  readonly hostname?: string;
  /** PROCID of the messages; this process id by default. */
  readonly procId?: string;
  /** Most milliseconds to connect (and finish the TLS handshake); 10 s by default. */
  readonly connectTimeout?: number;
  /** Most milliseconds for a batch to be flushed to the connection; 30 s by default. */
  readonly writeTimeout?: number;
  /**
   * Batches written on a connection in the last this many ms before it is lost are written again,
   * first, on the next connection (they may have sat unread in the collector); 10 s by default, 0 to
   * turn replay off. At most 8 MiB is kept.
   */
  readonly replayWindow?: number;
}

export function createSyslogSink(config: SyslogSinkConfig, deps: SyslogSinkDeps): AuditSink {
  const ca = config.tls?.ca === undefined ? undefined : readCa(config.tls.ca);
  const header: SyslogHeader = {
    appName: config.appName,
    hostname: deps.hostname ?? osHostname(),
    procId: deps.procId ?? String(process.pid),
  };
  const connectTimeout = deps.connectTimeout ?? 10_000;
  const writeTimeout = deps.writeTimeout ?? 30_000;
  const replayWindow = deps.replayWindow ?? 10_000;
  const { logger } = deps;
  let socket: Socket | undefined;
  let closed = false;
  /** Batches accepted on the current connection within the replay window, oldest first. */
  let recent: { frames: Buffer; at: number }[] = [];
  /** Frames to write again before the next batch, because their connection was lost soon after. */
  let replay: Buffer | undefined;

  function remember(frames: Buffer): void {
    if (replayWindow <= 0) return;
    const now = Date.now();
    recent.push({ frames, at: now });
    let bytes = recent.reduce((sum, r) => sum + r.frames.length, 0);
    while (recent.length > 0 && (now - (recent[0]?.at ?? now) > replayWindow || bytes > MAX_REPLAY_BYTES)) {
      bytes -= recent.shift()?.frames.length ?? 0;
    }
  }

  /** Forgets the connection `s`, keeping what was written on it lately for replay. */
  function lost(s: Socket): void {
    s.destroy();
    if (socket !== s) return;
    socket = undefined;
    const cutoff = Date.now() - replayWindow;
    const again = recent.filter((r) => r.at >= cutoff).map((r) => r.frames);
    recent = [];
    if (!closed && again.length > 0) replay = Buffer.concat(replay === undefined ? again : [replay, ...again]);
  }

  const unavailable = (message: string, cause?: unknown) =>
    new WardenError('WARDEN_AUDIT_UNAVAILABLE', message, {
      cause,
      details: { sink: config.name, host: config.host, port: config.port },
    });

  function open(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s =
        config.tls === undefined
          ? netConnect({ host: config.host, port: config.port })
          : tlsConnect({
              host: config.host,
              port: config.port,
              minVersion: 'TLSv1.2',
              rejectUnauthorized: true,
              ...(ca === undefined ? {} : { ca }),
              ...(config.tls.serverName !== undefined
                ? { servername: config.tls.serverName }
                : isIP(config.host) === 0
                  ? { servername: config.host }
                  : {}),
            });
      const timer = setTimeout(() => s.destroy(new Error(`connect timed out after ${connectTimeout} ms`)), connectTimeout);
      const onError = (err: Error) => {
        clearTimeout(timer);
        s.destroy();
        reject(unavailable('cannot connect to the syslog collector', err));
      };
      s.once('error', onError);
      s.once(config.tls === undefined ? 'connect' : 'secureConnect', () => {
        clearTimeout(timer);
        s.off('error', onError);
        s.on('error', (err: Error) => logger.warn({ err: err.message }, 'syslog connection failed'));
        s.once('close', () => lost(s));
        s.once('end', () => lost(s));
        s.setKeepAlive(true, 30_000);
        s.resume(); // collectors do not talk back; discard anything they send
        logger.debug({ tls: config.tls !== undefined }, 'syslog connection open');
        resolve(s);
      });
    });
  }

  function write(s: Socket, data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (err?: Error | null) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        s.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onClose = () => finish(new Error('connection closed'));
      const timer = setTimeout(() => {
        finish(new Error(`write timed out after ${writeTimeout} ms`));
        s.destroy();
      }, writeTimeout);
      s.once('close', onClose);
      s.write(data, finish);
    });
  }

  return {
    name: config.name,
    async send(batch) {
      if (closed) throw unavailable('audit sink is closed');
      if (batch.length === 0) return;
      const data = Buffer.concat(batch.map((event) => frameOctetCounting(formatSyslogMessage(event, header))));
      // Let pending I/O events run first, so a connection the collector already closed is noticed
      // before a batch is written into it (a write into a half-closed TCP connection "succeeds").
      await new Promise((resolve) => setImmediate(resolve));
      if (socket !== undefined && (socket.destroyed || !socket.writable || socket.readableEnded)) lost(socket);
      if (socket === undefined) {
        const opened = await open();
        if (closed) {
          opened.destroy();
          throw unavailable('audit sink is closed');
        }
        socket = opened;
      }
      const s = socket;
      const again = replay;
      try {
        await write(s, again === undefined ? data : Buffer.concat([again, data]));
      } catch (err) {
        lost(s);
        throw unavailable('syslog write failed', err);
      }
      if (replay === again) replay = undefined;
      if (again !== undefined) remember(again);
      remember(data);
      logger.debug({ events: batch.length, replayed: again !== undefined }, 'audit batch delivered');
    },
    async close() {
      closed = true;
      const s = socket;
      socket = undefined;
      replay = undefined;
      recent = [];
      if (s === undefined || s.destroyed) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => s.destroy(), 1_000);
        s.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        s.end();
      });
    },
  };
}
