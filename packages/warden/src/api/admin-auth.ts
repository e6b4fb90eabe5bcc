/**
 * Admin authentication and authorization for HTTP routes: `createAdminAuth(sessions, { decide })
 * .requireAdmin(...roles)` is an onRequest hook that reads `Authorization: Bearer wdn_…`, authenticates
 * it against the admin sessions, sets `request.principal`, and then asks `decide` — by default the
 * built-in Cedar policy set (policy/builtin.ts), audited when the server wires it with the audit log —
 * whether the principal may do what the route does. The route's method and URL pattern name the
 * request (`adminRequestFor`): GET/HEAD read and other methods write the collection the path names
 * (`/v1/agents` Agents, `/v1/policies` Policies, `/v1/audit` Audit, `/v1/admins` Admins, `/v1/keys`
 * Keys); `POST /v1/authorize` is `admin:authorize` on Policies, `POST /v1/audit/hash` reads Audit, and
 * logout and `/v1/admin-tokens` are self-service (`admin:self` on Admins). A path that names no
 * collection is denied. Missing or invalid credentials → 401 WARDEN_UNAUTHENTICATED with
 * `WWW-Authenticate: Bearer realm="warden"` (RFC 6750); a deny → 403 WARDEN_FORBIDDEN; a decision that
 * cannot be audited → 503. The `roles` are documentation of the route's intent only (checked to be
 * known roles); they no longer decide.
 */
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { WardenError } from '../errors/index.js';
import type { AdminSessions } from '../identity/admin-sessions.js';
import { adminRoles } from '../identity/admins.js';
import type { AdminPrincipal, AdminRole } from '../identity/types.js';
import { createBuiltinAuthorizer, type AdminCollection, type AdminRequest, type BuiltinAuthorizer } from '../policy/builtin.js';
import './principal.js';

export const adminRealm = 'Bearer realm="warden"';

export interface AdminAuth {
  /** An onRequest hook admitting admins the decision point allows; `roles` document the route's intent. */
  requireAdmin(...roles: AdminRole[]): onRequestHookHandler;
}

/** Decides whether `principal` may call `method` `url` (the route pattern); throws when it cannot decide durably. */
export type AdminDecide = (
  principal: AdminPrincipal,
  method: string,
  url: string,
  source: { ip?: string; requestId?: string },
) => Promise<{ decision: 'allow' | 'deny'; policies: readonly string[] }>;

export interface AdminAuthOptions {
  /** Defaults to the built-in policy set, unaudited (tests); the server passes an audited one. */
  readonly decide?: AdminDecide;
}

const collections: ReadonlyArray<readonly [string, AdminCollection]> = [
  ['/v1/agents', 'Agents'],
  ['/v1/policies', 'Policies'],
  ['/v1/authorize', 'Policies'],
  ['/v1/audit', 'Audit'],
  ['/v1/admins', 'Admins'],
  ['/v1/admin-tokens', 'Admins'],
  ['/v1/auth/logout', 'Admins'],
  ['/v1/keys', 'Keys'],
  ['/v1/mcp', 'Upstreams'],
  ['/v1/secrets', 'Secrets'],
  ['/v1/screen', 'Screen'],
];
/** Routes that are not a plain read (GET/HEAD) or write of their collection. */
const special: Readonly<Record<string, AdminRequest['action']>> = {
  'POST /v1/authorize': 'admin:authorize',
  'POST /v1/audit/hash': 'admin:read',
  'POST /v1/auth/logout': 'admin:self',
  'POST /v1/screen': 'admin:read',
};

/** What an admin request to `method` `url` (a route pattern or path; a query is ignored) does; undefined when no collection matches. */
export function adminRequestFor(method: string, url: string): AdminRequest | undefined {
  const path = url.split('?')[0] ?? '';
  const verb = method.toUpperCase();
  const collection = collections.find(([prefix]) => path === prefix || path.startsWith(`${prefix}/`))?.[1];
  if (!collection) return undefined;
  const action = special[`${verb} ${path}`] ?? (path === '/v1/admin-tokens' || path.startsWith('/v1/admin-tokens/') ? 'admin:self' : undefined);
  if (action) return { action, collection };
  return { action: verb === 'GET' || verb === 'HEAD' ? 'admin:read' : 'admin:write', collection };
}

/** `decide` over a built-in authorizer (audited when the authorizer has an audit log). */
export function builtinAdminDecide(authorizer: BuiltinAuthorizer): AdminDecide {
  return (principal, method, url, source) =>
    authorizer.authorize(principal, adminRequestFor(method, url), { source, route: `${method.toUpperCase()} ${url.split('?')[0] ?? ''}` });
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

export function createAdminAuth(sessions: Pick<AdminSessions, 'authenticate'>, options: AdminAuthOptions = {}): AdminAuth {
  let decide = options.decide;
  const decider = (): AdminDecide => (decide ??= builtinAdminDecide(createBuiltinAuthorizer()));
  const check = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
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
    // The route pattern, not the raw URL: it cannot be dodged with encodings, and the route decides.
    const url = request.routeOptions.url ?? request.url;
    const { decision } = await decider()(principal, request.method, url, { ip: request.ip, requestId: request.id });
    if (decision !== 'allow') {
      throw new WardenError('WARDEN_FORBIDDEN', `role ${principal.role} may not use this route`);
    }
  };
  return {
    requireAdmin(...roles) {
      const unknown = roles.filter((role) => !adminRoles.includes(role));
      if (unknown.length > 0) throw new Error(`requireAdmin: unknown role(s) ${unknown.join(', ')}`);
      // Callback style, so the hook is exactly fastify's onRequestHookHandler wherever it is injected.
      return function requireAdmin(request, reply, done) {
        check(request, reply).then(
          () => done(),
          (err: unknown) => done(err instanceof Error ? err : new WardenError('WARDEN_INTERNAL', 'authentication failed', { cause: err })),
        );
      };
    },
  };
}
