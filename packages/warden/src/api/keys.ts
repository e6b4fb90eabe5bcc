/**
 * Key routes (control plane): create, list, read, update, rotate, disable/enable keys and versions,
 * schedule and cancel destruction, read public keys, and import (BYOK). Thin: zod validates, the
 * keyring does the work and the audit, and the audit entry's index comes back as `Warden-Audit-Index`.
 * Responses carry metadata and versions, never material. Admin authentication is injected; the
 * built-in policies let `admin` and `security` read and write keys.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parseDuration } from '../config/duration.js';
import type { ChangeContext } from '../identity/agents.js';
import type { AdminRole } from '../identity/types.js';
import {
  DEFAULT_DESTRUCTION_DAYS,
  KEY_TYPES,
  MAX_DESTRUCTION_DAYS,
  MIN_DESTRUCTION_DAYS,
  WRAPPING_KEY_BITS,
  keyNamePattern,
  regionPattern,
  type Key,
  type KeyDetails,
  type Keyring,
} from '../kms/index.js';
import { adminPrincipal } from './admin-auth.js';
import { setAuditReceipt } from './audit-receipt.js';

export interface KeyRoutesOptions {
  readonly keyring: Keyring;
  readonly requireAdmin: (...roles: AdminRole[]) => onRequestHookHandler;
}

const MAX_LABELS = 32;
const keyName = z.string().regex(keyNamePattern);
const labels = z
  .record(z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/), z.string().min(1).max(256))
  .refine((l) => Object.keys(l).length <= MAX_LABELS, `at most ${MAX_LABELS} labels`);
const MIN_ROTATION_MS = 3_600_000;
/** A rotation period like `90d`; at least one hour. */
const rotationPeriod = z
  .string()
  .transform((text, zctx) => {
    try {
      const ms = parseDuration(text);
      if (ms !== undefined && ms >= MIN_ROTATION_MS) return ms;
    } catch {
      // reported below
    }
    zctx.addIssue({ code: 'custom', message: 'a duration of at least 1h, e.g. 90d' });
    return z.NEVER;
  })
  .nullable();

export const keySchema = z.object({
  id: z.string(),
  name: z.string(),
  type: z.enum(KEY_TYPES),
  protection: z.enum(['software', 'hsm']),
  region: z.string(),
  labels: z.record(z.string(), z.string()),
  rotationPeriodMs: z.number().nullable(),
  state: z.enum(['enabled', 'disabled', 'pending_destruction', 'destroyed']),
  latestVersion: z.number(),
  minDecryptionVersion: z.number(),
  minEncryptionVersion: z.number(),
  nextRotationAt: z.number().nullable(),
  destroyAt: z.number().nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
});
export const keyDetailsSchema = keySchema.extend({
  versions: z.array(
    z.object({
      version: z.number(),
      state: z.enum(['enabled', 'disabled', 'destroyed']),
      origin: z.enum(['generated', 'imported']),
      createdAt: z.number(),
      usageCount: z.number(),
      lastUsedAt: z.number().nullable(),
    }),
  ),
});
export const createKeySchema = z.strictObject({
  name: keyName,
  type: z.enum(KEY_TYPES),
  protection: z.enum(['software', 'hsm']).optional(),
  region: z.string().regex(regionPattern).optional(),
  labels: labels.optional(),
  rotationPeriod: rotationPeriod.optional(),
});
export const updateKeySchema = z.strictObject({
  rotationPeriod: rotationPeriod.optional(),
  minDecryptionVersion: z.number().int().min(1).optional(),
  minEncryptionVersion: z.number().int().min(1).optional(),
  labels: labels.optional(),
});
const nameParams = z.strictObject({ name: keyName });
const versionParams = z.strictObject({ name: keyName, version: z.coerce.number().int().min(1).max(2 ** 31 - 1) });
/** Optional: no body means the default window. */
const destroySchema = z.strictObject({ days: z.number().int().min(MIN_DESTRUCTION_DAYS).max(MAX_DESTRUCTION_DAYS).optional() }).nullish();
const publicKeyQuery = z.strictObject({ version: z.coerce.number().int().min(1).optional() });
/** The wrapped material: base64 of RSA-OAEP(SHA-256) ciphertext (384 bytes) followed by the RFC 5649 wrap. */
const importSchema = z.strictObject({ material: z.base64().max(8192) });

function changeContext(request: FastifyRequest, reply: FastifyReply): ChangeContext {
  const principal = adminPrincipal(request);
  return { actor: { type: 'admin', id: principal.admin }, source: { ip: request.ip, requestId: request.id }, receipt: (index) => setAuditReceipt(reply, index) };
}

const keyJson = (key: Key) => ({ ...key, labels: { ...key.labels } });
const detailsJson = (key: KeyDetails) => ({ ...keyJson(key), versions: key.versions.map(({ keyId: _keyId, ...v }) => v) });

export function keyRoutes({ keyring, requireAdmin }: KeyRoutesOptions): FastifyPluginAsync {
  const read = requireAdmin('admin', 'security');
  const write = requireAdmin('admin', 'security');
  return async (instance) => {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    const details = { 200: keyDetailsSchema };

    app.post('/v1/keys', { onRequest: write, schema: { body: createKeySchema, response: { 201: keyDetailsSchema } } }, async (request, reply) => {
      const { rotationPeriod: period, ...rest } = request.body;
      const created = await keyring.create({ ...rest, ...(period === undefined ? {} : { rotationPeriodMs: period }) }, changeContext(request, reply));
      return reply.code(201).send(detailsJson(created));
    });
    app.get('/v1/keys', { onRequest: read, schema: { response: { 200: z.object({ keys: z.array(keySchema) }) } } }, async () => ({
      keys: (await keyring.list()).map(keyJson),
    }));
    app.get('/v1/keys/:name', { onRequest: read, schema: { params: nameParams, response: details } }, async (request) => detailsJson(await keyring.get(request.params.name)));
    app.patch('/v1/keys/:name', { onRequest: write, schema: { params: nameParams, body: updateKeySchema, response: details } }, async (request, reply) => {
      const { rotationPeriod: period, ...rest } = request.body;
      return detailsJson(await keyring.update(request.params.name, { ...rest, ...(period === undefined ? {} : { rotationPeriodMs: period }) }, changeContext(request, reply)));
    });
    const lifecycle = [
      ['rotate', (name: string, ctx: ChangeContext) => keyring.rotate(name, ctx)],
      ['disable', (name: string, ctx: ChangeContext) => keyring.disable(name, ctx)],
      ['enable', (name: string, ctx: ChangeContext) => keyring.enable(name, ctx)],
      ['cancel-destruction', (name: string, ctx: ChangeContext) => keyring.cancelDestruction(name, ctx)],
    ] as const;
    for (const [verb, run] of lifecycle) {
      app.post(`/v1/keys/:name/${verb}`, { onRequest: write, schema: { params: nameParams, response: details } }, async (request, reply) =>
        detailsJson(await run(request.params.name, changeContext(request, reply))),
      );
    }
    app.post('/v1/keys/:name/schedule-destruction', { onRequest: write, schema: { params: nameParams, body: destroySchema, response: details } }, async (request, reply) =>
      detailsJson(await keyring.scheduleDestruction(request.params.name, request.body?.days ?? DEFAULT_DESTRUCTION_DAYS, changeContext(request, reply))),
    );
    for (const state of ['disable', 'enable'] as const) {
      app.post(`/v1/keys/:name/versions/:version/${state}`, { onRequest: write, schema: { params: versionParams, response: details } }, async (request, reply) =>
        detailsJson(await keyring.setVersionState(request.params.name, request.params.version, state === 'disable' ? 'disabled' : 'enabled', changeContext(request, reply))),
      );
    }
    app.get(
      '/v1/keys/:name/public-key',
      { onRequest: read, schema: { params: nameParams, querystring: publicKeyQuery, response: { 200: z.object({ name: z.string(), version: z.number(), pem: z.string(), jwk: z.record(z.string(), z.unknown()) }) } } },
      async (request) => keyring.publicKey(request.params.name, request.query.version),
    );
    app.get(
      '/v1/keys/:name/import',
      { onRequest: write, schema: { params: nameParams, response: { 200: z.object({ name: z.string(), algorithm: z.literal('RSA_AES_KEY_WRAP_SHA_256'), wrappingKeyBits: z.number(), wrappingKey: z.string() }) } } },
      async (request) => {
        await keyring.get(request.params.name);
        return { name: request.params.name, algorithm: 'RSA_AES_KEY_WRAP_SHA_256' as const, wrappingKeyBits: WRAPPING_KEY_BITS, wrappingKey: await keyring.wrappingKey() };
      },
    );
    app.post('/v1/keys/:name/import', { onRequest: write, schema: { params: nameParams, body: importSchema, response: details } }, async (request, reply) =>
      detailsJson(await keyring.import(request.params.name, Buffer.from(request.body.material, 'base64'), changeContext(request, reply))),
    );
  };
}
