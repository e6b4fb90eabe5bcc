/**
 * One connection to an upstream MCP server, as an MCP client (the official SDK): stdio (Warden spawns
 * the command with the resolved environment) or Streamable HTTP (with the resolved headers). Secret
 * references in env and headers are resolved here, when Warden talks upstream, and nowhere else; the
 * agent's own token is never part of what is sent. An HTTP upstream is reached through its own pool of
 * keep-alive sockets (`upstream-fetch.ts`: bounded, origin-bound, redirects refused). The connection is opened on first use; a closed or
 * crashed one is reopened on the next use, no sooner than its backoff (doubling up to 30 s), and calls
 * while it is backing off fail at once with WARDEN_UPSTREAM_UNAVAILABLE. An HTTP upstream that answers
 * 404 to a request in a session has ended the session (a restart, an expiry): the MCP transport spec
 * asks for a new session, so the connection initializes again and sends the request once more (the
 * upstream did not process it). Every request has the
 * upstream's timeout (WARDEN_UPSTREAM_TIMEOUT); protocol errors the upstream returns come back as
 * WARDEN_UPSTREAM_ERROR with its message, and malformed answers as WARDEN_UPSTREAM_INVALID.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolResultSchema,
  ErrorCode,
  GetPromptResultSchema,
  McpError,
  PromptListChangedNotificationSchema,
  ReadResourceResultSchema,
  ResourceListChangedNotificationSchema,
  ToolListChangedNotificationSchema,
  type CallToolResult,
  type GetPromptResult,
  type Prompt,
  type ReadResourceResult,
  type Resource,
  type ResourceTemplate,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { WardenError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { version } from '../version.js';
import type { Upstream } from './types.js';
import { createUpstreamFetch, type UpstreamFetch } from './upstream-fetch.js';

export interface UpstreamConnection {
  readonly upstream: Upstream;
  listTools(): Promise<Tool[]>;
  callTool(name: string, args: Record<string, unknown> | undefined): Promise<CallToolResult>;
  /** Resources, resource templates and prompts: empty when the upstream does not offer them. */
  listResources(): Promise<Resource[]>;
  listResourceTemplates(): Promise<ResourceTemplate[]>;
  readResource(uri: string): Promise<ReadResourceResult>;
  listPrompts(): Promise<Prompt[]>;
  getPrompt(name: string, args: Record<string, string> | undefined): Promise<GetPromptResult>;
  /** Called when the upstream announces that its tools, resources or prompts changed. */
  onListChanged(listener: () => void): void;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Resolves secret references in a value (see `secrets/references.ts`). */
  resolve: (value: string) => Promise<string>;
  logger: Pick<Logger, 'warn' | 'info'>;
  now?: () => number;
}

const MAX_BACKOFF_MS = 30_000;
/** Starting an upstream (spawning a process, the MCP handshake) and listing its tools may take longer than a call. */
const MIN_SETUP_TIMEOUT_MS = 10_000;
/** At most this many items of one kind are read from an upstream's paginated lists. */
const MAX_LISTED = 10_000;

/** Reads every page of a paginated list, up to MAX_LISTED items. */
async function allPages<T>(page: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor?: string | undefined }>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const next = await page(cursor);
    items.push(...next.items);
    cursor = next.nextCursor;
  } while (cursor !== undefined && items.length < MAX_LISTED);
  return items;
}

/** Maps what the SDK throws to Warden's upstream errors. */
function upstreamError(upstream: Upstream, err: unknown): WardenError {
  if (err instanceof WardenError) return err;
  const details = { upstream: upstream.name };
  if (err instanceof McpError) {
    if (err.code === (ErrorCode.RequestTimeout as number)) return new WardenError('WARDEN_UPSTREAM_TIMEOUT', `upstream ${upstream.name} did not answer in time`, { details, cause: err });
    if (err.code === (ErrorCode.ConnectionClosed as number)) return new WardenError('WARDEN_UPSTREAM_UNAVAILABLE', `upstream ${upstream.name} closed the connection`, { details, cause: err });
    return new WardenError('WARDEN_UPSTREAM_ERROR', `upstream ${upstream.name}: ${err.message.slice(0, 500)}`, { details: { ...details, code: err.code }, cause: err });
  }
  if (err instanceof Error && err.name === 'ZodError') return new WardenError('WARDEN_UPSTREAM_INVALID', `upstream ${upstream.name} sent a malformed answer`, { details, cause: err });
  return new WardenError('WARDEN_UPSTREAM_UNAVAILABLE', `upstream ${upstream.name} is unavailable`, { details, cause: err });
}

/** Sockets to one HTTP upstream per connection (one per agent under per-agent isolation); calls beyond wait for one. */
const UPSTREAM_SOCKETS = 32;

async function transportFor(upstream: Upstream, resolve: (value: string) => Promise<string>, http: () => UpstreamFetch): Promise<Transport> {
  const t = upstream.transport;
  if (t.kind === 'stdio') {
    const env: Record<string, string> = { ...getDefaultEnvironment() };
    for (const [key, value] of Object.entries(t.env)) env[key] = await resolve(value);
    return new StdioClientTransport({ command: t.command, args: [...t.args], env, stderr: 'ignore' });
  }
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(t.headers)) headers[key] = await resolve(value);
  return new StreamableHTTPClientTransport(new URL(t.url), { requestInit: { headers, redirect: 'error' }, fetch: http().fetch });
}

export function createUpstreamConnection(upstream: Upstream, options: ConnectOptions): UpstreamConnection {
  const now = options.now ?? Date.now;
  let client: Promise<Client> | undefined;
  let closed = false;
  let failures = 0;
  let retryAt = 0;
  const listeners: (() => void)[] = [];
  /** The HTTP client of an HTTP upstream: one pool of sockets for the connection's life, across reconnects. */
  let fetcher: UpstreamFetch | undefined;
  const http = (): UpstreamFetch => {
    if (upstream.transport.kind !== 'http') throw new WardenError('WARDEN_INTERNAL', 'not an HTTP upstream');
    if (closed) throw new WardenError('WARDEN_UPSTREAM_UNAVAILABLE', `upstream ${upstream.name} is closed`);
    fetcher ??= createUpstreamFetch(new URL(upstream.transport.url), { connections: UPSTREAM_SOCKETS, timeoutMs: upstream.timeoutMs + 5000 });
    return fetcher;
  };
  const changed = () => {
    for (const listener of listeners) listener();
  };

  const connect = async (): Promise<Client> => {
    const c = new Client({ name: 'warden-gateway', version }, { capabilities: {} });
    c.setNotificationHandler(ToolListChangedNotificationSchema, changed);
    c.setNotificationHandler(ResourceListChangedNotificationSchema, changed);
    c.setNotificationHandler(PromptListChangedNotificationSchema, changed);
    const transport = await transportFor(upstream, options.resolve, http);
    await c.connect(transport, { timeout: Math.max(upstream.timeoutMs, MIN_SETUP_TIMEOUT_MS) });
    c.onclose = () => {
      if (closed) return;
      options.logger.warn({ upstream: upstream.name }, 'upstream connection closed; it will be reopened on next use');
      client = undefined;
      failures++;
      retryAt = now() + Math.min(MAX_BACKOFF_MS, upstream.restartBackoffMs * 2 ** Math.max(0, failures - 1));
    };
    return c;
  };

  const open = (): Promise<Client> => {
    if (closed) return Promise.reject(new WardenError('WARDEN_UPSTREAM_UNAVAILABLE', `upstream ${upstream.name} is closed`));
    if (client) return client;
    if (now() < retryAt) {
      return Promise.reject(new WardenError('WARDEN_UPSTREAM_UNAVAILABLE', `upstream ${upstream.name} is restarting`, { details: { upstream: upstream.name, retryAfterMs: retryAt - now() } }));
    }
    const opening = connect();
    client = opening;
    opening.then(
      () => {
        failures = 0;
      },
      (err: unknown) => {
        if (client === opening) client = undefined;
        failures++;
        retryAt = now() + Math.min(MAX_BACKOFF_MS, upstream.restartBackoffMs * 2 ** Math.max(0, failures - 1));
        options.logger.warn({ upstream: upstream.name, err }, 'could not connect to upstream');
      },
    );
    return opening;
  };

  /** Drops a client whose session the upstream has ended; the next `open` starts a new one at once. */
  const forget = async (c: Client): Promise<void> => {
    if (client === undefined) return;
    const current = await client.catch(() => undefined);
    if (current !== c) return;
    client = undefined;
    c.onclose = undefined;
    await c.close().catch(() => undefined);
  };

  const request = async <T>(work: (c: Client) => Promise<T> | T): Promise<T> => {
    try {
      const c = await open();
      try {
        return await work(c);
      } catch (err) {
        if (!(err instanceof StreamableHTTPError && err.code === 404)) throw err;
        await forget(c);
        return await work(await open());
      }
    } catch (err) {
      throw upstreamError(upstream, err);
    }
  };

  const listing = { timeout: Math.max(upstream.timeoutMs, MIN_SETUP_TIMEOUT_MS) };
  const call = { timeout: upstream.timeoutMs };
  const page = (cursor: string | undefined) => (cursor === undefined ? {} : { cursor });

  return {
    upstream,
    listTools: () => request((c) => allPages((cursor) => c.listTools(page(cursor), listing).then((r) => ({ items: r.tools, nextCursor: r.nextCursor })))),
    callTool: (name, args) => request((c) => c.request({ method: 'tools/call', params: { name, ...(args === undefined ? {} : { arguments: args }) } }, CallToolResultSchema, call)),
    listResources: () =>
      request((c) => (c.getServerCapabilities()?.resources ? allPages((cursor) => c.listResources(page(cursor), listing).then((r) => ({ items: r.resources, nextCursor: r.nextCursor }))) : [])),
    listResourceTemplates: () =>
      request((c) =>
        c.getServerCapabilities()?.resources
          ? allPages((cursor) => c.listResourceTemplates(page(cursor), listing).then((r) => ({ items: r.resourceTemplates, nextCursor: r.nextCursor })))
          : [],
      ),
    readResource: (uri) => request((c) => c.request({ method: 'resources/read', params: { uri } }, ReadResourceResultSchema, call)),
    listPrompts: () => request((c) => (c.getServerCapabilities()?.prompts ? allPages((cursor) => c.listPrompts(page(cursor), listing).then((r) => ({ items: r.prompts, nextCursor: r.nextCursor }))) : [])),
    getPrompt: (name, args) => request((c) => c.request({ method: 'prompts/get', params: { name, ...(args === undefined ? {} : { arguments: args }) } }, GetPromptResultSchema, call)),
    onListChanged(listener) {
      listeners.push(listener);
    },
    async close() {
      closed = true;
      const c = client;
      client = undefined;
      if (c) await c.then((x) => x.close(), () => undefined);
      await fetcher?.close();
    },
  };
}
