/**
 * Health routes: `GET /healthz` (the process is alive), `GET /readyz` (the store answers, the seal is
 * open and the audit log can be written; 503 otherwise) and `GET /v1/status` (version, store, seal and
 * audit state with sink lag, for `warden status`). None of them reveals configuration beyond the kinds
 * of store and seal; the audit section (sink names, lag, last errors) is shown to admins only.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';

/** What the health routes ask of the running server. */
export interface HealthProbe {
  readonly version: string;
  readonly storeKind: 'sqlite' | 'postgres';
  readonly sealKind: 'file' | 'passphrase' | 'pkcs11';
  /** True when the store answers a ping. */
  storeReachable(): Promise<boolean>;
  /** True while the root key is unsealed and the barrier open. */
  unsealed(): boolean;
  /** False once an audit append has failed (until one succeeds again). */
  auditHealthy(): boolean;
  /** Size, latest checkpoint and sink lag of the audit log. */
  auditStatus(): Promise<AuditStatus>;
  /** True when the request carries a valid admin token (the audit section of /v1/status is for admins). */
  isAdmin(request: FastifyRequest): Promise<boolean>;
}

export const readinessSchema = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.object({
    store: z.enum(['ok', 'unavailable']),
    seal: z.enum(['unsealed', 'sealed']),
    audit: z.enum(['ok', 'unavailable']),
  }),
});

export const auditStatusSchema = z.object({
  healthy: z.boolean(),
  size: z.number(),
  checkpointSize: z.number(),
  sinks: z.array(
    z.object({ name: z.string(), nextIndex: z.number(), lag: z.number(), lastError: z.string().optional() }),
  ),
});

export const statusSchema = z.object({
  version: z.string(),
  store: z.object({ kind: z.enum(['sqlite', 'postgres']), reachable: z.boolean() }),
  seal: z.object({ kind: z.enum(['file', 'passphrase', 'pkcs11']), state: z.enum(['unsealed', 'sealed']) }),
  audit: auditStatusSchema.optional(),
});

export type Readiness = z.infer<typeof readinessSchema>;
export type Status = z.infer<typeof statusSchema>;
export type AuditStatus = z.infer<typeof auditStatusSchema>;

/** The health and status routes over a probe. */
export function healthRoutes(probe: HealthProbe): FastifyPluginAsync {
  return async (instance) => {
    const app = instance.withTypeProvider<ZodTypeProvider>();

    app.get(
      '/healthz',
      { schema: { response: { 200: z.object({ status: z.literal('ok') }) } }, logLevel: 'warn' },
      async () => ({ status: 'ok' as const }),
    );

    app.get(
      '/readyz',
      { schema: { response: { 200: readinessSchema, 503: readinessSchema } }, logLevel: 'warn' },
      async (_request, reply) => {
        const store = (await probe.storeReachable()) ? 'ok' : 'unavailable';
        const seal = probe.unsealed() ? 'unsealed' : 'sealed';
        const audit = probe.auditHealthy() ? 'ok' : 'unavailable';
        const ready = store === 'ok' && seal === 'unsealed' && audit === 'ok';
        return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks: { store, seal, audit } });
      },
    );

    app.get('/v1/status', { schema: { response: { 200: statusSchema } } }, async (request) => ({
      version: probe.version,
      store: { kind: probe.storeKind, reachable: await probe.storeReachable() },
      seal: { kind: probe.sealKind, state: probe.unsealed() ? ('unsealed' as const) : ('sealed' as const) },
      audit: (await probe.isAdmin(request)) ? await probe.auditStatus().catch(() => undefined) : undefined,
    }));
  };
}
