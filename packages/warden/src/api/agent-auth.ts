/**
 * The authenticate stage of the data plane: `requireAgent({ verifier, resource, baseUrl })` is a fastify
 * onRequest hook that verifies the request's access token (Bearer or DPoP, via the one token verifier)
 * for `resource`, sets `request.principal`, or replies 401 problem+json (WARDEN_UNAUTHENTICATED, generic
 * detail) with the `WWW-Authenticate` challenge the verifier chose. The refusal reason goes to the audit
 * log (when one is given), never to the caller. `baseUrl` is the externally visible origin the DPoP `htu`
 * is checked against (the issuer), so it also holds behind a TLS-terminating proxy.
 */
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { AuditEvent } from '../audit/index.js';
import { isWardenError, type WardenError } from '../errors/index.js';
import { unauthenticated, type TokenVerifier } from '../identity/token-verifier.js';
import './principal.js';
import { problemContentType, toProblem } from './problem.js';

export interface RequireAgentOptions {
  readonly verifier: Pick<TokenVerifier, 'verify'>;
  /** The RFC 8707 resource the protected routes serve (a token's `aud` must name it). */
  readonly resource: string;
  /** The external origin of this server, e.g. the issuer (`https://warden.example.com`). */
  readonly baseUrl: string;
  /** When given, every refusal is recorded (action `agent.authenticate`, `details.reason`). */
  readonly audit?: { append(event: AuditEvent): Promise<unknown> };
  /** The resource's Protected Resource Metadata URL (RFC 9728), named in every Bearer challenge. */
  readonly resourceMetadata?: string;
}

export function requireAgent({ verifier, resource, baseUrl, audit, resourceMetadata }: RequireAgentOptions): onRequestAsyncHookHandler {
  const base = baseUrl.replace(/\/+$/, '');
  return async function authenticateAgent(request: FastifyRequest, reply: FastifyReply) {
    const dpop = request.headers.dpop;
    try {
      if (Array.isArray(dpop)) throw new Error('several DPoP headers');
      request.principal = await verifier.verify({
        authorization: request.headers.authorization,
        dpop,
        method: request.method,
        url: `${base}${request.url}`,
        resource,
      });
    } catch (err) {
      if (isWardenError(err, 'WARDEN_UNAUTHENTICATED')) return refuse(request, reply, err);
      if (isWardenError(err)) throw err;
      return refuse(request, reply, unauthenticated('malformed', 'dpop_proof'));
    }
  };

  async function refuse(request: FastifyRequest, reply: FastifyReply, err: WardenError) {
    const reason = typeof err.details?.reason === 'string' ? err.details.reason : 'unknown';
    let challenge = typeof err.details?.wwwAuthenticate === 'string' ? err.details.wwwAuthenticate : 'Bearer realm="warden"';
    if (resourceMetadata !== undefined) challenge = challenge.replace('Bearer realm="warden"', `Bearer realm="warden", resource_metadata="${resourceMetadata}"`);
    await audit?.append({
      class: 'authentication',
      activityId: 1,
      action: 'agent.authenticate',
      actor: { type: 'agent', id: 'unknown' },
      source: { ip: request.ip, requestId: request.id },
      resource: { type: 'resource', id: resource },
      outcome: 'failure',
      details: { reason },
    });
    const { problem } = toProblem(err, request.id);
    return reply.code(problem.status).header('www-authenticate', challenge).type(problemContentType).send(problem);
  }
}
