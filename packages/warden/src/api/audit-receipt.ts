/**
 * Audit receipts: a response whose call was recorded carries `Warden-Audit-Index: N`, so the caller can
 * later fetch the inclusion proof of its own call (`GET /v1/audit/proof/inclusion?index=N&size=S`).
 * Every audited route sets it through this one function.
 */
import type { FastifyReply } from 'fastify';

export const auditIndexHeader = 'warden-audit-index';

export function setAuditReceipt(reply: FastifyReply, index: number): void {
  reply.header(auditIndexHeader, String(index));
}
