/**
 * Issues RFC 9068 access tokens: compact JWS signed with the current Ed25519 signing key, header
 * `{alg: 'EdDSA', typ: 'at+jwt', kid}`, claims `iss`, `sub` (the agent name), `client_id`, `aud` (the one
 * resource the token is for), `iat`, `nbf`, `exp` (iat + the configured lifetime), a random `jti`,
 * `scope` (space-separated, omitted when empty) and `cnf.jkt` when the token is DPoP-bound. Issuing does
 * no authorization of its own; the token endpoint decides who gets what.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import type { SigningKeys } from './signing-keys.js';

export interface IssueRequest {
  /** The agent name (also its client id). */
  readonly agent: string;
  readonly clientId: string;
  readonly audience: string;
  readonly scopes: readonly string[];
  /** RFC 7638 thumbprint of the DPoP key the token is bound to. */
  readonly dpopJkt?: string;
}

export interface IssuedToken {
  readonly accessToken: string;
  readonly tokenType: 'Bearer' | 'DPoP';
  readonly jti: string;
  /** Lifetime in seconds (the `expires_in` of the token response). */
  readonly expiresIn: number;
  readonly expiresAt: number;
  readonly scope: string;
}

export interface TokenIssuer {
  issue(request: IssueRequest): Promise<IssuedToken>;
}

export interface CreateTokenIssuerOptions {
  readonly keys: Pick<SigningKeys, 'current'>;
  readonly issuer: string;
  /** Access-token lifetime in ms. */
  readonly tokenTtl: number;
  readonly now?: () => number;
}

export function createTokenIssuer({ keys, issuer, tokenTtl, now = Date.now }: CreateTokenIssuerOptions): TokenIssuer {
  const lifetime = Math.floor(tokenTtl / 1000);
  if (lifetime < 1) throw new Error('tokenTtl must be at least one second');
  return {
    async issue({ agent, clientId, audience, scopes, dpopJkt }) {
      const key = keys.current();
      const iat = Math.floor(now() / 1000);
      const jti = randomBytes(16).toString('base64url');
      const scope = scopes.join(' ');
      const claims: Record<string, unknown> = { client_id: clientId };
      if (scope !== '') claims.scope = scope;
      if (dpopJkt !== undefined) claims.cnf = { jkt: dpopJkt };
      const accessToken = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: key.kid })
        .setIssuer(issuer)
        .setSubject(agent)
        .setAudience(audience)
        .setIssuedAt(iat)
        .setNotBefore(iat)
        .setExpirationTime(iat + lifetime)
        .setJti(jti)
        .sign(key.privateKey);
      return {
        accessToken,
        tokenType: dpopJkt === undefined ? 'Bearer' : 'DPoP',
        jti,
        expiresIn: lifetime,
        expiresAt: (iat + lifetime) * 1000,
        scope,
      };
    },
  };
}
