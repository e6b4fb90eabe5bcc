/**
 * `warden mcp connect --client-id AGENT`: a local stdio MCP server that forwards tools, prompts and
 * resources requests to a Warden `/mcp` endpoint as that agent, for MCP clients that only speak stdio. The
 * agent's client secret comes from `WARDEN_CLIENT_SECRET` (never a flag, so it stays out of process
 * listings); the bridge gets an access token for `<server>/mcp` with the client_credentials grant and a
 * fresh one before it expires. Errors Warden answers (an unknown or hidden tool, a rate limit) pass
 * through to the client as the same JSON-RPC errors. Stdout carries only the protocol; diagnostics go
 * to stderr.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  CallToolRequestSchema,
  CallToolResultSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { Command } from 'commander';
import { WardenError } from '../../errors/index.js';
import { version } from '../../version.js';
import type { CliContext } from '../context.js';
import { serverUrl, withServerOptions, type ServerFlags } from '../http-client.js';

interface ConnectFlags extends ServerFlags {
  clientId?: string;
}

/** Refresh a token this long before it expires. */
const REFRESH_MARGIN_MS = 30_000;

/** An access token for `resource`, renewed before it expires. */
export function agentTokenSource(base: string, clientId: string, secret: string, resource: string, fetchImpl: typeof fetch = fetch): () => Promise<string> {
  let current: { token: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;
  const issue = async (): Promise<string> => {
    const res = await fetchImpl(new URL('/oauth2/token', base), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource }).toString(),
    });
    if (res.status !== 200) throw new WardenError('WARDEN_UNAUTHENTICATED', `Warden refused the agent's credentials (HTTP ${res.status})`);
    const body = (await res.json()) as { access_token: string; expires_in: number };
    current = { token: body.access_token, expiresAt: Date.now() + body.expires_in * 1000 };
    return body.access_token;
  };
  return () => {
    if (current && current.expiresAt - REFRESH_MARGIN_MS > Date.now()) return Promise.resolve(current.token);
    pending ??= issue().finally(() => (pending = undefined));
    return pending;
  };
}

export function registerMcpConnectCommand(mcp: Command, ctx: CliContext): void {
  withServerOptions(mcp.command('connect'))
    .description('run a local stdio MCP server that forwards to Warden /mcp as an agent (secret from WARDEN_CLIENT_SECRET)')
    .requiredOption('--client-id <agent>', "the agent's client id (its name)")
    .action(async (flags: ConnectFlags) => {
      const secret = ctx.env.WARDEN_CLIENT_SECRET;
      if (!secret) throw new WardenError('WARDEN_USAGE', 'set WARDEN_CLIENT_SECRET to the agent client secret');
      const base = serverUrl(flags, ctx).replace(/\/+$/, '');
      const token = agentTokenSource(base, flags.clientId!, secret, `${base}/mcp`);
      await token(); // fail early on bad credentials
      const authorizedFetch: typeof fetch = async (input, init) => {
        const headers = new Headers(init?.headers);
        headers.set('authorization', `Bearer ${await token()}`);
        return fetch(input, { ...init, headers });
      };
      const upstream = new Client({ name: 'warden-mcp-connect', version });
      await upstream.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { fetch: authorizedFetch }));
      const server = new Server({ name: 'warden', version }, { capabilities: { tools: {}, prompts: {}, resources: {} } });
      server.setRequestHandler(ListToolsRequestSchema, (request) => upstream.listTools(request.params));
      server.setRequestHandler(CallToolRequestSchema, (request) => upstream.request({ method: 'tools/call', params: request.params }, CallToolResultSchema));
      server.setRequestHandler(ListPromptsRequestSchema, (request) => upstream.listPrompts(request.params));
      server.setRequestHandler(GetPromptRequestSchema, (request) => upstream.getPrompt(request.params));
      server.setRequestHandler(ListResourcesRequestSchema, (request) => upstream.listResources(request.params));
      server.setRequestHandler(ListResourceTemplatesRequestSchema, (request) => upstream.listResourceTemplates(request.params));
      server.setRequestHandler(ReadResourceRequestSchema, (request) => upstream.readResource(request.params));
      const closed = new Promise<void>((resolve) => {
        server.onclose = () => resolve();
      });
      await server.connect(new StdioServerTransport());
      await closed;
      await upstream.close();
    });
}
