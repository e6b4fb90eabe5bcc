/**
 * The detokenize route (data plane): `POST /v1/tokens/detokenize {tokens: [...]}` turns screening tokens
 * (`screen/tokenizer.ts`) back into the values they stand for. The caller is an agent (access token for
 * `<issuer>/v1/keys`, like the key operations) or an admin (`wdn_` token). One decision per call: the
 * action `tokens:detokenize` on `Warden::Key::"<tokenization key>"`, decided by the operator's policies
 * and audited durably first; a deny is 403 WARDEN_FORBIDDEN and nothing is looked up. The tokenizer then
 * records the detokenization (counts, never values) durably before the values go out. The answer is 200
 * `{results: [...]}`, per token `{value, type}` or `{error: {code, status, title, detail}}` (an unknown
 * or malformed token is WARDEN_NOT_FOUND; one bad token does not fail the others), with
 * `Warden-Audit-Index` naming the detokenization entry.
 */
import type { FastifyPluginAsync, onRequestAsyncHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { WardenError } from '../errors/index.js';
import type { AdminSessions } from '../identity/admin-sessions.js';
import { KEY_ENTITY_TYPE } from '../kms/index.js';
import type { AuthorizationRequest, AuthorizeOptions, Decision } from '../policy/index.js';
import { adminContext } from '../policy/builtin.js';
import { MAX_DETOKENIZE_BATCH, type Tokenizer } from '../screen/tokenizer.js';
import { setAuditReceipt } from './audit-receipt.js';
import { authenticateAgentOrAdmin, callerOf, itemError, itemErrorSchema } from './key-operations.js';
import './principal.js';

export interface TokenRoutesOptions {
  readonly tokenizer: Pick<Tokenizer, 'keyName' | 'detokenize'>;
  /** The one authorizer (the operator's policies), as the key operations use it. */
  readonly authorize: (request: AuthorizationRequest, options: AuthorizeOptions) => Promise<Decision>;
  /** The agent authenticate stage (`requireAgent` for `<issuer>/v1/keys`). */
  readonly authenticateAgent: onRequestAsyncHookHandler;
  readonly sessions: Pick<AdminSessions, 'authenticate'>;
  readonly now?: () => number;
}

/** A token is short (`tok_<type>_v<n>_<22>`); anything longer cannot be one and is refused by the schema. */
const MAX_TOKEN_CHARS = 128;

export const detokenizeRequestSchema = z.strictObject({ tokens: z.array(z.string().max(MAX_TOKEN_CHARS)).min(1).max(MAX_DETOKENIZE_BATCH) });
export const detokenizeResponseSchema = z.strictObject({
  results: z.array(z.union([z.strictObject({ value: z.string(), type: z.string() }), itemErrorSchema])),
});

export function tokenRoutes({ tokenizer, authorize, authenticateAgent, sessions, now = Date.now }: TokenRoutesOptions): FastifyPluginAsync {
  const authenticate = authenticateAgentOrAdmin(authenticateAgent, sessions);
  return async (instance) => {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    app.post(
      '/v1/tokens/detokenize',
      { onRequest: authenticate, schema: { body: detokenizeRequestSchema, response: { 200: detokenizeResponseSchema } } },
      async (request, reply) => {
        const caller = callerOf(request);
        const decision = await authorize(
          {
            principal: caller.principal,
            action: { type: 'Warden::Action', id: 'tokens:detokenize' },
            resource: { type: KEY_ENTITY_TYPE, id: tokenizer.keyName },
            context: adminContext(now(), request.ip),
          },
          { actor: caller.actor, ...(caller.source ? { source: caller.source } : {}), ...(caller.entities ? { extraEntities: caller.entities } : {}) },
        );
        if (decision.auditIndex !== undefined) setAuditReceipt(reply, decision.auditIndex);
        if (decision.decision !== 'allow') throw new WardenError('WARDEN_FORBIDDEN', 'not permitted by policy', { details: { decisionId: decision.decisionId } });
        const results = await tokenizer.detokenize(request.body.tokens, {
          actor: caller.actor,
          ...(caller.source ? { source: caller.source } : {}),
          decisionId: decision.decisionId,
          receipt: (index) => setAuditReceipt(reply, index),
        });
        return { results: results.map((r) => (r.ok ? { value: r.value, type: r.type } : itemError(r.error))) };
      },
    );
  };
}
