/**
 * Audit routes (evidence plane): read entries, the latest and all signed checkpoints, inclusion and
 * consistency proofs, the frontier (for partial export bundles), the verifier key, and the HMAC of a
 * value an auditor holds (`POST /v1/audit/hash`, itself audited, with its receipt). Admins with role
 * `auditor` (or `admin`) only.
 */
import type { FastifyPluginAsync, onRequestHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AuditLog } from '../audit/index.js';
import { WardenError } from '../errors/index.js';
import type { AdminRole } from '../identity/types.js';
import { adminPrincipal } from './admin-auth.js';
import { setAuditReceipt } from './audit-receipt.js';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const count = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const auditEntrySchema = z.object({ index: z.number(), leafHash: z.string(), body: z.string().nullable() });
export const auditCheckpointSchema = z.object({ size: z.number(), root: z.string(), note: z.string() });

export interface AuditRoutesOptions {
  readonly log: AuditLog;
  /** Admin authentication (see api/admin-auth.ts); the audit API admits `auditor` (and `admin`). */
  readonly requireAdmin: (...roles: AdminRole[]) => onRequestHookHandler;
}

/** The routes over an audit log. */
export function auditRoutes({ log, requireAdmin }: AuditRoutesOptions): FastifyPluginAsync {
  return async (instance) => {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    app.addHook('onRequest', requireAdmin('auditor'));

    const sizeAtMost = async (size: number, what: string) => {
      const current = await log.size();
      if (size > current) throw new WardenError('WARDEN_VALIDATION_FAILED', `${what} ${size} is larger than the log (${current} entries)`);
    };

    app.get(
      '/v1/audit/entries',
      {
        schema: {
          querystring: z.strictObject({ start: count.default(0), limit: count.max(1000).default(100) }),
          response: { 200: z.object({ size: z.number(), entries: z.array(auditEntrySchema) }) },
        },
      },
      async (request) => {
        const { start, limit } = request.query;
        const [size, entries] = await Promise.all([log.size(), log.entries(start, limit)]);
        return { size, entries: entries.map((e) => ({ index: e.index, leafHash: b64(e.leafHash), body: e.body })) };
      },
    );

    app.get('/v1/audit/checkpoint', async (_request, reply) => {
      const latest = await log.latestCheckpoint();
      if (!latest) throw new WardenError('WARDEN_NOT_FOUND', 'no checkpoint has been signed yet');
      return reply.type('text/plain; charset=utf-8').send(latest.note);
    });

    app.get(
      '/v1/audit/checkpoints',
      {
        schema: {
          querystring: z.strictObject({ from: count.default(0), limit: count.max(1000).default(1000) }),
          response: { 200: z.object({ checkpoints: z.array(auditCheckpointSchema) }) },
        },
      },
      async (request) => {
        const checkpoints = await log.checkpoints(request.query.from, request.query.limit);
        return { checkpoints: checkpoints.map((c) => ({ size: c.size, root: b64(c.root), note: c.note })) };
      },
    );

    app.get(
      '/v1/audit/proof/inclusion',
      {
        schema: {
          querystring: z.strictObject({ index: count, size: count.min(1) }),
          response: { 200: z.object({ index: z.number(), size: z.number(), leafHash: z.string(), proof: z.array(z.string()) }) },
        },
      },
      async (request) => {
        const { index, size } = request.query;
        if (index >= size) throw new WardenError('WARDEN_VALIDATION_FAILED', `index ${index} is not below size ${size}`);
        await sizeAtMost(size, 'size');
        const [proof, [entry]] = await Promise.all([log.inclusionProof(index, size), log.entries(index, 1)]);
        if (!entry) throw new WardenError('WARDEN_NOT_FOUND', `no entry ${index}`);
        return { index, size, leafHash: b64(entry.leafHash), proof: proof.map(b64) };
      },
    );

    app.get(
      '/v1/audit/proof/consistency',
      {
        schema: {
          querystring: z.strictObject({ from: count.min(1), to: count.min(1) }),
          response: { 200: z.object({ from: z.number(), to: z.number(), proof: z.array(z.string()) }) },
        },
      },
      async (request) => {
        const { from, to } = request.query;
        if (from > to) throw new WardenError('WARDEN_VALIDATION_FAILED', `from ${from} is larger than to ${to}`);
        await sizeAtMost(to, 'to');
        return { from, to, proof: (await log.consistencyProof(from, to)).map(b64) };
      },
    );

    app.get(
      '/v1/audit/frontier',
      {
        schema: {
          querystring: z.strictObject({ size: count }),
          response: { 200: z.object({ size: z.number(), frontier: z.array(z.string()) }) },
        },
      },
      async (request) => {
        const { size } = request.query;
        await sizeAtMost(size, 'size');
        return { size, frontier: (await log.frontier(size)).map(b64) };
      },
    );

    app.get('/v1/audit/verifier-key', async (_request, reply) =>
      reply.type('text/plain; charset=utf-8').send(`${log.verifierKey}\n`),
    );

    app.post(
      '/v1/audit/hash',
      {
        schema: {
          body: z.strictObject({ value: z.string().max(65_536) }),
          response: { 200: z.object({ hash: z.string() }) },
        },
      },
      async (request, reply) => {
        const hash = log.hmac(request.body.value);
        // The lookup itself is recorded (never the value), and the caller gets its receipt.
        const { index } = await log.append({
          class: 'api_activity',
          activityId: 2,
          action: 'audit.hash',
          actor: { type: 'admin', id: adminPrincipal(request).admin },
          source: { ip: request.ip, requestId: request.id },
          resource: { type: 'audit_log', id: log.origin },
          outcome: 'success',
        });
        setAuditReceipt(reply, index);
        return { hash };
      },
    );
  };
}
