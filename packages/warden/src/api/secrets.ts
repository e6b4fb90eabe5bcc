/**
 * Secret routes (control plane): set (create or replace), list and delete the named secrets upstreams
 * refer to. No route ever returns a value: responses carry only `{name, createdAt, updatedAt}`, and the
 * routes are given a store without `reveal`. Every route needs the admin or security role (an auditor
 * cannot even list names); changes are audited by the store first and return the `Warden-Audit-Index`
 * receipt.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { WardenError } from '../errors/index.js';
import type { ChangeContext } from '../identity/agents.js';
import type { AdminRole } from '../identity/types.js';
import { MAX_SECRET_BYTES, secretNamePattern, type SecretStore } from '../secrets/index.js';
import { setAuditReceipt } from './audit-receipt.js';
import './principal.js';

export interface SecretRoutesOptions {
  /** Deliberately without `reveal`: plaintext never leaves through HTTP. */
  readonly store: Pick<SecretStore, 'set' | 'list' | 'delete'>;
  /** Admin authentication: sets `request.principal` to an AdminPrincipal of one of `roles`, or replies 401/403. */
  readonly requireAdmin: (...roles: AdminRole[]) => onRequestHookHandler;
}

export const secretInfoSchema = z.strictObject({ name: z.string(), createdAt: z.number(), updatedAt: z.number() });
/** The value's byte limit (UTF-8) is checked by the store; no string of more characters can fit it. */
export const setSecretSchema = z.strictObject({ value: z.string().min(1).max(MAX_SECRET_BYTES) });
const nameParams = z.strictObject({ name: z.string().regex(secretNamePattern) });

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

export function secretRoutes({ store, requireAdmin }: SecretRoutesOptions): FastifyPluginAsync {
  const admin = requireAdmin('admin', 'security');
  return async (instance) => {
    const app = instance.withTypeProvider<ZodTypeProvider>();

    app.put(
      '/v1/secrets/:name',
      { onRequest: admin, schema: { params: nameParams, body: setSecretSchema, response: { 200: secretInfoSchema, 201: secretInfoSchema } } },
      async (request, reply) => {
        const { created, name, createdAt, updatedAt } = await store.set(request.params.name, request.body.value, changeContext(request, reply));
        return reply.code(created ? 201 : 200).send({ name, createdAt, updatedAt });
      },
    );

    app.get(
      '/v1/secrets',
      { onRequest: admin, schema: { response: { 200: z.strictObject({ secrets: z.array(secretInfoSchema) }) } } },
      async () => ({ secrets: await store.list() }),
    );

    app.delete(
      '/v1/secrets/:name',
      { onRequest: admin, schema: { params: nameParams, response: { 204: z.null() } } },
      async (request, reply) => {
        await store.delete(request.params.name, changeContext(request, reply));
        return reply.code(204).send(null);
      },
    );
  };
}
