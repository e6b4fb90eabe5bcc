/**
 * RFC 9449 DPoP proofs. `checkDpopProof` verifies one proof JWT against the request it came with: header
 * `typ: dpop+jwt`, `alg` EdDSA / Ed25519 or ES256 with a public `jwk` of the matching type (no private members),
 * signature by that jwk, `htm` equal to the method, `htu` equal to the request URL compared without
 * query and fragment, `iat` within ±`window`, a `jti`, and — when a token is presented — `ath` equal to
 * base64url(SHA-256(token)). Only after every other check passes is the `jti` spent in the replay store
 * (scope `dpop`, keyed by thumbprint and jti), so a forged proof cannot burn a real one. It returns the
 * RFC 7638 thumbprint of the proof key, or the refusal reason; it never throws for bad input.
 */
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, jwtVerify, type JWK } from 'jose';
import type { Revocations } from './revocations.js';

/** `Ed25519` is RFC 9864's fully-specified name for EdDSA over Ed25519 (what oauth4webapi sends). */
export const DPOP_ALGS = ['EdDSA', 'Ed25519', 'ES256'] as const;
/** Proofs larger than this are refused unparsed. */
export const MAX_PROOF_BYTES = 4096;

export type DpopResult = { ok: true; jkt: string } | { ok: false; reason: string };

export interface CheckDpopProofOptions {
  readonly proof: string;
  readonly method: string;
  readonly url: string;
  /** The access token presented with the proof (its hash must be in `ath`); absent at the token endpoint. */
  readonly accessToken?: string;
  readonly replay: Pick<Revocations, 'useOnce'>;
  /** Allowed |now - iat| in ms (default 60 s). */
  readonly window?: number;
  readonly now?: () => number;
}

const privateMembers = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];
const compactJws = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** `url` without query and fragment, normalized by the URL parser; undefined when it is not a URL. */
export function htuOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return undefined;
  }
}

/** base64url(SHA-256(token)): the `ath` of a proof presented with `token`. */
export function accessTokenHash(token: string): string {
  return createHash('sha256').update(token, 'ascii').digest('base64url');
}

function publicJwkFitsAlg(jwk: unknown, alg: unknown): boolean {
  if (typeof jwk !== 'object' || jwk === null) return false;
  const k = jwk as Record<string, unknown>;
  if (privateMembers.some((m) => m in k)) return false;
  if (alg === 'EdDSA' || alg === 'Ed25519') return k.kty === 'OKP' && k.crv === 'Ed25519';
  if (alg === 'ES256') return k.kty === 'EC' && k.crv === 'P-256';
  return false;
}

/** Verifies a DPoP proof for a request; see the module comment. */
export async function checkDpopProof(options: CheckDpopProofOptions): Promise<DpopResult> {
  const { proof, method, url, accessToken, replay, window = 60_000, now = Date.now } = options;
  if (proof.length > MAX_PROOF_BYTES || !compactJws.test(proof)) return { ok: false, reason: 'dpop_malformed' };
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(proof);
  } catch {
    return { ok: false, reason: 'dpop_malformed' };
  }
  if (!publicJwkFitsAlg(header.jwk, header.alg)) return { ok: false, reason: 'dpop_bad_key' };
  try {
    const verified = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: [...DPOP_ALGS],
      // iat is checked below against our own window; no exp is expected.
      currentDate: new Date(now()),
    });
    header = verified.protectedHeader;
    claims = verified.payload;
  } catch {
    return { ok: false, reason: 'dpop_bad_signature' };
  }
  if (claims.htm !== method) return { ok: false, reason: 'dpop_wrong_method' };
  const expected = htuOf(url);
  if (typeof claims.htu !== 'string' || expected === undefined || htuOf(claims.htu) !== expected) {
    return { ok: false, reason: 'dpop_wrong_url' };
  }
  const { iat, jti } = claims;
  const t = now();
  if (typeof iat !== 'number' || !Number.isFinite(iat) || Math.abs(iat * 1000 - t) > window) {
    return { ok: false, reason: 'dpop_stale' };
  }
  if (typeof jti !== 'string' || jti.length < 8 || jti.length > 256) return { ok: false, reason: 'dpop_malformed' };
  if (accessToken !== undefined) {
    if (claims.ath !== accessTokenHash(accessToken)) return { ok: false, reason: 'dpop_wrong_ath' };
  } else if (claims.ath !== undefined) {
    return { ok: false, reason: 'dpop_malformed' };
  }
  const jkt = await calculateJwkThumbprint(header.jwk as JWK, 'sha256');
  if (!(await replay.useOnce('dpop', `${jkt}:${jti}`, iat * 1000 + window + 1000))) return { ok: false, reason: 'dpop_replay' };
  return { ok: true, jkt };
}
