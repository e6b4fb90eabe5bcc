/**
 * MCP upstream routes (control plane): register, list, read and remove the MCP servers the gateway
 * forwards to (`/v1/mcp/servers`). Thin: zod checks the shape of every body, parameter and response,
 * the registry does the validation, the work and the audit, and the audit entry's index comes back as
 * the `Warden-Audit-Index` receipt. Durations arrive as strings (`30s`) and leave as milliseconds
 * (`timeoutMs`). Reads need the admin, security or auditor role, writes admin or security. Env and
 * header values are returned as stored: they hold `secret:` references, never resolved secrets.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parseDuration } from '../config/duration.js';
import { WardenError } from '../errors/index.js';
import { upstreamNamePattern, type NewUpstream, type UpstreamRegistry } from '../gateway/upstreams.js';
import type { Upstream } from '../gateway/types.js';
import type { ChangeContext } from '../identity/agents.js';
import type { AdminRole } from '../identity/types.js';
import { setAuditReceipt } from './audit-receipt.js';
import './principal.js';

export interface UpstreamRoutesOptions {
  readonly registry: Pick<UpstreamRegistry, 'add' | 'list' | 'require' | 'remove'>;
  /** Admin authentication: sets `request.principal` to an AdminPrincipal of one of `roles`, or replies 401/403. */
  readonly requireAdmin: (...roles: AdminRole[]) => onRequestHookHandler;
}

const upstreamName = z.string().regex(upstreamNamePattern);
const stringMap = z.record(z.string(), z.string());
const duration = z.string().max(32).refine((text) => parseDuration(text) !== undefined, 'must be a duration like 250ms, 30s or 5m');

const transportSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('stdio'), command: z.string(), args: z.array(z.string()), env: stringMap }),
  z.object({ kind: z.literal('http'), url: z.string(), headers: stringMap }),
]);

export const upstreamSchema = z.object({
  name: z.string(),
  transport: transportSchema,
  timeoutMs: z.number(),
  restartBackoffMs: z.number(),
  isolation: z.enum(['shared', 'per-agent']),
  toolPolicy: z.enum(['approve-first', 'trust-on-first-use']),
  createdAt: z.number(),
  updatedAt: z.number(),
});

export const createUpstreamSchema = z.strictObject({
  name: upstreamName,
  transport: z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('stdio'),
      command: z.string().min(1).max(4096),
      args: z.array(z.string().max(4096)).max(64).optional(),
      env: stringMap.optional(),
    }),
    z.strictObject({ kind: z.literal('http'), url: z.string().min(1).max(4096), headers: stringMap.optional() }),
  ]),
  timeout: duration.optional(),
  restartBackoff: duration.optional(),
  isolation: z.enum(['shared', 'per-agent']).optional(),
  toolPolicy: z.enum(['approve-first', 'trust-on-first-use']).optional(),
});

const nameParams = z.strictObject({ name: upstreamName });

/** The audit context of a request: its admin principal as the actor, its receipt on the reply. */
function changeContext(request: FastifyRequest, reply: FastifyReply): ChangeContext {
  const principal = request.principal;
  if (principal?.kind !== 'admin') throw new WardenError('WARDEN_UNAUTHENTICATED', 'admin authentication required');
  return {
    actor: { type: 'admin', id: principal.admin },
    source: { ip: request.ip, requestId: request.id },
    receipt: (index) => setAuditReceipt(reply, index),
  };
}

/** Plain (mutable) data for the response schema. */
function upstreamJson(upstream: Upstream): z.input<typeof upstreamSchema> {
  const { transport } = upstream;
  return {
    ...upstream,
    transport:
      transport.kind === 'stdio'
        ? { kind: 'stdio', command: transport.command, args: [...transport.args], env: { ...transport.env } }
        : { kind: 'http', url: transport.url, headers: { ...transport.headers } },
  };
}

/** The registry's input for a create body (durations to milliseconds; the registry checks ranges). */
function newUpstream(body: z.output<typeof createUpstreamSchema>): NewUpstream {
  const { timeout, restartBackoff, isolation, toolPolicy, transport, name } = body;
  return {
    name,
    transport:
      transport.kind === 'stdio'
        ? { kind: 'stdio', command: transport.command, args: transport.args ?? [], env: transport.env ?? {} }
        : { kind: 'http', url: transport.url, headers: transport.headers ?? {} },
    ...(timeout === undefined ? {} : { timeoutMs: parseDuration(timeout)! }),
    ...(restartBackoff === undefined ? {} : { restartBackoffMs: parseDuration(restartBackoff)! }),
    ...(isolation === undefined ? {} : { isolation }),
    ...(toolPolicy === undefined ? {} : { toolPolicy }),
  };
}

export function upstreamRoutes({ registry, requireAdmin }: UpstreamRoutesOptions): FastifyPluginAsync {
  const read = requireAdmin('admin', 'security', 'auditor');
  const write = requireAdmin('admin', 'security');
  return async (instance) => {
    const app = instance.withTypeProvider<ZodTypeProvider>();

    app.post(
      '/v1/mcp/servers',
      { onRequest: write, schema: { body: createUpstreamSchema, response: { 201: upstreamSchema } } },
      async (request, reply) => reply.code(201).send(upstreamJson(await registry.add(newUpstream(request.body), changeContext(request, reply)))),
    );

    app.get(
      '/v1/mcp/servers',
      { onRequest: read, schema: { response: { 200: z.object({ servers: z.array(upstreamSchema) }) } } },
      async () => ({ servers: (await registry.list()).map(upstreamJson) }),
    );

    app.get('/v1/mcp/servers/:name', { onRequest: read, schema: { params: nameParams, response: { 200: upstreamSchema } } }, async (request) =>
      upstreamJson(await registry.require(request.params.name)),
    );

    app.delete(
      '/v1/mcp/servers/:name',
      { onRequest: write, schema: { params: nameParams, response: { 204: z.null() } } },
      async (request, reply) => {
        await registry.remove(request.params.name, changeContext(request, reply));
        return reply.code(204).send(null);
      },
    );
  };
}
