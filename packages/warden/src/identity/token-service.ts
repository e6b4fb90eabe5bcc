/**
 * The token service the server wires: `openTokenService` opens the signing keys (creating the first),
 * the revocation/replay store (loaded, then refreshed on a timer so other nodes' revocations arrive
 * within `refreshInterval`; pruned, and the signing keys reloaded, every minute), the issuer and the verifier, and implements the
 * protocol logic of the OAuth endpoints independent of HTTP: `token()` (client_credentials with
 * client_secret_basic / client_secret_post / private_key_jwt, RFC 8707 resource, DPoP binding),
 * `introspect()` (RFC 7662, a client sees only its own tokens), `revoke()` (RFC 7009), `rotate()`, the
 * JWKS and the RFC 8414 metadata. Protocol failures are `OAuthError`s (the RFC 6749 §5.2 wire family,
 * never WardenErrors); issuance, refusals (with `details.reason`), revocations and rotations are audited.
 * Requested scopes are syntax-checked and granted as asked — authorization happens at policy time.
 */
import type { Kysely } from 'kysely';
import type { AuditEvent } from '../audit/index.js';
import type { Barrier } from '../barrier/index.js';
import type { Logger } from '../log/index.js';
import type { Database } from '../store/database.js';
import { ASSERTION_ALGS, OAuthError, authenticateClient, type ClientAuthInput } from './client-assertion.js';
import { DPOP_ALGS, checkDpopProof } from './dpop.js';
import { createRevocations } from './revocations.js';
import { openSigningKeys, type SigningKeys } from './signing-keys.js';
import { createTokenIssuer, type IssuedToken, type TokenIssuer } from './token-issuer.js';
import { createTokenVerifier, type TokenVerifier } from './token-verifier.js';
import type { AgentLookup, ClientCredentials } from './types.js';

export { OAuthError, type ClientAuthInput } from './client-assertion.js';

export interface TokenServiceConfig {
  /** The issuer URL (no trailing slash needed). */
  readonly issuer: string;
  /** Access-token lifetime, ms. */
  readonly tokenTtl: number;
  /** Extra resources tokens may be issued for, besides `${issuer}/mcp` and `${issuer}/v1/keys`. */
  readonly resources: readonly string[];
}

export interface OpenTokenServiceOptions {
  readonly db: Kysely<Database>;
  readonly barrier: Pick<Barrier, 'encrypt' | 'decrypt'>;
  readonly audit: { append(event: AuditEvent): Promise<unknown> };
  readonly lookup: AgentLookup;
  readonly credentials: ClientCredentials;
  readonly config: TokenServiceConfig;
  /** Where failures of the background refresh/prune go (they are retried on the next tick). */
  readonly logger?: Pick<Logger, 'warn'>;
  /** How often revocations by other nodes are read (ms, default 2 s; 0 disables the timer). */
  readonly refreshInterval?: number;
  readonly now?: () => number;
}

export interface TokenRequest {
  readonly grantType: string | undefined;
  readonly scope?: string | undefined;
  /** Every `resource` parameter sent (RFC 8707). */
  readonly resources: readonly string[];
  readonly client: ClientAuthInput;
  readonly dpop?: string | undefined;
  readonly ip?: string;
  readonly requestId?: string;
}

export interface TokenService {
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly resources: readonly string[];
  readonly keys: SigningKeys;
  readonly tokenIssuer: TokenIssuer;
  readonly verifier: TokenVerifier;
  /** Runs the client_credentials grant; throws OAuthError. */
  token(request: TokenRequest): Promise<IssuedToken>;
  /** Authenticates a client (exactly one method); throws OAuthError invalid_client / invalid_request. */
  authenticate(client: ClientAuthInput): Promise<string>;
  /** RFC 7662 response for `token` as seen by the authenticated `clientId`. */
  introspect(token: string, clientId: string): Promise<Record<string, unknown>>;
  /** RFC 7009: revokes `token` if it is a valid token of `clientId`; silently ignores anything else. */
  revoke(token: string, clientId: string, source?: AuditEvent['source']): Promise<void>;
  /** Revokes by jti (containment, admin); effective here at once, on other nodes within refreshInterval. */
  revokeJti(jti: string, expiresAt: number, actor: AuditEvent['actor']): Promise<void>;
  rotate(actor?: AuditEvent['actor']): Promise<string>;
  jwks(): { keys: unknown[] };
  metadata(): Record<string, unknown>;
  close(): void;
}

const scopeToken = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;

export async function openTokenService(options: OpenTokenServiceOptions): Promise<TokenService> {
  const { db, barrier, audit, lookup, credentials, config, refreshInterval = 2000, now = Date.now } = options;
  const issuer = config.issuer.replace(/\/+$/, '');
  const tokenEndpoint = `${issuer}/oauth2/token`;
  const resources = [...new Set([`${issuer}/mcp`, `${issuer}/v1/keys`, ...config.resources])];
  const keys = await openSigningKeys({ db, barrier, now });
  const revocations = createRevocations({ db, now });
  await revocations.refresh();
  const tokenIssuer = createTokenIssuer({ keys, issuer, tokenTtl: config.tokenTtl, now });
  const verifier = createTokenVerifier({ keys, revocations, lookup, issuer, now });
  const timers: NodeJS.Timeout[] = [];
  if (refreshInterval > 0) {
    const quiet = (p: Promise<void>) => void p.catch((err: unknown) => options.logger?.warn({ err }, 'token revocation refresh failed'));
    timers.push(setInterval(() => quiet(revocations.refresh()), refreshInterval).unref());
    // Pruning, and picking up a key another node rotated in (so this node stops signing with a retired key).
    timers.push(setInterval(() => quiet(revocations.prune().then(() => keys.reload())), 60_000).unref());
  }
  const clientDeps = { credentials, replay: revocations, audiences: [tokenEndpoint, issuer], now };

  const refuse = async (err: OAuthError, clientId: string | undefined, req: Pick<TokenRequest, 'ip' | 'requestId'>): Promise<never> => {
    await audit.append({
      class: 'authentication',
      activityId: 1,
      action: 'token.issue',
      actor: { type: 'agent', id: clientId ?? 'unknown' },
      source: { ...(req.ip ? { ip: req.ip } : {}), ...(req.requestId ? { requestId: req.requestId } : {}) },
      outcome: 'failure',
      details: { reason: err.reason, error: err.error },
    });
    throw err;
  };

  const authenticate = (client: ClientAuthInput) => authenticateClient(client, clientDeps);

  const service: TokenService = {
    issuer,
    tokenEndpoint,
    resources,
    keys,
    tokenIssuer,
    verifier,
    authenticate,
    async token(req) {
      let clientId: string | undefined;
      try {
        if (req.grantType === undefined) throw new OAuthError('invalid_request', 'grant_type is required', 'missing_grant_type');
        if (req.grantType !== 'client_credentials') {
          throw new OAuthError('unsupported_grant_type', 'only client_credentials is supported', 'unsupported_grant_type');
        }
        clientId = await authenticate(req.client);
        const agent = await lookup.get(clientId);
        if (agent === undefined) throw new OAuthError('invalid_client', 'client authentication failed', 'agent_unknown', clientId);
        if (agent.status !== 'active') throw new OAuthError('unauthorized_client', 'the client may not obtain tokens', `agent_${agent.status}`);
        if (req.resources.length > 1) throw new OAuthError('invalid_target', 'at most one resource may be requested', 'multiple_resources');
        const audience = req.resources[0] ?? `${issuer}/mcp`;
        if (!resources.includes(audience)) throw new OAuthError('invalid_target', 'the resource is not known', 'unknown_resource');
        const scopes = [...new Set((req.scope ?? '').split(' ').filter((s) => s !== ''))];
        if (scopes.length > 32 || !scopes.every((s) => scopeToken.test(s))) throw new OAuthError('invalid_scope', 'the scope is malformed', 'bad_scope');
        let dpopJkt: string | undefined;
        if (req.dpop !== undefined) {
          const result = await checkDpopProof({ proof: req.dpop, method: 'POST', url: tokenEndpoint, replay: revocations, now });
          if (!result.ok) throw new OAuthError('invalid_dpop_proof', 'the DPoP proof is invalid', result.reason);
          dpopJkt = result.jkt;
        } else if (agent.requireDpop) {
          throw new OAuthError('invalid_dpop_proof', 'this client requires DPoP-bound tokens', 'dpop_required');
        }
        const issued = await tokenIssuer.issue({ agent: agent.name, clientId, audience, scopes, ...(dpopJkt ? { dpopJkt } : {}) });
        await audit.append({
          class: 'authentication',
          activityId: 1,
          action: 'token.issue',
          actor: { type: 'agent', id: clientId },
          source: { ...(req.ip ? { ip: req.ip } : {}), ...(req.requestId ? { requestId: req.requestId } : {}) },
          resource: { type: 'access_token', id: issued.jti },
          outcome: 'success',
          details: { audience, scopes, tokenType: issued.tokenType, expiresAt: issued.expiresAt },
        });
        return issued;
      } catch (err) {
        if (err instanceof OAuthError) return refuse(err, clientId ?? err.clientId, req);
        throw err;
      }
    },
    async introspect(token, clientId) {
      const v = await verifier.inspect(token);
      if (v === undefined || v.clientId !== clientId) return { active: false };
      const agent = await lookup.get(v.agent);
      if (agent?.status !== 'active') return { active: false };
      return {
        active: true,
        iss: issuer,
        sub: v.agent,
        client_id: v.clientId,
        aud: v.audiences.length === 1 ? v.audiences[0] : v.audiences,
        scope: v.scopes.join(' '),
        exp: Math.floor(v.expiresAt / 1000),
        iat: Math.floor(v.issuedAt / 1000),
        jti: v.jti,
        token_type: v.dpopJkt === undefined ? 'Bearer' : 'DPoP',
        ...(v.dpopJkt === undefined ? {} : { cnf: { jkt: v.dpopJkt } }),
      };
    },
    async revoke(token, clientId, source) {
      const v = await verifier.inspect(token);
      if (v === undefined || v.clientId !== clientId) return;
      await revocations.revoke(v.jti, v.expiresAt);
      await audit.append({
        class: 'authentication', activityId: 2, action: 'token.revoke', actor: { type: 'agent', id: clientId },
        ...(source ? { source } : {}), resource: { type: 'access_token', id: v.jti }, outcome: 'success',
      });
    },
    async revokeJti(jti, expiresAt, actor) {
      await revocations.revoke(jti, expiresAt);
      await audit.append({ class: 'authentication', activityId: 2, action: 'token.revoke', actor, resource: { type: 'access_token', id: jti }, outcome: 'success' });
    },
    async rotate(actor = { type: 'system', id: 'warden' }) {
      const kid = await keys.rotate();
      await audit.append({ class: 'entity_management', activityId: 3, action: 'token.rotate_signing_key', actor, resource: { type: 'token_signing_key', id: kid }, outcome: 'success' });
      return kid;
    },
    jwks: () => keys.jwks(),
    metadata: () => ({
      issuer,
      token_endpoint: tokenEndpoint,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      introspection_endpoint: `${issuer}/oauth2/introspect`,
      revocation_endpoint: `${issuer}/oauth2/revoke`,
      grant_types_supported: ['client_credentials'],
      response_types_supported: [],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGS],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
      dpop_signing_alg_values_supported: [...DPOP_ALGS],
    }),
    close() {
      for (const t of timers) clearInterval(t);
      verifier.close();
    },
  };
  return service;
}
