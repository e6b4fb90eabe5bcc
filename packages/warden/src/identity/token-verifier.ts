/**
 * The one access-token check every data-plane route uses: `verify({ authorization, dpop, method, url,
 * resource })` returns the `AgentPrincipal` or throws WARDEN_UNAUTHENTICATED with a generic message,
 * `details.reason` (for the audit log, never the response) and `details.wwwAuthenticate` (the challenge
 * to send). Order: scheme (Bearer or DPoP) → size cap and strict compact-JWS shape → header (`alg`
 * EdDSA only, `typ` at+jwt, no `crit`, known `kid`; an unknown kid reloads the keys, throttled) →
 * Ed25519 signature (node:crypto) → claims (`iss`, `exp`/`nbf`/`iat` with ≤ 30 s leeway) → `aud` names
 * the resource → not revoked → agent exists, is active, and `requireDpop` agents only with DPoP → DPoP:
 * a `cnf.jkt` token needs the DPoP scheme and a proof for this method and URL whose key thumbprint is
 * cnf.jkt and whose `ath` is the token hash; a proof with a Bearer token, or an unbound token under
 * the DPoP scheme, is refused. Tokens that passed the signature and claim checks are cached by their
 * string until exp (bounded), so a repeated token costs a map lookup; audience, revocation, agent status
 * (cached per agent, invalidated by `AgentLookup.onChange`) and DPoP proofs are checked on every request.
 */
import { verify as cryptoVerify } from 'node:crypto';
import { WardenError } from '../errors/index.js';
import { checkDpopProof, DPOP_ALGS } from './dpop.js';
import type { Revocations } from './revocations.js';
import type { SigningKeys } from './signing-keys.js';
import type { Agent, AgentLookup, AgentPrincipal } from './types.js';

export const MAX_TOKEN_BYTES = 8192;
export const DEFAULT_LEEWAY = 30_000;

export interface VerifyRequest {
  /** The Authorization header value. */
  readonly authorization: string | undefined;
  /** The DPoP header value. */
  readonly dpop?: string | undefined;
  readonly method: string;
  /** The absolute URL the client addressed (what a DPoP proof's `htu` must name). */
  readonly url: string;
  /** The resource (RFC 8707) the route serves; the token's `aud` must name it. */
  readonly resource: string;
}

/** The claims of a token whose signature, issuer and lifetime were verified. */
export interface VerifiedToken {
  readonly agent: string;
  readonly clientId: string;
  readonly jti: string;
  readonly audiences: readonly string[];
  readonly scopes: readonly string[];
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly dpopJkt?: string;
}

export interface TokenVerifier {
  verify(request: VerifyRequest): Promise<AgentPrincipal>;
  /** Signature, issuer, lifetime and revocation only (for introspection); undefined when any fails. */
  inspect(token: string): Promise<VerifiedToken | undefined>;
  /** Stops listening to agent changes and drops the caches. */
  close(): void;
}

export interface CreateTokenVerifierOptions {
  readonly keys: Pick<SigningKeys, 'find' | 'reload'>;
  readonly revocations: Pick<Revocations, 'isRevoked' | 'useOnce'>;
  readonly lookup: AgentLookup;
  readonly issuer: string;
  readonly leeway?: number;
  readonly maxCacheEntries?: number;
  /** Allowed DPoP proof age (ms, default 60 s). */
  readonly dpopWindow?: number;
  readonly now?: () => number;
}

type Challenge = 'none' | 'bearer' | 'dpop' | 'dpop_proof';
const dpopAlgs = `algs="${DPOP_ALGS.join(' ')}"`;
const challenges: Record<Challenge, string> = {
  none: `Bearer realm="warden", DPoP ${dpopAlgs}`,
  bearer: 'Bearer realm="warden", error="invalid_token"',
  dpop: `DPoP ${dpopAlgs}, error="invalid_token"`,
  dpop_proof: `DPoP ${dpopAlgs}, error="invalid_dpop_proof"`,
};

/** The refusal every authentication failure becomes: generic message, reason and challenge in details. */
export function unauthenticated(reason: string, challenge: Challenge = 'bearer'): WardenError {
  return new WardenError('WARDEN_UNAUTHENTICATED', 'authentication failed', {
    details: { reason, wwwAuthenticate: challenges[challenge] },
  });
}

const compactJws = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function decodeJson(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

export function createTokenVerifier(options: CreateTokenVerifierOptions): TokenVerifier {
  const { keys, revocations, lookup, issuer, leeway = DEFAULT_LEEWAY, maxCacheEntries = 10_000, now = Date.now } = options;
  const tokens = new Map<string, VerifiedToken>();
  const agents = new Map<string, Agent | null>();
  let generation = 0;
  let lastReload = 0;
  let reloading: Promise<void> | undefined;
  const unsubscribe = lookup.onChange((name) => {
    generation++;
    agents.delete(name);
  });

  const findKey = async (kid: string) => {
    const key = keys.find(kid);
    if (key !== undefined || now() - lastReload < 1000) return key;
    lastReload = now();
    reloading ??= keys.reload().finally(() => (reloading = undefined));
    await reloading;
    return keys.find(kid);
  };

  /** Verifies signature and claims; throws a refusal (challenge as given). */
  const check = async (token: string, challenge: Challenge): Promise<VerifiedToken> => {
    const cached = tokens.get(token);
    if (cached !== undefined) {
      if (cached.expiresAt + leeway > now()) return cached;
      tokens.delete(token);
      throw unauthenticated('expired', challenge);
    }
    if (token.length > MAX_TOKEN_BYTES) throw unauthenticated('token_too_large', challenge);
    if (!compactJws.test(token)) throw unauthenticated('malformed', challenge);
    const [h = '', p = '', s = ''] = token.split('.');
    const header = decodeJson(h);
    if (header === undefined) throw unauthenticated('malformed', challenge);
    if (header.alg !== 'EdDSA') throw unauthenticated('bad_alg', challenge);
    if (header.typ !== 'at+jwt' && header.typ !== 'application/at+jwt') throw unauthenticated('wrong_typ', challenge);
    if (header.crit !== undefined) throw unauthenticated('malformed', challenge);
    const key = typeof header.kid === 'string' ? await findKey(header.kid) : undefined;
    if (key === undefined) throw unauthenticated('unknown_key', challenge);
    const signature = Buffer.from(s, 'base64url');
    if (signature.length !== 64 || !cryptoVerify(null, Buffer.from(`${h}.${p}`, 'ascii'), key.publicKey, signature)) {
      throw unauthenticated('bad_signature', challenge);
    }
    const c = decodeJson(p);
    if (c === undefined) throw unauthenticated('malformed', challenge);
    if (c.iss !== issuer) throw unauthenticated('wrong_issuer', challenge);
    const { exp, iat, nbf, sub, client_id: clientId, jti, scope, aud, cnf } = c;
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) && aud.every(isString) ? (aud) : undefined;
    const jkt = typeof cnf === 'object' && cnf !== null ? (cnf as { jkt?: unknown }).jkt : undefined;
    if (!isNumber(exp) || !isNumber(iat) || (nbf !== undefined && !isNumber(nbf)) || !isString(sub) || !isString(clientId)
      || !isString(jti) || (scope !== undefined && typeof scope !== 'string') || audiences === undefined
      || (cnf !== undefined && !isString(jkt))) {
      throw unauthenticated('malformed', challenge);
    }
    const t = now();
    if (exp * 1000 + leeway <= t) throw unauthenticated('expired', challenge);
    if ((nbf ?? iat) * 1000 - leeway > t || iat * 1000 - leeway > t) throw unauthenticated('not_yet_valid', challenge);
    const verified: VerifiedToken = {
      agent: sub,
      clientId,
      jti,
      audiences,
      scopes: scope === undefined || scope === '' ? [] : scope.split(' ').filter((x) => x !== ''),
      issuedAt: iat * 1000,
      expiresAt: exp * 1000,
      ...(isString(jkt) ? { dpopJkt: jkt } : {}),
    };
    // FIFO eviction (oldest first); expired entries also leave on their next hit.
    if (tokens.size >= maxCacheEntries) tokens.delete(tokens.keys().next().value!);
    tokens.set(token, verified);
    return verified;
  };

  const agentOf = async (name: string): Promise<Agent | undefined> => {
    const known = agents.get(name);
    if (known !== undefined) return known ?? undefined;
    const before = generation;
    const agent = await lookup.get(name);
    if (generation === before) agents.set(name, agent ?? null);
    return agent;
  };

  return {
    async verify({ authorization, dpop, method, url, resource }) {
      if (authorization === undefined || authorization === '') throw unauthenticated('missing_token', 'none');
      const space = authorization.indexOf(' ');
      const scheme = space < 0 ? '' : authorization.slice(0, space).toLowerCase();
      const token = authorization.slice(space + 1).trim();
      if (scheme !== 'bearer' && scheme !== 'dpop') throw unauthenticated('unsupported_scheme', 'none');
      const challenge: Challenge = scheme === 'dpop' ? 'dpop' : 'bearer';
      const verified = await check(token, challenge);
      const bound = verified.dpopJkt !== undefined;
      if (!verified.audiences.includes(resource)) throw unauthenticated('wrong_audience', challenge);
      if (revocations.isRevoked(verified.jti)) throw unauthenticated('revoked', challenge);
      const agent = await agentOf(verified.agent);
      if (agent === undefined) throw unauthenticated('agent_unknown', challenge);
      if (agent.status !== 'active') throw unauthenticated(`agent_${agent.status}`, challenge);
      if (agent.requireDpop && !bound) throw unauthenticated('dpop_required', 'dpop');
      if (!bound) {
        if (scheme === 'dpop') throw unauthenticated('dpop_not_bound', 'dpop');
        if (dpop !== undefined) throw unauthenticated('dpop_with_bearer', 'bearer');
      } else {
        if (scheme !== 'dpop') throw unauthenticated('dpop_required', 'dpop');
        if (dpop === undefined || dpop === '') throw unauthenticated('dpop_proof_missing', 'dpop_proof');
        const result = await checkDpopProof({ proof: dpop, method, url, accessToken: token, replay: revocations, ...(options.dpopWindow ? { window: options.dpopWindow } : {}), now });
        if (!result.ok) throw unauthenticated(result.reason, 'dpop_proof');
        if (result.jkt !== verified.dpopJkt) throw unauthenticated('dpop_key_mismatch', 'dpop_proof');
      }
      return {
        kind: 'agent',
        agent: verified.agent,
        clientId: verified.clientId,
        tokenId: verified.jti,
        scopes: verified.scopes,
        audience: resource,
        expiresAt: verified.expiresAt,
        ...(verified.dpopJkt === undefined ? {} : { dpopJkt: verified.dpopJkt }),
      };
    },
    async inspect(token) {
      try {
        const verified = await check(token, 'bearer');
        return revocations.isRevoked(verified.jti) ? undefined : verified;
      } catch {
        return undefined;
      }
    },
    close() {
      unsubscribe();
      tokens.clear();
      agents.clear();
    },
  };
}
