/**
 * TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps) for admin logins, via `otpauth`. This module
 * generates secrets and their `otpauth://` URIs and finds the time step a code belongs to within ±1
 * step, comparing in constant time. It is pure: refusing a reused code (a step at or before the last
 * accepted one) and recording the step atomically is the admin directory's compare-and-set.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
const ISSUER = 'Warden';
const SECRET_BYTES = 20;
const codePattern = /^\d{6}$/;

/** A new random TOTP secret (160 bits, the RFC 4226 recommendation). */
export function generateTotpSecret(): Buffer {
  return randomBytes(SECRET_BYTES);
}

function totpFor(secret: Uint8Array, label: string): TOTP {
  const buffer = new Uint8Array(secret).buffer;
  return new TOTP({
    issuer: ISSUER,
    label,
    algorithm: 'SHA1',
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
    secret: new Secret({ buffer }),
  });
}

/** The base32 form of a secret (what authenticator apps accept for manual entry). */
export function totpBase32(secret: Uint8Array): string {
  return new Secret({ buffer: new Uint8Array(secret).buffer }).base32;
}

/** The `otpauth://totp/Warden:<username>?…&issuer=Warden` URI (for a QR code). */
export function totpUri(secret: Uint8Array, username: string): string {
  return totpFor(secret, username).toString();
}

/** The time step of `timestampMs`. */
export function totpStep(timestampMs: number): number {
  return Math.floor(timestampMs / 1000 / TOTP_PERIOD_SECONDS);
}

/** The code for `secret` at `timestampMs` (for tests and tooling). */
export function totpCode(secret: Uint8Array, timestampMs: number): string {
  return totpFor(secret, 'code').generate({ timestamp: timestampMs });
}

/**
 * The time step `code` is valid for within ±1 step of `nowMs`, or undefined. Every candidate is
 * computed and compared in constant time, so the timing does not reveal which step matched.
 */
export function matchTotpStep(secret: Uint8Array, code: string, nowMs: number): number | undefined {
  if (!codePattern.test(code)) return undefined;
  const totp = totpFor(secret, 'verify');
  const given = Buffer.from(code, 'utf8');
  const current = totpStep(nowMs);
  let matched: number | undefined;
  for (const step of [current - 1, current, current + 1]) {
    const expected = Buffer.from(totp.generate({ timestamp: step * TOTP_PERIOD_SECONDS * 1000 }), 'utf8');
    if (timingSafeEqual(expected, given) && matched === undefined) matched = step;
  }
  return matched;
}
