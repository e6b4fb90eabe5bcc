/**
 * Policy routes (control plane) and the decision endpoint. `GET /v1/policies` shows the active policy
 * set (or `?version=N`) with its files and policies, `PUT /v1/policies` applies a new set (400
 * WARDEN_POLICY_INVALID with every diagnostic — file, line, column — in `errors`), `GET
 * /v1/policies/history` lists versions and `POST /v1/policies/rollback` re-activates one; changes carry
 * the `Warden-Audit-Index` receipt. `POST /v1/policies/links` links a template of the active set to a
 * principal and/or resource and `DELETE /v1/policies/links/{id}` removes a link, each storing a new
 * version (same roles as apply); `GET /v1/policies` shows the version's templates and links. `POST /v1/policies/dry-run` is the change gate: it replays recent
 * audited decisions against proposed files and reports the flips, applying nothing (same roles as
 * apply). `POST /v1/authorize` asks the authorizer for one decision (audited by the authorizer). Reads
 * need admin, security or auditor; writes and authorize need admin or security (a dedicated `pdp` role
 * for services that only ask for decisions is a later change). The access review route
 * (`GET /v1/agents/{name}/permissions`, in `agents.ts`) is registered here, beside the authorizer it asks.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { WardenError } from '../errors/index.js';
import type { ChangeContext } from '../identity/agents.js';
import type { AdminRole } from '../identity/types.js';
import type { Authorizer } from '../policy/authorizer.js';
import { DRY_RUN_MAX_LIMIT } from '../policy/dry-run.js';
import type { PolicyStore } from '../policy/policy-store.js';
import { actionRefSchema, cedarEntitySchema, entityRefSchema } from '../policy/policy-tests.js';
import { agentPermissionRoutes } from './agents.js';
import { setAuditReceipt } from './audit-receipt.js';
import './principal.js';

export interface PolicyRoutesOptions {
  readonly store: Pick<PolicyStore, 'apply' | 'history' | 'show' | 'rollback' | 'link' | 'unlink'>;
  readonly authorizer: Pick<Authorizer, 'authorize' | 'dryRun' | 'permissions'>;
  /** Admin authentication: sets `request.principal` to an AdminPrincipal of one of `roles`, or replies 401/403. */
  readonly requireAdmin: (...roles: AdminRole[]) => onRequestHookHandler;
}

/** Most files in one policy set, and most characters in one file. */
export const MAX_POLICY_FILES = 256;
export const MAX_POLICY_FILE_CHARS = 262_144;

export const policyFileNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const policyFileSchema = z.strictObject({ name: z.string().regex(policyFileNamePattern), text: z.string().max(MAX_POLICY_FILE_CHARS) });
export const applyPoliciesSchema = z.strictObject({
  files: z
    .array(policyFileSchema)
    .min(1)
    .max(MAX_POLICY_FILES)
    .refine((files) => new Set(files.map((f) => f.name)).size === files.length, 'file names must be unique'),
  comment: z.string().min(1).max(1024).optional(),
});
const versionSchema = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

const versionInfo = {
  version: z.number(),
  createdAt: z.number(),
  createdBy: z.string(),
  comment: z.string().nullable(),
  policyCount: z.number(),
  active: z.boolean(),
};
const refJson = z.object({ type: z.string(), id: z.string() });
export const policyLinkSchema = z.object({ id: z.string(), templateId: z.string(), principal: refJson.optional(), resource: refJson.optional() });
export const policySetSchema = z.object({
  ...versionInfo,
  files: z.array(z.object({ name: z.string(), text: z.string() })),
  policies: z.array(z.object({ id: z.string(), text: z.string() })),
  templates: z.array(z.object({ id: z.string(), text: z.string() })),
  links: z.array(policyLinkSchema),
});
export const policyIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
export const createLinkSchema = z
  .strictObject({
    templateId: z.string().min(1).max(256),
    principal: entityRefSchema.optional(),
    resource: entityRefSchema.optional(),
    id: z.string().regex(policyIdPattern).optional(),
  })
  .refine((b) => b.principal !== undefined || b.resource !== undefined, 'a link needs a principal or a resource');
export const historySchema = z.object({ versions: z.array(z.object(versionInfo)) });

export const authorizeSchema = z.strictObject({
  principal: entityRefSchema,
  action: actionRefSchema,
  resource: entityRefSchema,
  context: z.record(z.string(), z.unknown()).default({}),
  entities: z.array(cedarEntitySchema).max(100).default([]),
});
export const dryRunSchema = z.strictObject({
  files: applyPoliciesSchema.shape.files,
  limit: z.number().int().min(1).max(DRY_RUN_MAX_LIMIT).optional(),
});
const flipSchema = z.object({
  decisionId: z.string(),
  index: z.number(),
  time: z.string(),
  request: z.object({ principal: refJson, action: refJson, resource: refJson, context: z.record(z.string(), z.unknown()) }),
  oldPolicies: z.array(z.string()),
  newPolicies: z.array(z.string()),
  approximate: z.boolean(),
});
export const dryRunReportSchema = z.object({
  replayed: z.number(),
  skipped: z.number(),
  approximate: z.number(),
  flips: z.object({ allowToDeny: z.array(flipSchema), denyToAllow: z.array(flipSchema) }),
});
export const decisionSchema = z.object({
  decision: z.enum(['allow', 'deny']),
  decisionId: z.string(),
  policies: z.array(z.string()),
  errors: z.array(z.string()),
  policySetVersion: z.number(),
});

/** The admin calling, as the audit actor, and where from. */
function caller(request: FastifyRequest): { actor: ChangeContext['actor']; source: { ip: string; requestId: string } } {
  const principal = request.principal;
  if (principal?.kind !== 'admin') throw new WardenError('WARDEN_UNAUTHENTICATED', 'admin authentication required');
  return { actor: { type: 'admin', id: principal.admin }, source: { ip: request.ip, requestId: request.id } };
}

/** The audit context of a change: the caller, and the receipt header on the reply. */
const changeContext = (request: FastifyRequest, reply: FastifyReply): ChangeContext => ({
  ...caller(request),
  receipt: (index) => setAuditReceipt(reply, index),
});

export function policyRoutes({ store, authorizer, requireAdmin }: PolicyRoutesOptions): FastifyPluginAsync {
  const read = requireAdmin('admin', 'security', 'auditor');
  const write = requireAdmin('admin', 'security');
  return async (instance) => {
    const app = instance.withTypeProvider<ZodTypeProvider>();

    app.get(
      '/v1/policies',
      { onRequest: read, schema: { querystring: z.strictObject({ version: z.coerce.number().pipe(versionSchema).optional() }), response: { 200: policySetSchema } } },
      async (request) => {
        const set = await store.show(request.query.version);
        return {
          ...set,
          policies: [...set.policies].map(([id, text]) => ({ id, text })),
          templates: [...set.templates].map(([id, text]) => ({ id, text })),
        };
      },
    );

    app.put(
      '/v1/policies',
      { onRequest: write, schema: { body: applyPoliciesSchema, response: { 200: z.object({ version: z.number(), droppedLinks: z.array(z.string()).optional() }) } } },
      async (request, reply) => {
        const { files, comment } = request.body;
        return store.apply(files, { ...changeContext(request, reply), ...(comment === undefined ? {} : { comment }) });
      },
    );

    app.get('/v1/policies/history', { onRequest: read, schema: { response: { 200: historySchema } } }, async () => ({ versions: await store.history() }));

    app.post(
      '/v1/policies/rollback',
      { onRequest: write, schema: { body: z.strictObject({ version: versionSchema }), response: { 200: z.object({ version: z.number() }) } } },
      async (request, reply) => store.rollback(request.body.version, changeContext(request, reply)),
    );

    app.post(
      '/v1/policies/links',
      { onRequest: write, schema: { body: createLinkSchema, response: { 200: z.object({ version: z.number(), id: z.string() }) } } },
      async (request, reply) => {
        const { templateId, principal, resource, id } = request.body;
        return store.link(
          { templateId, ...(principal === undefined ? {} : { principal }), ...(resource === undefined ? {} : { resource }), ...(id === undefined ? {} : { id }) },
          changeContext(request, reply),
        );
      },
    );

    app.delete(
      '/v1/policies/links/:id',
      { onRequest: write, schema: { params: z.strictObject({ id: z.string().min(1).max(256) }), response: { 200: z.object({ version: z.number() }) } } },
      async (request, reply) => store.unlink(request.params.id, changeContext(request, reply)),
    );

    app.post(
      '/v1/policies/dry-run',
      { onRequest: write, schema: { body: dryRunSchema, response: { 200: dryRunReportSchema } } },
      async (request) => authorizer.dryRun(request.body.files, request.body.limit === undefined ? {} : { limit: request.body.limit }),
    );

    await agentPermissionRoutes({ authorizer, requireAdmin })(instance, {});

    app.post(
      '/v1/authorize',
      { onRequest: write, schema: { body: authorizeSchema, response: { 200: decisionSchema } } },
      async (request, reply) => {
        const { principal, action, resource, context, entities } = request.body;
        const decision = await authorizer.authorize(
          { principal, action, resource, context },
          {
            extraEntities: entities.map((e) => ({ uid: e.uid, attrs: e.attrs, parents: e.parents, ...(e.tags === undefined ? {} : { tags: e.tags }) })),
            ...caller(request),
          },
        );
        if (decision.auditIndex !== undefined) setAuditReceipt(reply, decision.auditIndex);
        return {
          decision: decision.decision,
          decisionId: decision.decisionId,
          policies: decision.policies,
          errors: decision.errors,
          policySetVersion: decision.policySetVersion,
        };
      },
    );
  };
}
