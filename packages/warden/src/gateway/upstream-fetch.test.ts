import { getEventListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createUpstreamFetch, type UpstreamFetch } from './upstream-fetch.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

describe('upstream fetch (a real HTTP server)', () => {
  let server: Server;
  let base: string;
  const seen: Seen[] = [];
  let open = 0;
  let maxOpen = 0;
  let handler: (req: IncomingMessage, res: ServerResponse, body: string) => void = (_req, res) => res.end();
  const made: UpstreamFetch[] = [];
  const make = (options: Partial<Parameters<typeof createUpstreamFetch>[1]> = {}) => {
    const f = createUpstreamFetch(new URL(`${base}/mcp`), { connections: 4, timeoutMs: 2000, ...options });
    made.push(f);
    return f;
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        handler(req, res, body);
      });
    });
    server.on('connection', (socket) => {
      maxOpen = Math.max(maxOpen, ++open);
      socket.on('close', () => open--);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await Promise.all(made.splice(0).map((f) => f.close()));
    seen.length = 0;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends exactly the method, path, headers and body it is given, and answers with a standard Response', async () => {
    handler = (_req, res, body) => {
      res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 's-1' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { echoed: body.length } }));
    };
    const { fetch } = make();
    const headers = new Headers({ 'content-type': 'application/json', 'x-api-key': 'from-warden', 'mcp-protocol-version': '2025-06-18' });
    const res = await fetch(new URL(`${base}/mcp?x=1`), { method: 'POST', headers, body: '{"a":1}', redirect: 'error' });
    expect(res).toBeInstanceOf(Response);
    expect(res.status).toBe(200);
    expect(res.ok).toBe(true);
    expect(res.headers.get('mcp-session-id')).toBe('s-1');
    expect(await res.json()).toEqual({ jsonrpc: '2.0', id: 1, result: { echoed: 7 } });
    await expect(res.text()).rejects.toThrow(/already read/);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/mcp?x=1', body: '{"a":1}', headers: { 'x-api-key': 'from-warden', 'mcp-protocol-version': '2025-06-18' } });
    expect(seen[0]!.headers.authorization).toBeUndefined();
  });

  it('answers 202 and errors as they are (no body where none may be)', async () => {
    const { fetch } = make();
    handler = (_req, res) => {
      res.writeHead(202);
      res.end();
    };
    const accepted = await fetch(`${base}/mcp`, { method: 'POST', body: '{}' });
    expect(accepted.status).toBe(202);
    handler = (_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('session not found');
    };
    const missing = await fetch(`${base}/mcp`, { method: 'POST', body: '{}' });
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('session not found');
  });

  it('refuses a redirect without following it, and any origin but the upstream’s', async () => {
    handler = (_req, res) => {
      res.writeHead(307, { location: `${base}/elsewhere` });
      res.end();
    };
    const { fetch } = make();
    await expect(fetch(`${base}/mcp`, { method: 'POST', body: '{}' })).rejects.toThrow(/redirect/);
    expect(seen.map((s) => s.url)).toEqual(['/mcp']);
    await expect(fetch('http://127.0.0.2:1/mcp', { method: 'POST', body: '{}' })).rejects.toThrow(/origin/);
    await expect(fetch(`${base.replace('127.0.0.1', 'localhost')}/mcp`, { method: 'POST', body: '{}' })).rejects.toThrow(/origin/);
    expect(seen).toHaveLength(1);
  });

  it('gives every request a deadline, without any abort signal', async () => {
    handler = () => undefined; // never answers
    const { fetch } = make({ timeoutMs: 200 });
    const started = Date.now();
    await expect(fetch(`${base}/mcp`, { method: 'POST', body: '{}' })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('ignores the shared abort signal for requests, honours it for the event stream, and passes the stream through as it comes', async () => {
    const shared = new AbortController();
    let push: ((text: string) => void) | undefined;
    handler = (req, res) => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: first\n\n');
        push = (text) => res.write(text);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    };
    const { fetch } = make();
    const stream = await fetch(`${base}/mcp`, { method: 'GET', headers: { accept: 'text/event-stream' }, signal: shared.signal });
    const reader = stream.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value as Uint8Array)).toBe('data: first\n\n');
    push!('data: second\n\n');
    expect(new TextDecoder().decode((await reader.read()).value as Uint8Array)).toBe('data: second\n\n');
    // Many requests with the one signal leave no listener behind on it (none is added).
    for (let i = 0; i < 50; i++) await (await fetch(`${base}/mcp`, { method: 'POST', body: '{}', signal: shared.signal })).text();
    expect(getEventListeners(shared.signal, 'abort').length).toBeLessThanOrEqual(1);
    shared.abort();
    await expect(reader.read()).rejects.toThrow();
  });

  it('uses at most `connections` sockets, reused across requests', async () => {
    handler = (_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      }, 20);
    };
    maxOpen = open;
    const start = open;
    const { fetch } = make({ connections: 2 });
    await Promise.all(Array.from({ length: 10 }, async () => (await fetch(`${base}/mcp`, { method: 'POST', body: '{}' })).text()));
    expect(seen).toHaveLength(10);
    expect(maxOpen - start).toBeLessThanOrEqual(2);
  });

  it('ends requests in flight when closed', async () => {
    handler = () => undefined;
    const f = make();
    const pending = f.fetch(`${base}/mcp`, { method: 'POST', body: '{}' });
    await new Promise((r) => setTimeout(r, 50));
    await f.close();
    await expect(pending).rejects.toThrow();
  });

  it('refuses an answer over its byte limit instead of reading it all', async () => {
    handler = (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { text: 'x'.repeat(10_000) } }));
    };
    const small = make({ maxBytes: 4096 });
    await expect(small.fetch(`${base}/mcp`, { method: 'POST', body: '{}' })).rejects.toMatchObject({ code: 'WARDEN_UPSTREAM_INVALID' });
    const large = make({ maxBytes: 64 * 1024 });
    const ok = await large.fetch(`${base}/mcp`, { method: 'POST', body: '{}' });
    expect(((await ok.json()) as { result: { text: string } }).result.text).toHaveLength(10_000);
  });
});
