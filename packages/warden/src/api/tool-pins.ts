/**
 * MCP tool pin routes (control plane, `/v1/mcp/tools`): list and read the pinned tools of every
 * upstream, see what changed since a tool was approved, and approve or reject it. Thin: zod checks the
 * shape of every parameter, body and response, the pins module does the work and the audit, and the
 * audit entry's index comes back as the `Warden-Audit-Index` receipt. Reads need the admin, security or
 * auditor role, decisions admin or security. An approval may name the hash the admin reviewed; if the
 * definition changed since, it is refused with WARDEN_CONFLICT.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { WardenError } from '../errors/index.js';
import { changedToolFields, pinStatuses, type PinStatus, type ToolPin, type ToolPins } from '../gateway/tool-pins.js';
import { upstreamNamePattern } from '../gateway/upstreams.js';
import type { ChangeContext } from '../identity/agents.js';
import type { AdminRole } from '../identity/types.js';
import { setAuditReceipt } from './audit-receipt.js';
import './principal.js';

export interface ToolPinRoutesOptions {
  readonly pins: Pick<ToolPins, 'list' | 'get' | 'approve' | 'reject'>;
  /** Admin authentication: sets `request.principal` to an AdminPrincipal of one of `roles`, or replies 401/403. */
  readonly requireAdmin: (...roles: AdminRole[]) => onRequestHookHandler;
}

const serverName = z.string().regex(upstreamNamePattern);
const toolName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const hash = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits');
const status = z.enum(pinStatuses as [PinStatus, ...PinStatus[]]);
/** An MCP tool definition: checked for its name, every other member passed through as sent. */
const toolSchema = z.looseObject({ name: z.string() });

export const toolPinSchema = z.object({
  upstream: z.string(),
  tool: z.string(),
  name: z.string(),
  status,
  hash: z.string(),
  approvedHash: z.string().nullable(),
  definition: toolSchema,
  approvedDefinition: toolSchema.nullable(),
  firstSeenAt: z.number(),
  updatedAt: z.number(),
});

export const toolDiffSchema = z.object({
  approved: toolSchema.nullable(),
  current: toolSchema,
  /** The top-level fields that differ. */
  changed: z.array(z.string()),
});

const listQuery = z.strictObject({ server: serverName.optional(), status: status.optional() });
const pinParams = z.strictObject({ server: serverName, tool: toolName });
const approveBody = z.strictObject({ hash: hash.optional() }).nullish();

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
function pinJson(pin: ToolPin): z.input<typeof toolPinSchema> {
  return { ...pin };
}

/** What changed between the approved and the current definition of `pin`. */
export function toolDiff(pin: ToolPin): { approved: Tool | null; current: Tool; changed: string[] } {
  return { approved: pin.approvedDefinition, current: pin.definition, changed: changedToolFields(pin.approvedDefinition, pin.definition) };
}

export function toolPinRoutes({ pins, requireAdmin }: ToolPinRoutesOptions): FastifyPluginAsync {
  const read = requireAdmin('admin', 'security', 'auditor');
  const write = requireAdmin('admin', 'security');
  return async (instance) => {
    const app = instance.withTypeProvider<ZodTypeProvider>();

    app.get(
      '/v1/mcp/tools',
      { onRequest: read, schema: { querystring: listQuery, response: { 200: z.object({ tools: z.array(toolPinSchema) }) } } },
      async (request) => {
        const { server, status: wanted } = request.query;
        const tools = await pins.list({ ...(server === undefined ? {} : { upstream: server }), ...(wanted === undefined ? {} : { status: wanted }) });
        return { tools: tools.map(pinJson) };
      },
    );

    app.get('/v1/mcp/tools/:server/:tool', { onRequest: read, schema: { params: pinParams, response: { 200: toolPinSchema } } }, async (request) =>
      pinJson(await pins.get(request.params.server, request.params.tool)),
    );

    app.get('/v1/mcp/tools/:server/:tool/diff', { onRequest: read, schema: { params: pinParams, response: { 200: toolDiffSchema } } }, async (request) =>
      toolDiff(await pins.get(request.params.server, request.params.tool)),
    );

    app.post(
      '/v1/mcp/tools/:server/:tool/approve',
      { onRequest: write, schema: { params: pinParams, body: approveBody, response: { 200: toolPinSchema } } },
      async (request, reply) => {
        const { server, tool } = request.params;
        return pinJson(await pins.approve(server, tool, changeContext(request, reply), request.body?.hash));
      },
    );

    app.post(
      '/v1/mcp/tools/:server/:tool/reject',
      { onRequest: write, schema: { params: pinParams, response: { 200: toolPinSchema } } },
      async (request, reply) => pinJson(await pins.reject(request.params.server, request.params.tool, changeContext(request, reply))),
    );
  };
}
