/**
 * Admin authentication for HTTP routes: `createAdminAuth(sessions).requireAdmin(...roles)` is an
 * onRequest hook that reads `Authorization: Bearer wdn_…`, authenticates it against the admin sessions
 * and sets `request.principal`. Missing or invalid credentials → 401 WARDEN_UNAUTHENTICATED with
 * `WWW-Authenticate: Bearer realm="warden"` (RFC 6750); a role not in `roles` → 403 WARDEN_FORBIDDEN.
 * Role `admin` passes every check; with no roles, only `admin` does. Other modules' routes receive
 * `requireAdmin` by injection.
 */
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { WardenError } from '../errors/index.js';
import type { AdminSessions } from '../identity/admin-sessions.js';
import type { AdminPrincipal, AdminRole } from '../identity/types.js';
import './principal.js';

export const adminRealm = 'Bearer realm="warden"';

export interface AdminAuth {
  /** An onRequest hook admitting admins with one of `roles` (and always role admin). */
  requireAdmin(...roles: AdminRole[]): onRequestHookHandler;
}

/** The bearer token of `request`, or undefined when there is no `Authorization: Bearer …` header. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer +([^\s]+) *$/i.exec(header);
  return match?.[1];
}

/** The admin principal set by `requireAdmin` (WARDEN_UNAUTHENTICATED when the hook did not run). */
export function adminPrincipal(request: FastifyRequest): AdminPrincipal {
  const principal = request.principal;
  if (principal?.kind !== 'admin') throw new WardenError('WARDEN_UNAUTHENTICATED', 'authentication required');
  return principal;
}

export function createAdminAuth(sessions: Pick<AdminSessions, 'authenticate'>): AdminAuth {
  const check = async (request: FastifyRequest, reply: FastifyReply, allowed: ReadonlySet<AdminRole>): Promise<void> => {
    const token = bearerToken(request);
    if (token === undefined) {
      reply.header('www-authenticate', adminRealm);
      throw new WardenError('WARDEN_UNAUTHENTICATED', 'an admin bearer token is required');
    }
    let principal: AdminPrincipal;
    try {
      principal = await sessions.authenticate(token);
    } catch (err) {
      reply.header('www-authenticate', `${adminRealm}, error="invalid_token"`);
      throw err;
    }
    request.principal = principal;
    if (!allowed.has(principal.role)) {
      throw new WardenError('WARDEN_FORBIDDEN', `role ${principal.role} may not use this route`);
    }
  };
  return {
    requireAdmin(...roles) {
      const allowed = new Set<AdminRole>(['admin', ...roles]);
      // Callback style, so the hook is exactly fastify's onRequestHookHandler wherever it is injected.
      return function requireAdmin(request, reply, done) {
        check(request, reply, allowed).then(
          () => done(),
          (err: unknown) => done(err instanceof Error ? err : new WardenError('WARDEN_INTERNAL', 'authentication failed', { cause: err })),
        );
      };
    },
  };
}
