/**
 * Test support for the sink tests (not part of the public API): an in-memory audit log implementing
 * the runner's `SinkLogReader`, real receivers on 127.0.0.1 (syslog over TCP or TLS with
 * octet-counting framing, HTTP or HTTPS), a strict RFC 5424 parser to check what the receivers got, and
 * a polling `until`.
 */
import { createHash } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { canonicalize } from '../audit/canonical-json.js';
import { entryBody, type AuditEntry, type AuditEvent } from '../audit/event.js';
import type { SinkCheckpoint } from '../audit/sinks/ocsf.js';
import type { SinkLogReader } from '../audit/sinks/sink-runner.js';

export interface FakeLog extends SinkLogReader {
  readonly all: AuditEntry[];
  /** Appends `count` entries (made from `event`, or a default API Activity). */
  append(count: number, event?: Partial<AuditEvent>): void;
  setCheckpoint(checkpoint: SinkCheckpoint | undefined): void;
  /** While true, every read rejects. */
  failing: boolean;
}

const defaultEvent: AuditEvent = {
  class: 'api_activity',
  activityId: 1,
  action: 'mcp.call_tool',
  actor: { type: 'agent', id: 'agent-1' },
  outcome: 'success',
};

export function leafHash(bytes: Buffer): Buffer {
  return createHash('sha256').update(Buffer.concat([Buffer.from([0]), bytes])).digest();
}

export function makeEntry(index: number, event: Partial<AuditEvent> = {}, time = new Date(1_700_000_000_000 + index)): AuditEntry {
  const body = entryBody(index, time, { ...defaultEvent, ...event }, (v) => `hmac-sha256:${Buffer.from(v).toString('base64')}`);
  const text = canonicalize(body);
  return { index, leafHash: leafHash(Buffer.from(text)), body: text };
}

export function createFakeLog(): FakeLog {
  const all: AuditEntry[] = [];
  let checkpoint: SinkCheckpoint | undefined;
  const log: FakeLog = {
    all,
    failing: false,
    append(count, event) {
      for (let i = 0; i < count; i += 1) all.push(makeEntry(all.length, event));
    },
    setCheckpoint(next) {
      checkpoint = next;
    },
    async size() {
      if (log.failing) throw new Error('log unavailable');
      return all.length;
    },
    async entries(start, limit) {
      if (log.failing) throw new Error('log unavailable');
      return all.slice(start, start + limit);
    },
    async latestCheckpoint() {
      if (log.failing) throw new Error('log unavailable');
      return checkpoint;
    },
  };
  return log;
}

/** Polls `check` until it returns true (or throws the last failure after `timeout` ms). */
export async function until(check: () => boolean | Promise<boolean>, timeout = 10_000): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface SyslogReceiver {
  readonly port: number;
  /** Every message received, in order. */
  readonly messages: string[];
  /** Framing errors seen. */
  readonly errors: string[];
  readonly connections: number;
  stop(): Promise<void>;
}

/** A syslog collector on 127.0.0.1 reading octet-counted frames (RFC 6587 §3.4.1), over TLS with `tls`. */
export async function startSyslogReceiver(options: { port?: number; tls?: { cert: string; key: string } } = {}): Promise<SyslogReceiver> {
  const messages: string[] = [];
  const errors: string[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const onSocket = (socket: Socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const space = buffer.indexOf(0x20);
        if (space < 0) return;
        const prefix = buffer.subarray(0, space).toString('ascii');
        if (!/^[1-9][0-9]*$/.test(prefix)) {
          errors.push(`bad MSG-LEN ${JSON.stringify(prefix)}`);
          socket.destroy();
          return;
        }
        const length = Number(prefix);
        if (buffer.length < space + 1 + length) return;
        messages.push(buffer.subarray(space + 1, space + 1 + length).toString('utf8'));
        buffer = buffer.subarray(space + 1 + length);
      }
    });
  };
  const server: Server = options.tls ? createTlsServer({ ...options.tls, minVersion: 'TLSv1.2' }, onSocket) : createNetServer(onSocket);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    port: address.port,
    messages,
    errors,
    get connections() {
      return connections;
    },
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface HttpReceiver {
  readonly port: number;
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** The status every request is answered with (200 unless changed). */
  status: number;
  /** Milliseconds to wait before answering. */
  delay: number;
  stop(): Promise<void>;
}

/** An HTTP (or, with `tls`, HTTPS) receiver on 127.0.0.1 that records requests it answers with 2xx. */
export async function startHttpReceiver(options: { port?: number; tls?: { cert: string; key: string } } = {}): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = [];
  const receiver = { status: 200, delay: 0 };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      setTimeout(() => {
        if (res.destroyed) return;
        const status = receiver.status;
        if (status >= 200 && status < 300) {
          requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        }
        res.writeHead(status, { 'content-type': 'application/json' }).end('{"text":"Success","code":0}');
      }, receiver.delay);
    });
  };
  const server: HttpServer = options.tls ? createHttpsServer(options.tls, handler) : createHttpServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  const port = address.port;
  return Object.assign(receiver, {
    port,
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}/ingest`,
    requests,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  });
}

export interface ParsedSyslog {
  pri: number;
  version: number;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  sd: { id: string; params: Record<string, string> }[];
  msg: string;
}

const PRINTUSASCII = /^[\x21-\x7e]+$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 5424 message strictly (throws on any syntax error). */
export function parseRfc5424(message: string): ParsedSyslog {
  const head = /^<(\d{1,3})>([1-9]\d{0,2}) (\S+) (\S+) (\S+) (\S+) (\S+) /.exec(message);
  if (!head) throw new Error(`bad header: ${message.slice(0, 80)}`);
  const [, pri = '', version = '', timestamp = '', hostname = '', appName = '', procId = '', msgId = ''] = head;
  if (Number(pri) > 191) throw new Error('PRI out of range');
  if (timestamp !== '-' && !TIMESTAMP.test(timestamp)) throw new Error(`bad TIMESTAMP ${timestamp}`);
  const limits: [string, number][] = [[hostname, 255], [appName, 48], [procId, 128], [msgId, 32]];
  for (const [field, max] of limits) {
    if (field !== '-' && (!PRINTUSASCII.test(field) || field.length > max)) throw new Error(`bad header field ${field}`);
  }
  let rest = message.slice(head[0].length);
  const sd: ParsedSyslog['sd'] = [];
  if (rest.startsWith('-')) rest = rest.slice(1);
  else {
    while (rest.startsWith('[')) {
      const id = /^\[([^ ="\]]{1,32})/.exec(rest);
      if (!id) throw new Error('bad SD-ID');
      rest = rest.slice(id[0].length);
      const params: Record<string, string> = {};
      while (rest.startsWith(' ')) {
        const name = /^ ([^ ="\]]{1,32})="/.exec(rest);
        if (!name?.[1]) throw new Error('bad SD-PARAM');
        rest = rest.slice(name[0].length);
        let value = '';
        for (;;) {
          const c = rest[0];
          if (c === undefined) throw new Error('unterminated PARAM-VALUE');
          rest = rest.slice(1);
          if (c === '"') break;
          if (c === '\\' && rest[0] !== undefined && '"\\]'.includes(rest[0])) {
            value += rest[0];
            rest = rest.slice(1);
          } else if (c === ']' || c === '"') throw new Error('unescaped character in PARAM-VALUE');
          else value += c;
        }
        params[name[1]] = value;
      }
      if (!rest.startsWith(']')) throw new Error('unterminated SD-ELEMENT');
      rest = rest.slice(1);
      sd.push({ id: id[1] ?? '', params });
    }
    if (sd.length === 0) throw new Error('missing STRUCTURED-DATA');
  }
  if (rest !== '' && !rest.startsWith(' ')) throw new Error('no SP before MSG');
  return { pri: Number(pri), version: Number(version), timestamp, hostname, appName, procId, msgId, sd, msg: rest.slice(1) };
}
