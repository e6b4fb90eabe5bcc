/**
 * `GET /v1/whoami`: the caller's principal — an admin (session or admin token) or an agent (an access
 * token for any resource Warden serves, with its DPoP proof when bound). 401 otherwise.
 */
import type { FastifyPluginAsync } from 'fastify';
import { WardenError, isWardenError } from '../errors/index.js';
import { ADMIN_TOKEN_PREFIX, type AdminSessions } from '../identity/admin-sessions.js';
import type { TokenVerifier } from '../identity/token-verifier.js';
import type { Principal } from '../identity/types.js';
import { bearerToken } from './admin-auth.js';

export interface WhoamiOptions {
  sessions: Pick<AdminSessions, 'authenticate'>;
  verifier: Pick<TokenVerifier, 'verify'>;
  /** Every resource a token may be issued for (a token names one of them). */
  resources: readonly string[];
  baseUrl: string;
}

export function whoamiRoutes({ sessions, verifier, resources, baseUrl }: WhoamiOptions): FastifyPluginAsync {
  const base = baseUrl.replace(/\/+$/, '');
  return async (app) => {
    app.get('/v1/whoami', async (request, reply): Promise<Principal> => {
      const bearer = bearerToken(request);
      if (bearer?.startsWith(ADMIN_TOKEN_PREFIX)) return sessions.authenticate(bearer);
      const dpop = request.headers.dpop;
      let last: unknown = new WardenError('WARDEN_UNAUTHENTICATED', 'authentication required');
      for (const resource of resources) {
        try {
          return await verifier.verify({
            authorization: request.headers.authorization,
            dpop: Array.isArray(dpop) ? undefined : dpop,
            method: request.method,
            url: `${base}${request.url}`,
            resource,
          });
        } catch (err) {
          last = err;
          // Only a wrong audience is worth trying the next resource for.
          if (!(isWardenError(err, 'WARDEN_UNAUTHENTICATED') && err.details?.reason === 'wrong_audience')) break;
        }
      }
      const challenge = isWardenError(last) ? last.details?.wwwAuthenticate : undefined;
      reply.header('www-authenticate', typeof challenge === 'string' ? challenge : 'Bearer realm="warden"');
      throw last;
    });
  };
}
