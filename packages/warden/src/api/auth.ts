/**
 * Admin authentication and administration routes: login (password + TOTP → session token) and logout,
 * the admin directory (list, create — the password and TOTP secret are in that one answer only —,
 * disable, enable) and automation tokens (create with a fresh TOTP code, revoke). Login is public and
 * throttled by the sessions service (429 with Retry-After); everything else sits behind the injected
 * `requireAdmin` hook.
 */
import type { FastifyPluginAsync, onRequestHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parseDuration } from '../config/duration.js';
import { WardenError, isWardenError } from '../errors/index.js';
import type { AdminSessions } from '../identity/admin-sessions.js';
import { adminRoles, usernamePattern, type AdminDirectory } from '../identity/admins.js';
import type { AdminRole } from '../identity/types.js';
import { adminPrincipal } from './admin-auth.js';

export interface AuthRoutesOptions {
  readonly admins: Pick<AdminDirectory, 'create' | 'list' | 'disable' | 'enable'>;
  readonly sessions: Pick<AdminSessions, 'login' | 'logout' | 'createAdminToken' | 'revoke'>;
  readonly requireAdmin: (...roles: AdminRole[]) => onRequestHookHandler;
}

const role = z.enum(adminRoles as [AdminRole, ...AdminRole[]]);
const username = z.string().regex(usernamePattern);
const totp = z.string().regex(/^\d{6}$/);
const ttl = z.string().refine((text) => parseDuration(text) !== undefined, 'a duration such as 30m, 24h or 7d');

export const loginResponseSchema = z.object({ token: z.string(), expiresAt: z.number(), role });
export const adminSchema = z.object({ username: z.string(), role, status: z.enum(['active', 'disabled']), createdAt: z.number(), updatedAt: z.number() });
export const newAdminSchema = z.object({ username: z.string(), role, password: z.string(), totpSecret: z.string(), totpUri: z.string() });
export const adminTokenSchema = z.object({ id: z.string(), token: z.string(), expiresAt: z.number(), role });

export function authRoutes({ admins, sessions, requireAdmin }: AuthRoutesOptions): FastifyPluginAsync {
  return async (instance) => {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    const anyAdmin = requireAdmin('security', 'auditor');
    const adminOnly = requireAdmin();

    app.post(
      '/v1/auth/login',
      {
        schema: {
          body: z.strictObject({ username: z.string().min(1).max(128), password: z.string().min(1).max(1024), totp: z.string().max(16) }),
          response: { 200: loginResponseSchema },
        },
      },
      async (request, reply) => {
        try {
          const { token, expiresAt, role: granted } = await sessions.login({ ...request.body, ip: request.ip, requestId: request.id });
          return { token, expiresAt, role: granted };
        } catch (err) {
          const retryAfter = isWardenError(err, 'WARDEN_LOGIN_THROTTLED') ? err.details?.retryAfter : undefined;
          if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
          throw err;
        }
      },
    );

    app.post('/v1/auth/logout', { onRequest: anyAdmin }, async (request, reply) => {
      await sessions.logout(adminPrincipal(request));
      return reply.code(204).send();
    });

    app.get(
      '/v1/admins',
      { onRequest: anyAdmin, schema: { response: { 200: z.object({ admins: z.array(adminSchema) }) } } },
      async () => ({ admins: await admins.list() }),
    );

    app.post(
      '/v1/admins',
      { onRequest: adminOnly, schema: { body: z.strictObject({ username, role }), response: { 201: newAdminSchema } } },
      async (request, reply) => reply.code(201).send(await admins.create(request.body, adminPrincipal(request))),
    );

    for (const action of ['disable', 'enable'] as const) {
      app.post(
        `/v1/admins/:username/${action}`,
        { onRequest: adminOnly, schema: { params: z.strictObject({ username }), response: { 200: adminSchema } } },
        async (request) => {
          const by = adminPrincipal(request);
          if (action === 'disable' && request.params.username === by.admin) {
            throw new WardenError('WARDEN_VALIDATION_FAILED', 'an admin cannot disable themselves');
          }
          return admins[action](request.params.username, by);
        },
      );
    }

    app.post(
      '/v1/admin-tokens',
      { onRequest: anyAdmin, schema: { body: z.strictObject({ role, ttl, totp }), response: { 201: adminTokenSchema } } },
      async (request, reply) => {
        const { role: wanted, ttl: text, totp: code } = request.body;
        const issued = await sessions.createAdminToken({
          by: adminPrincipal(request),
          role: wanted,
          ttl: parseDuration(text) ?? 0,
          totp: code,
          ip: request.ip,
        });
        return reply.code(201).send(issued);
      },
    );

    app.post(
      '/v1/admin-tokens/:id/revoke',
      { onRequest: anyAdmin, schema: { params: z.strictObject({ id: z.string().regex(/^[0-9a-f]{32}$/) }) } },
      async (request, reply) => {
        await sessions.revoke(request.params.id, adminPrincipal(request));
        return reply.code(204).send();
      },
    );
  };
}
