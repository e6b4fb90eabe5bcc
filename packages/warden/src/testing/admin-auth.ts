/**
 * A stand-in for admin authentication in route tests (the real one is `api/admin-auth.ts`): the role
 * comes from the `x-test-role` header; no header is 401, a role the route does not allow is 403.
 */
import type { onRequestHookHandler } from 'fastify';
import { WardenError } from '../errors/index.js';
import type { AdminRole } from '../identity/types.js';
import '../api/principal.js';

export function fakeRequireAdmin(...roles: AdminRole[]): onRequestHookHandler {
  return (request, _reply, done) => {
    const role = request.headers['x-test-role'];
    if (typeof role !== 'string') return done(new WardenError('WARDEN_UNAUTHENTICATED', 'admin authentication required'));
    if (!roles.includes(role as AdminRole)) return done(new WardenError('WARDEN_FORBIDDEN', 'role not allowed'));
    request.principal = { kind: 'admin', admin: `${role}-user`, role: role as AdminRole, sessionId: 's1', expiresAt: Date.now() + 60_000 };
    done();
  };
}
