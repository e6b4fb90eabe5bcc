/**
 * The HTTP client of one Streamable-HTTP upstream: a `fetch` for the MCP SDK's client transport, built on
 * an undici `Pool` bound to the upstream's origin (keep-alive, at most `connections` sockets) instead of
 * the global WHATWG `fetch`, whose `Request` construction and shared-abort-signal bookkeeping cost more
 * than the rest of forwarding a call. What it sends is exactly what the transport hands it (Warden's
 * resolved upstream headers and the MCP protocol headers; the agent's token is never among them), and
 * only to the upstream's own origin. Every request has a deadline (`timeoutMs` for the response headers
 * and between body chunks; the protocol's own timeout answers the caller first); the transport's shared
 * abort signal is honoured only by the long-lived `GET` event stream, the requests that come and go get
 * none (their deadline and `close` end them). A redirect is refused: a 3xx answer is an error, never
 * followed. An event stream is passed through as it arrives; any other answer is read whole (within the
 * deadline, and up to `maxBytes`: a larger one is WARDEN_UPSTREAM_INVALID) and handed over as a `Response`
 * whose `text`, `json` and `arrayBuffer` return what was read directly — wrapping it in a web stream only
 * to read it back costs tens of µs per call.
 */
import { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { WardenError } from '../errors/index.js';

/** The shape of `fetch` the SDK transport takes (`FetchLike` in `@modelcontextprotocol/sdk/shared/transport`). */
export type UpstreamFetchFn = (url: string | URL, init?: RequestInit) => Promise<Response>;

export interface UpstreamFetch {
  readonly fetch: UpstreamFetchFn;
  /** Ends every request in flight and closes the sockets. */
  close(): Promise<void>;
}

export interface UpstreamFetchOptions {
  /** At most this many sockets to the upstream (requests beyond wait for one). */
  connections: number;
  /** Deadline for the response headers, and for each body chunk of an answer that is not an event stream (ms). */
  timeoutMs: number;
  /** How long an idle socket is kept open (ms). */
  keepAliveMs?: number;
  /** The largest answer (other than an event stream) read from the upstream, in bytes (default 16 MiB). */
  maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

/** Reads a whole answer body as UTF-8, refusing one over `max` bytes (the rest is not read). */
async function readBounded(body: Dispatcher.ResponseData['body'], max: number, origin: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      body.destroy();
      throw new WardenError('WARDEN_UPSTREAM_INVALID', `the upstream at ${origin} answered with more than ${max} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/**
 * A `Response` for a body already read whole: `text`, `json` and `arrayBuffer` answer from it, once (a
 * second read fails, as for any response); `body` is null.
 */
function readResponse(body: string, init: ResponseInit): Response {
  let unread: string | undefined = body;
  const take = (): Promise<string> => {
    const text = unread;
    unread = undefined;
    return text === undefined ? Promise.reject(new TypeError('the response body was already read')) : Promise.resolve(text);
  };
  return Object.assign(new Response(null, init), {
    text: take,
    json: () => take().then((text) => JSON.parse(text) as unknown),
    arrayBuffer: () =>
      take().then((text) => {
        const bytes = new TextEncoder().encode(text);
        return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      }),
  });
}

/** Answers that may not carry a body (`new Response` refuses one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function headerRecord(headers: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === undefined) return out;
  if (headers instanceof Headers || Array.isArray(headers)) {
    for (const [key, value] of headers instanceof Headers ? headers.entries() : headers) out[key.toLowerCase()] = value;
    return out;
  }
  for (const [key, value] of Object.entries(headers)) out[key.toLowerCase()] = typeof value === 'string' ? value : value.join(', ');
  return out;
}

function responseHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(key, v);
    else headers.append(key, value);
  }
  return headers;
}

/** Creates the fetch of the upstream at `url` (only its origin is ever requested). */
export function createUpstreamFetch(url: URL, options: UpstreamFetchOptions): UpstreamFetch {
  const origin = url.origin;
  const pool = new Pool(origin, { connections: options.connections, keepAliveTimeout: options.keepAliveMs ?? 30_000, pipelining: 1 });

  const fetch: UpstreamFetchFn = async (input, init = {}) => {
    const target = input instanceof URL ? input : new URL(input);
    if (target.origin !== origin) throw new TypeError(`refusing a request to another origin than the upstream's (${origin})`);
    if (init.body !== undefined && init.body !== null && typeof init.body !== 'string') throw new TypeError('upstream request bodies are strings');
    const method = (init.method ?? 'GET').toUpperCase();
    // Only the event stream (a GET that lives as long as the session) listens to the transport's shared signal.
    const stream = method === 'GET';
    const res = await pool.request({
      path: `${target.pathname}${target.search}`,
      method,
      headers: headerRecord(init.headers),
      body: init.body ?? null,
      headersTimeout: options.timeoutMs,
      bodyTimeout: stream ? 0 : options.timeoutMs,
      ...(stream && init.signal ? { signal: init.signal } : {}),
    });
    if (res.statusCode >= 300 && res.statusCode < 400) {
      await res.body.dump().catch(() => undefined);
      throw new TypeError(`the upstream answered with a redirect (${res.statusCode}); redirects are not followed`);
    }
    const headers = responseHeaders(res.headers);
    if (NULL_BODY.has(res.statusCode)) {
      await res.body.dump().catch(() => undefined);
      return new Response(null, { status: res.statusCode, headers });
    }
    const eventStream = (headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase() === 'text/event-stream';
    if (eventStream) return new Response(Readable.toWeb(res.body) as ReadableStream<Uint8Array>, { status: res.statusCode, headers });
    return readResponse(await readBounded(res.body, options.maxBytes ?? DEFAULT_MAX_BYTES, origin), { status: res.statusCode, headers });
  };

  return {
    fetch,
    close: () => pool.destroy(),
  };
}
