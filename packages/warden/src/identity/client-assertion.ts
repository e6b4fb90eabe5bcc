/**
 * Client authentication at the OAuth endpoints. `authenticateClient` enforces exactly one method per
 * request — `client_secret_basic`, `client_secret_post` (checked by `ClientCredentials.verifySecret`,
 * which compares in constant time) or RFC 7523 `private_key_jwt` — and throws `OAuthError`, the
 * RFC 6749 §5.2 wire error (`invalid_client` is 401 with a Basic challenge). `checkClientAssertion` accepts an assertion only
 * when: it is a compact JWS under 8 KiB; `iss` = `sub` = the client id (and equals the `client_id`
 * form field when one was sent); it is signed (EdDSA/Ed25519 or ES256 only) by one of the client's current
 * public keys (`ClientCredentials.publicKeys`, chosen by `kid` when the header names one); `aud` names
 * the token endpoint URL or the issuer; `exp` is present, not past and at most 5 minutes ahead; and its
 * `jti` has not been used before (replay store, scope `assertion`, spent only after every other check).
 * It returns the client id or the refusal reason; it never throws for bad input.
 */
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify, type JWK } from 'jose';
import type { Revocations } from './revocations.js';
import type { ClientCredentials } from './types.js';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** `Ed25519` is RFC 9864's fully-specified name for EdDSA over Ed25519. */
export const ASSERTION_ALGS = ['EdDSA', 'Ed25519', 'ES256'] as const;
const MAX_ASSERTION_BYTES = 8192;
const MAX_LIFETIME = 300_000;
const LEEWAY = 30_000;

export type AssertionResult = { ok: true; clientId: string } | { ok: false; reason: string; clientId?: string };

export interface CheckClientAssertionOptions {
  readonly assertion: string;
  /** The `client_id` form field, when the client sent one. */
  readonly clientId?: string;
  /** Acceptable `aud` values: the token endpoint URL and the issuer. */
  readonly audiences: readonly string[];
  readonly credentials: Pick<ClientCredentials, 'publicKeys'>;
  readonly replay: Pick<Revocations, 'useOnce'>;
  readonly now?: () => number;
}

function keyFits(jwk: JWK, alg: string): boolean {
  if (alg === 'EdDSA' || alg === 'Ed25519') return jwk.kty === 'OKP' && jwk.crv === 'Ed25519';
  return alg === 'ES256' && jwk.kty === 'EC' && jwk.crv === 'P-256';
}

export async function checkClientAssertion(options: CheckClientAssertionOptions): Promise<AssertionResult> {
  const { assertion, audiences, credentials, replay, now = Date.now } = options;
  if (assertion.length > MAX_ASSERTION_BYTES || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(assertion)) {
    return { ok: false, reason: 'assertion_malformed' };
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  let unverified: ReturnType<typeof decodeJwt>;
  try {
    header = decodeProtectedHeader(assertion);
    unverified = decodeJwt(assertion);
  } catch {
    return { ok: false, reason: 'assertion_malformed' };
  }
  const clientId = unverified.sub;
  if (typeof clientId !== 'string' || clientId === '' || unverified.iss !== clientId) return { ok: false, reason: 'assertion_wrong_subject' };
  if (options.clientId !== undefined && options.clientId !== clientId) return { ok: false, reason: 'assertion_wrong_subject', clientId };
  const alg = header.alg;
  if (alg === undefined || !(ASSERTION_ALGS as readonly string[]).includes(alg)) return { ok: false, reason: 'assertion_bad_alg', clientId };
  const candidates = (await credentials.publicKeys(clientId)).filter(
    (jwk) => keyFits(jwk, alg) && (header.kid === undefined || jwk.kid === header.kid),
  );
  if (candidates.length === 0) return { ok: false, reason: 'assertion_unknown_key', clientId };
  const t = now();
  for (const jwk of candidates) {
    let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
    try {
      const key = await importJWK({ ...jwk, alg }, alg);
      ({ payload } = await jwtVerify(assertion, key, {
        algorithms: [alg],
        issuer: clientId,
        subject: clientId,
        requiredClaims: ['exp', 'jti'],
        currentDate: new Date(t),
        clockTolerance: LEEWAY / 1000,
      }));
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') continue;
      const code = (err as { code?: unknown }).code;
      return { ok: false, reason: code === 'ERR_JWT_EXPIRED' ? 'assertion_expired' : 'assertion_invalid', clientId };
    }
    const aud = payload.aud;
    const auds = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
    if (!auds.some((a) => audiences.includes(a))) return { ok: false, reason: 'assertion_wrong_audience', clientId };
    const exp = payload.exp! * 1000;
    if (exp - t > MAX_LIFETIME + LEEWAY) return { ok: false, reason: 'assertion_lifetime_too_long', clientId };
    if (typeof payload.jti !== 'string' || payload.jti.length > 256) return { ok: false, reason: 'assertion_invalid', clientId };
    if (!(await replay.useOnce('assertion', `${clientId}:${payload.jti}`, exp + LEEWAY))) {
      return { ok: false, reason: 'assertion_replay', clientId };
    }
    return { ok: true, clientId };
  }
  return { ok: false, reason: 'assertion_bad_signature', clientId };
}

/** An RFC 6749 §5.2 error: `error` and `error_description` go on the wire, `reason` to the audit log only. */
export class OAuthError extends Error {
  override readonly name = 'OAuthError';
  readonly status: number;
  constructor(
    readonly error: string,
    readonly description: string,
    readonly reason: string,
    readonly clientId?: string,
  ) {
    super(description);
    this.status = error === 'invalid_client' ? 401 : 400;
  }
}

/** The client authentication a request carried (the route extracts it; nothing is checked yet). */
export interface ClientAuthInput {
  /** Credentials of an `Authorization: Basic` header (already form-decoded), or 'malformed'. */
  readonly basic?: { readonly clientId: string; readonly secret: string } | 'malformed';
  /** The `client_id` form field. */
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly assertionType?: string;
  readonly assertion?: string;
}

export interface AuthenticateClientDeps {
  readonly credentials: Pick<ClientCredentials, 'verifySecret' | 'publicKeys'>;
  readonly replay: Pick<Revocations, 'useOnce'>;
  readonly audiences: readonly string[];
  readonly now?: () => number;
}

const badClient = (reason: string, clientId?: string) => new OAuthError('invalid_client', 'client authentication failed', reason, clientId);

/** The authenticated client id; throws OAuthError (invalid_client, or invalid_request for several methods). */
export async function authenticateClient(input: ClientAuthInput, deps: AuthenticateClientDeps): Promise<string> {
  const methods = [input.basic !== undefined, input.clientSecret !== undefined, input.assertion !== undefined || input.assertionType !== undefined];
  const used = methods.filter(Boolean).length;
  if (used === 0) throw badClient('no_client_auth', input.clientId);
  if (used > 1) throw new OAuthError('invalid_request', 'use exactly one client authentication method', 'multiple_client_auth');
  if (input.basic === 'malformed') throw badClient('malformed_basic');
  if (input.basic !== undefined || input.clientSecret !== undefined) {
    const clientId = input.basic !== undefined ? input.basic.clientId : input.clientId;
    const secret = input.basic !== undefined ? input.basic.secret : input.clientSecret!;
    if (input.basic !== undefined && input.clientId !== undefined && input.clientId !== clientId) {
      throw new OAuthError('invalid_request', 'client_id does not match the authenticated client', 'client_id_mismatch');
    }
    if (clientId === undefined || clientId === '' || clientId.length > 256 || secret.length > 1024) throw badClient('bad_secret', clientId);
    if (!(await deps.credentials.verifySecret(clientId, secret))) throw badClient('bad_secret', clientId);
    return clientId;
  }
  if (input.assertionType !== CLIENT_ASSERTION_TYPE || input.assertion === undefined) throw badClient('bad_assertion_type', input.clientId);
  const result = await checkClientAssertion({
    assertion: input.assertion,
    ...(input.clientId === undefined ? {} : { clientId: input.clientId }),
    audiences: deps.audiences,
    credentials: deps.credentials,
    replay: deps.replay,
    ...(deps.now ? { now: deps.now } : {}),
  });
  if (!result.ok) throw badClient(result.reason, result.clientId);
  return result.clientId;
}
