/**
 * Approval routes (control plane): `GET /v1/mcp/approvals?status=` lists held tool calls (admin,
 * security, auditor); `POST /v1/mcp/approvals/{id}/approve` and `/deny` decide one (admin, security),
 * audited first, with the `Warden-Audit-Index` receipt. A decision is possible only while the approval
 * is pending and unexpired.
 */
import type { FastifyPluginAsync, onRequestHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Approvals } from '../gateway/approvals.js';
import type { AdminRole } from '../identity/types.js';
import { adminPrincipal } from './admin-auth.js';
import { setAuditReceipt } from './audit-receipt.js';

export interface ApprovalRoutesOptions {
  readonly approvals: Pick<Approvals, 'list' | 'decide'>;
  readonly requireAdmin: (...roles: AdminRole[]) => onRequestHookHandler;
}

const status = z.enum(['pending', 'approved', 'denied', 'used']);
export const approvalSchema = z.object({
  id: z.string(),
  agent: z.string(),
  tool: z.string(),
  argsDigest: z.string(),
  status,
  decidedBy: z.string().nullable(),
  createdAt: z.number(),
  decidedAt: z.number().nullable(),
  expiresAt: z.number(),
});
const idParams = z.strictObject({ id: z.string().regex(/^apr_[0-9a-f]{32}$/) });

export function approvalRoutes({ approvals, requireAdmin }: ApprovalRoutesOptions): FastifyPluginAsync {
  const read = requireAdmin('admin', 'security', 'auditor');
  const write = requireAdmin('admin', 'security');
  return async (instance) => {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/v1/mcp/approvals',
      { onRequest: read, schema: { querystring: z.strictObject({ status: status.optional() }), response: { 200: z.object({ approvals: z.array(approvalSchema) }) } } },
      async (request) => ({ approvals: await approvals.list(request.query.status ? { status: request.query.status } : {}) }),
    );
    for (const [verb, decision] of [['approve', 'approved'], ['deny', 'denied']] as const) {
      app.post(`/v1/mcp/approvals/:id/${verb}`, { onRequest: write, schema: { params: idParams, response: { 200: approvalSchema } } }, async (request, reply) => {
        const principal = adminPrincipal(request);
        return approvals.decide(request.params.id, decision, {
          actor: { type: 'admin', id: principal.admin },
          source: { ip: request.ip, requestId: request.id },
          receipt: (index) => setAuditReceipt(reply, index),
        });
      });
    }
  };
}
