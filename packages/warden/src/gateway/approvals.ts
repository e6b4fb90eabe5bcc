/**
 * Human approval of risky tool calls. A call that needs approval (a determining policy annotated
 * `@approval("required")`) is held: `await` finds an approved, unused, unexpired approval bound to the
 * same agent, tool and argument digest and consumes it (single use, compare-and-set), or files a pending
 * one (reusing a pending one for the identical call) and waits up to `waitMs` for an admin's decision.
 * Approved in time: the call proceeds. Denied: WARDEN_APPROVAL_DENIED (and so is the identical call until
 * the denial expires). Still pending when the wait ends:
 * WARDEN_APPROVAL_PENDING with the approval id — the agent may retry the identical call once approved,
 * until the approval expires (`ttlMs` from filing). A call with other arguments never matches. Filing,
 * approving, denying and using are audited.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { canonicalize, type AuditLog, type JsonValue } from '../audit/index.js';
import { WardenError } from '../errors/index.js';
import { auditFirst, type ChangeContext } from '../identity/agents.js';
import type { Database } from '../store/index.js';
import type { McpApprovalsTable } from '../store/tables-approvals.js';

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'used';
export interface Approval {
  id: string;
  agent: string;
  tool: string;
  argsDigest: string;
  status: ApprovalStatus;
  decidedBy: string | null;
  createdAt: number;
  decidedAt: number | null;
  expiresAt: number;
}

export interface Approvals {
  /** Resolves when the call may proceed; throws WARDEN_APPROVAL_PENDING or WARDEN_APPROVAL_DENIED. */
  await(call: { agent: string; tool: string; args: Record<string, unknown> | undefined }): Promise<Approval>;
  list(options?: { status?: ApprovalStatus }): Promise<Approval[]>;
  /** WARDEN_NOT_FOUND; WARDEN_CONFLICT unless pending and unexpired. Audited first. */
  decide(id: string, decision: 'approved' | 'denied', ctx: ChangeContext): Promise<Approval>;
}

export interface ApprovalsOptions {
  db: Kysely<Database>;
  audit: Pick<AuditLog, 'append'>;
  /** How long a held call waits for a decision (ms). */
  waitMs: number;
  /** How long an approval can be used after it was filed (ms). */
  ttlMs: number;
  pollMs?: number;
  now?: () => number;
}

/** SHA-256 (hex) of the canonical JSON of the arguments. */
export function argumentsDigest(args: Record<string, unknown> | undefined): string {
  return createHash('sha256')
    .update(canonicalize(JSON.parse(JSON.stringify(args ?? {})) as JsonValue))
    .digest('hex');
}

const toApproval = (r: McpApprovalsTable): Approval => ({
  id: r.id,
  agent: r.agent,
  tool: r.tool,
  argsDigest: r.args_digest,
  status: r.status as ApprovalStatus,
  decidedBy: r.decided_by,
  createdAt: Number(r.created_at),
  decidedAt: r.decided_at === null ? null : Number(r.decided_at),
  expiresAt: Number(r.expires_at),
});

export function createApprovals({ db, audit, waitMs, ttlMs, pollMs = 200, now = Date.now }: ApprovalsOptions): Approvals {
  const system: ChangeContext = { actor: { type: 'system', id: 'mcp-gateway' } };

  /** Marks an approved approval used (compare-and-set); false when someone else used it first. */
  async function use(approval: McpApprovalsTable): Promise<boolean> {
    const result = await db.updateTable('mcp_approvals').set({ status: 'used' }).where('id', '=', approval.id).where('status', '=', 'approved').executeTakeFirst();
    if (result.numUpdatedRows === 0n) return false;
    await auditFirst(audit, system, { activityId: 3, action: 'mcp.approval.use', resource: { type: 'approval', id: approval.id }, details: { agent: approval.agent, tool: approval.tool } });
    return true;
  }

  const matching = (call: { agent: string; tool: string }, digest: string) =>
    db.selectFrom('mcp_approvals').selectAll().where('agent', '=', call.agent).where('tool', '=', call.tool).where('args_digest', '=', digest).where('expires_at', '>', now());

  return {
    async await(call) {
      const digest = argumentsDigest(call.args);
      const approved = await matching(call, digest).where('status', '=', 'approved').orderBy('created_at').executeTakeFirst();
      if (approved && (await use(approved))) return toApproval({ ...approved, status: 'used' });
      // A denial stands for the identical call until it expires (no re-asking by retrying).
      const denied = await matching(call, digest).where('status', '=', 'denied').executeTakeFirst();
      if (denied) throw new WardenError('WARDEN_APPROVAL_DENIED', 'an admin denied this call', { details: { approvalId: denied.id } });
      let pending = await matching(call, digest).where('status', '=', 'pending').orderBy('created_at').executeTakeFirst();
      if (!pending) {
        const at = now();
        pending = { id: `apr_${randomUUID().replaceAll('-', '')}`, agent: call.agent, tool: call.tool, args_digest: digest, status: 'pending', decided_by: null, created_at: at, decided_at: null, expires_at: at + ttlMs };
        await auditFirst(audit, system, { activityId: 1, action: 'mcp.approval.request', resource: { type: 'approval', id: pending.id }, details: { agent: call.agent, tool: call.tool, argsDigest: digest } });
        await db.insertInto('mcp_approvals').values(pending).execute();
      }
      const id = pending.id;
      const deadline = now() + waitMs;
      for (;;) {
        const row = await db.selectFrom('mcp_approvals').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
        if (row.status === 'approved' && Number(row.expires_at) > now() && (await use(row))) return toApproval({ ...row, status: 'used' });
        if (row.status === 'denied') throw new WardenError('WARDEN_APPROVAL_DENIED', 'an admin denied this call', { details: { approvalId: id } });
        if (now() >= deadline) throw new WardenError('WARDEN_APPROVAL_PENDING', 'this call waits for an admin to approve it; retry the identical call once approved', { details: { approvalId: id } });
        await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, Math.max(1, deadline - now()))));
      }
    },
    async list(options = {}) {
      let query = db.selectFrom('mcp_approvals').selectAll().orderBy('created_at', 'desc').limit(1000);
      if (options.status) query = query.where('status', '=', options.status);
      return (await query.execute()).map(toApproval);
    },
    async decide(id, decision, ctx) {
      const row = await db.selectFrom('mcp_approvals').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw new WardenError('WARDEN_NOT_FOUND', `approval ${id} not found`, { details: { id } });
      if (row.status !== 'pending' || Number(row.expires_at) <= now()) {
        throw new WardenError('WARDEN_CONFLICT', `approval ${id} is ${Number(row.expires_at) <= now() ? 'expired' : row.status}`, { details: { id } });
      }
      await auditFirst(audit, ctx, {
        activityId: 3,
        action: decision === 'approved' ? 'mcp.approval.approve' : 'mcp.approval.deny',
        resource: { type: 'approval', id },
        details: { agent: row.agent, tool: row.tool, argsDigest: row.args_digest },
      });
      const by = ctx.actor.id;
      const result = await db
        .updateTable('mcp_approvals')
        .set({ status: decision, decided_by: by, decided_at: now() })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) throw new WardenError('WARDEN_CONFLICT', `approval ${id} was decided concurrently`, { details: { id } });
      return toApproval({ ...row, status: decision, decided_by: by, decided_at: now() });
    },
  };
}
