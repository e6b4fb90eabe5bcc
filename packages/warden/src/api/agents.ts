/**
 * Agent routes (control plane): create, list, read, update, disable/enable and delete agents, and add,
 * list and revoke their credentials. Thin: zod validates every body, parameter and response, the
 * directory and credential store do the work and the audit, and the audit entry's index comes back as
 * the `Warden-Audit-Index` receipt. Admin authentication is injected (`requireAdmin`): reads need the
 * admin, security or auditor role, writes admin or security. A client secret appears only in the
 * response that created it; listings never carry secrets or hashes. `rateLimits` are the agent's own MCP
 * gateway token buckets (`null`: the config's `gateway.rateLimits`); on update they replace the old
 * ones. `agentPermissionRoutes` is the access review, `GET /v1/agents/{name}/permissions` (read
 * roles): per known resource and action, `always` or `conditional` (see `policy/permissions.ts` for
 * what "known resources" means today); it is registered by the policy routes, which hold the authorizer.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { WardenError } from '../errors/index.js';
import {
  MAX_AGENT_BURST,
  MAX_AGENT_RATE,
  MAX_LABELS,
  MAX_LIST,
  MAX_ROLES,
  agentNamePattern,
  labelKeyPattern,
  placePattern,
  rolePattern,
  type AgentDirectory,
  type ChangeContext,
} from '../identity/agents.js';
import type { CredentialStore } from '../identity/credentials.js';
import type { AdminRole, Agent } from '../identity/types.js';
import type { Authorizer } from '../policy/authorizer.js';
import { setAuditReceipt } from './audit-receipt.js';
import './principal.js';

export interface AgentRoutesOptions {
  readonly directory: AgentDirectory;
  readonly credentials: Pick<CredentialStore, 'add' | 'list' | 'revoke'>;
  /** Admin authentication: sets `request.principal` to an AdminPrincipal of one of `roles`, or replies 401/403. */
  readonly requireAdmin: (...roles: AdminRole[]) => onRequestHookHandler;
}

const agentName = z.string().regex(agentNamePattern);
const place = z.string().regex(placePattern).nullable();
const bucketLimit = z.strictObject({
  rate: z.number().positive().max(MAX_AGENT_RATE).describe('tokens per second'),
  burst: z.number().int().min(1).max(MAX_AGENT_BURST).describe('bucket size'),
});
const bucketLimitOut = z.object({ rate: z.number(), burst: z.number() });
const fields = {
  owner: z.string().min(1).max(256),
  roles: z.array(z.string().regex(rolePattern)).max(MAX_ROLES),
  labels: z
    .record(z.string().regex(labelKeyPattern), z.string().min(1).max(256))
    .refine((labels) => Object.keys(labels).length <= MAX_LABELS, `at most ${MAX_LABELS} labels`),
  environment: place,
  region: place,
  clearance: z.number().int().min(0).max(4),
  requireDpop: z.boolean(),
  /** The agent's own gateway rate limits (a bucket left out uses the config's); null clears them. */
  rateLimits: z.strictObject({ perAgent: bucketLimit.optional(), perAgentTool: bucketLimit.optional() }).nullable(),
};

export const agentSchema = z.object({
  name: z.string(),
  owner: z.string(),
  roles: z.array(z.string()),
  labels: z.record(z.string(), z.string()),
  environment: z.string().nullable(),
  region: z.string().nullable(),
  clearance: z.number(),
  status: z.enum(['active', 'disabled', 'quarantined']),
  requireDpop: z.boolean(),
  rateLimits: z.object({ perAgent: bucketLimitOut.optional(), perAgentTool: bucketLimitOut.optional() }).nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
});
export const createAgentSchema = z.strictObject({ name: agentName, ...fields }).partial().required({ name: true, owner: true });
export const updateAgentSchema = z.strictObject(fields).partial();

export const credentialSchema = z.object({
  id: z.string(),
  agent: z.string(),
  kind: z.enum(['client_secret', 'public_key']),
  kid: z.string(),
  label: z.string().nullable(),
  publicJwk: z.record(z.string(), z.unknown()).nullable(),
  expiresAt: z.number().nullable(),
  lastUsedAt: z.number().nullable(),
  revokedAt: z.number().nullable(),
  createdAt: z.number(),
});
/** The create response: the only place a client secret is ever returned. */
export const createdCredentialSchema = credentialSchema.extend({ secret: z.string().optional() });
export const createCredentialSchema = z.strictObject({
  kind: z.enum(['client_secret', 'public_key']),
  jwk: z.record(z.string(), z.unknown()).optional(),
  label: z.string().min(1).max(128).optional(),
  expiresAt: z.number().int().positive().optional(),
});

const nameParams = z.strictObject({ name: agentName });
const credentialParams = z.strictObject({ name: agentName, id: z.string().regex(/^cred_[0-9a-f]{32}$/) });
const labelFilter = z.string().regex(/^[^=]+=.*$/, 'label filters are key=value');
const listQuery = z.strictObject({
  status: z.enum(['active', 'disabled', 'quarantined']).optional(),
  owner: z.string().min(1).max(256).optional(),
  label: z.union([labelFilter, z.array(labelFilter).max(MAX_LABELS)]).optional(),
  after: agentName.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_LIST).default(100),
});

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

/** Agents without secrets: plain data for the response schemas. */
const agentJson = (agent: Agent) => ({ ...agent, roles: [...agent.roles], labels: { ...agent.labels }, rateLimits: agent.rateLimits ?? null });

export function agentRoutes({ directory, credentials, requireAdmin }: AgentRoutesOptions): FastifyPluginAsync {
  const read = requireAdmin('admin', 'security', 'auditor');
  const write = requireAdmin('admin', 'security');
  return async (instance) => {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    const one = { params: nameParams, response: { 200: agentSchema } };

    app.post(
      '/v1/agents',
      { onRequest: write, schema: { body: createAgentSchema, response: { 201: agentSchema } } },
      async (request, reply) => reply.code(201).send(agentJson(await directory.create(request.body, changeContext(request, reply)))),
    );

    app.get(
      '/v1/agents',
      { onRequest: read, schema: { querystring: listQuery, response: { 200: z.object({ agents: z.array(agentSchema), next: z.string().optional() }) } } },
      async (request) => {
        const { label, ...query } = request.query;
        const labels: Record<string, string> = {};
        for (const filter of label === undefined ? [] : [label].flat()) {
          const at = filter.indexOf('=');
          labels[filter.slice(0, at)] = filter.slice(at + 1);
        }
        const page = await directory.list({ ...query, labels });
        return { agents: page.agents.map(agentJson), ...(page.next === undefined ? {} : { next: page.next }) };
      },
    );

    app.get('/v1/agents/:name', { onRequest: read, schema: one }, async (request) => agentJson(await directory.require(request.params.name)));

    app.patch('/v1/agents/:name', { onRequest: write, schema: { ...one, body: updateAgentSchema } }, async (request, reply) =>
      agentJson(await directory.update(request.params.name, request.body, changeContext(request, reply))),
    );

    app.delete(
      '/v1/agents/:name',
      { onRequest: write, schema: { params: nameParams, response: { 204: z.null() } } },
      async (request, reply) => {
        await directory.delete(request.params.name, changeContext(request, reply));
        return reply.code(204).send(null);
      },
    );

    app.post('/v1/agents/:name/disable', { onRequest: write, schema: one }, async (request, reply) =>
      agentJson(await directory.disable(request.params.name, changeContext(request, reply))),
    );

    app.post('/v1/agents/:name/enable', { onRequest: write, schema: one }, async (request, reply) =>
      agentJson(await directory.enable(request.params.name, changeContext(request, reply))),
    );

    app.post(
      '/v1/agents/:name/credentials',
      { onRequest: write, schema: { params: nameParams, body: createCredentialSchema, response: { 201: createdCredentialSchema } } },
      async (request, reply) => {
        const created = await credentials.add(request.params.name, request.body, changeContext(request, reply));
        return reply.code(201).send(created);
      },
    );

    app.get(
      '/v1/agents/:name/credentials',
      { onRequest: read, schema: { params: nameParams, response: { 200: z.object({ credentials: z.array(credentialSchema) }) } } },
      async (request) => ({ credentials: await credentials.list(request.params.name) }),
    );

    app.delete(
      '/v1/agents/:name/credentials/:id',
      { onRequest: write, schema: { params: credentialParams, response: { 200: credentialSchema } } },
      async (request, reply) => credentials.revoke(request.params.name, request.params.id, changeContext(request, reply)),
    );
  };
}

export const permissionsReportSchema = z.object({
  agent: z.string(),
  policySetVersion: z.number(),
  resources: z.number(),
  permissions: z.array(
    z.object({ resource: z.object({ type: z.string(), id: z.string() }), action: z.string(), access: z.enum(['always', 'conditional']), policies: z.array(z.string()) }),
  ),
});

export interface AgentPermissionRoutesOptions {
  readonly authorizer: Pick<Authorizer, 'permissions'>;
  readonly requireAdmin: (...roles: AdminRole[]) => onRequestHookHandler;
}

/** `GET /v1/agents/{name}/permissions?recent=N`: the access review of one agent (read roles). */
export function agentPermissionRoutes({ authorizer, requireAdmin }: AgentPermissionRoutesOptions): FastifyPluginAsync {
  const read = requireAdmin('admin', 'security', 'auditor');
  return async (instance) => {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/v1/agents/:name/permissions',
      {
        onRequest: read,
        schema: {
          params: nameParams,
          querystring: z.strictObject({ recent: z.coerce.number().int().min(0).max(10_000).optional() }),
          response: { 200: permissionsReportSchema },
        },
      },
      async (request) => authorizer.permissions(request.params.name, request.query.recent === undefined ? {} : { recent: request.query.recent }),
    );
  };
}
