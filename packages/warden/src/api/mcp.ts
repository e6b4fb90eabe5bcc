/**
 * The agent-facing MCP endpoint: `POST /mcp`, Streamable HTTP in its stateless JSON-response form (no
 * session, no server-initiated stream: `GET` and `DELETE` answer 405), so nothing protocol-shaped is
 * built per request. It speaks JSON-RPC 2.0 directly: `initialize` (protocol versions the SDK supports),
 * `ping`, `tools/list`, `tools/call`, `prompts/list`, `prompts/get`, `resources/list`,
 * `resources/templates/list` and `resources/read` through the gateway pipeline; notifications are accepted (202).
 *
 * Before any of that: an `Origin` other than Warden's own is refused (403, DNS-rebinding defence); the
 * access token must be for `<issuer>/mcp` (401 with `WWW-Authenticate: Bearer … resource_metadata=…`
 * pointing at the Protected Resource Metadata, RFC 9728, served at
 * `/.well-known/oauth-protected-resource/mcp`); an unsupported `MCP-Protocol-Version` is 400. Errors of
 * the pipeline become JSON-RPC errors with stable codes and `data.code` (the Warden error code); the
 * response to a call, a prompt or a read — failed ones included, once recorded — carries `Warden-Audit-Index`.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { WardenError, isWardenError, type ErrorCode } from '../errors/index.js';
import type { GatewayCaller, Pipeline } from '../gateway/pipeline.js';
import { version } from '../version.js';
import { setAuditReceipt } from './audit-receipt.js';
import './principal.js';

export interface McpRoutesOptions {
  readonly pipeline: Pipeline;
  /** The authenticate stage for `<issuer>/mcp`. */
  readonly authenticateAgent: onRequestAsyncHookHandler;
  /** Warden's external origin, e.g. `https://warden.example.com` (the issuer). */
  readonly issuer: string;
}

/** JSON-RPC error codes of the gateway (stable; `data.code` carries the Warden code). */
export const jsonRpcCodes: Partial<Record<ErrorCode, number>> = {
  WARDEN_TOOL_NOT_FOUND: -32602,
  WARDEN_VALIDATION_FAILED: -32602,
  WARDEN_RATE_LIMITED: -32001,
  WARDEN_PROMPT_NOT_FOUND: -32602,
  WARDEN_RESOURCE_NOT_FOUND: -32002,
  WARDEN_UPSTREAM_TIMEOUT: -32010,
  WARDEN_UPSTREAM_UNAVAILABLE: -32003,
  WARDEN_UPSTREAM_ERROR: -32004,
  WARDEN_UPSTREAM_INVALID: -32005,
  WARDEN_AUDIT_UNAVAILABLE: -32006,
  WARDEN_FORBIDDEN: -32007,
  WARDEN_APPROVAL_PENDING: -32008,
  WARDEN_APPROVAL_DENIED: -32009,
  WARDEN_SCREEN_BLOCKED: -32011,
  WARDEN_SCREEN_TOO_LARGE: -32012,
};

const id = z.union([z.string().max(256), z.number().int()]);
const message = z.object({
  jsonrpc: z.literal('2.0'),
  id: id.optional(),
  method: z.string().min(1).max(256),
  params: z.record(z.string(), z.unknown()).optional(),
});
const callParams = z.object({ name: z.string().min(1).max(256), arguments: z.record(z.string(), z.unknown()).optional() });
const promptParams = z.object({ name: z.string().min(1).max(256), arguments: z.record(z.string(), z.string()).optional() });
const readParams = z.object({ uri: z.string().min(1).max(2048) });

const rpcError = (messageId: unknown, code: number, text: string, data?: Record<string, unknown>) => ({
  jsonrpc: '2.0' as const,
  id: messageId ?? null,
  error: { code, message: text, ...(data ? { data } : {}) },
});

function toRpcError(messageId: unknown, err: unknown) {
  if (isWardenError(err)) {
    const retry = typeof err.details?.retryAfterMs === 'number' ? { retryAfterMs: err.details.retryAfterMs } : {};
    const approval = typeof err.details?.approvalId === 'string' ? { approvalId: err.details.approvalId } : {};
    const findings = Array.isArray(err.details?.findings) ? { findings: err.details.findings } : {};
    return rpcError(messageId, jsonRpcCodes[err.code] ?? -32603, err.message, { code: err.code, ...retry, ...approval, ...findings });
  }
  return rpcError(messageId, -32603, 'internal error', { code: 'WARDEN_INTERNAL' });
}

export function mcpRoutes({ pipeline, authenticateAgent, issuer }: McpRoutesOptions): FastifyPluginAsync {
  const base = issuer.replace(/\/+$/, '');
  const origin = new URL(base).origin;

  const checkOrigin = async (request: FastifyRequest): Promise<void> => {
    const sent = request.headers.origin;
    if (sent !== undefined && sent !== origin) throw new WardenError('WARDEN_FORBIDDEN', 'this Origin may not use the MCP endpoint');
    return Promise.resolve();
  };

  const callerOf = (request: FastifyRequest): GatewayCaller => {
    const principal = request.principal;
    if (principal?.kind !== 'agent') throw new WardenError('WARDEN_UNAUTHENTICATED', 'an agent token is required');
    return { agent: principal.agent, source: { ip: request.ip, requestId: request.id } };
  };

  async function handle(request: FastifyRequest, reply: FastifyReply) {
    const protocol = request.headers['mcp-protocol-version'];
    if (protocol !== undefined && (typeof protocol !== 'string' || !SUPPORTED_PROTOCOL_VERSIONS.includes(protocol))) {
      return reply.code(400).send(rpcError(null, -32600, `unsupported MCP-Protocol-Version; supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}`));
    }
    const parsed = message.safeParse(request.body);
    if (!parsed.success) return reply.code(400).send(rpcError(null, -32600, 'invalid JSON-RPC request (one message, jsonrpc "2.0")'));
    const msg = parsed.data;
    // A notification (no id) gets no answer.
    if (msg.id === undefined) return reply.code(202).send();
    try {
      switch (msg.method) {
        case 'initialize': {
          const asked = typeof msg.params?.['protocolVersion'] === 'string' ? msg.params['protocolVersion'] : LATEST_PROTOCOL_VERSION;
          const protocolVersion = SUPPORTED_PROTOCOL_VERSIONS.includes(asked) ? asked : LATEST_PROTOCOL_VERSION;
          return { jsonrpc: '2.0', id: msg.id, result: { protocolVersion, capabilities: { tools: { listChanged: false }, prompts: { listChanged: false }, resources: { listChanged: false, subscribe: false } }, serverInfo: { name: 'warden', version } } };
        }
        case 'ping':
          return { jsonrpc: '2.0', id: msg.id, result: {} };
        case 'tools/list':
          return { jsonrpc: '2.0', id: msg.id, result: { tools: await pipeline.listTools(callerOf(request)) } };
        case 'tools/call': {
          const params = callParams.safeParse(msg.params ?? {});
          if (!params.success) return rpcError(msg.id, -32602, 'tools/call needs a tool name and object arguments');
          const { result, auditIndex } = await pipeline.callTool(callerOf(request), params.data.name, params.data.arguments);
          setAuditReceipt(reply, auditIndex);
          return { jsonrpc: '2.0', id: msg.id, result };
        }
        case 'prompts/list':
          return { jsonrpc: '2.0', id: msg.id, result: { prompts: await pipeline.listPrompts(callerOf(request)) } };
        case 'prompts/get': {
          const params = promptParams.safeParse(msg.params ?? {});
          if (!params.success) return rpcError(msg.id, -32602, 'prompts/get needs a prompt name and string arguments');
          const { result, auditIndex } = await pipeline.getPrompt(callerOf(request), params.data.name, params.data.arguments);
          setAuditReceipt(reply, auditIndex);
          return { jsonrpc: '2.0', id: msg.id, result };
        }
        case 'resources/list':
          return { jsonrpc: '2.0', id: msg.id, result: { resources: await pipeline.listResources(callerOf(request)) } };
        case 'resources/templates/list':
          return { jsonrpc: '2.0', id: msg.id, result: { resourceTemplates: await pipeline.listResourceTemplates(callerOf(request)) } };
        case 'resources/read': {
          const params = readParams.safeParse(msg.params ?? {});
          if (!params.success) return rpcError(msg.id, -32602, 'resources/read needs a uri');
          const { result, auditIndex } = await pipeline.readResource(callerOf(request), params.data.uri);
          setAuditReceipt(reply, auditIndex);
          return { jsonrpc: '2.0', id: msg.id, result };
        }
        default:
          return rpcError(msg.id, -32601, `method not found: ${msg.method.slice(0, 64)}`);
      }
    } catch (err) {
      if (isWardenError(err) && typeof err.details?.auditIndex === 'number') setAuditReceipt(reply, err.details.auditIndex);
      request.log.warn({ err }, 'mcp request failed');
      return toRpcError(msg.id, err);
    }
  }

  return async (app) => {
    app.get('/.well-known/oauth-protected-resource/mcp', async () => ({
      resource: `${base}/mcp`,
      authorization_servers: [base],
      bearer_methods_supported: ['header'],
      resource_name: 'Warden MCP gateway',
    }));
    app.post('/mcp', { onRequest: [checkOrigin, authenticateAgent] }, handle);
    for (const method of ['GET', 'DELETE'] as const) {
      app.route({
        method,
        url: '/mcp',
        onRequest: [checkOrigin],
        handler: async (_request, reply) => reply.code(405).header('allow', 'POST').send(rpcError(null, -32000, 'method not allowed: this endpoint is stateless and answers POST only')),
      });
    }
  };
}

/** The `resource_metadata` URL for the 401 challenge of `<issuer>/mcp`. */
export function mcpResourceMetadataUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/oauth-protected-resource/mcp`;
}
