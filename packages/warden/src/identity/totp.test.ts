/** TOTP: RFC 6238 test vector, ±1 step window, malformed codes, URI and base32 form. */
import { Secret, TOTP } from 'otpauth';
import { describe, expect, it } from 'vitest';
import { generateTotpSecret, matchTotpStep, totpBase32, totpCode, totpStep, totpUri } from './totp.js';

// RFC 6238 appendix B, SHA-1 seed "12345678901234567890"; 8-digit 94287082 at T=59 → 6 digits 287082.
const rfcSecret = Buffer.from('12345678901234567890', 'ascii');

describe('totp', () => {
  it('matches the RFC 6238 SHA-1 test vector', () => {
    expect(totpCode(rfcSecret, 59_000)).toBe('287082');
    expect(totpCode(rfcSecret, 1_111_111_109_000)).toBe('081804');
  });

  it('accepts the current, previous and next step and returns the step of the code', () => {
    const now = 1_700_000_000_000;
    const step = totpStep(now);
    expect(matchTotpStep(rfcSecret, totpCode(rfcSecret, now), now)).toBe(step);
    expect(matchTotpStep(rfcSecret, totpCode(rfcSecret, now - 30_000), now)).toBe(step - 1);
    expect(matchTotpStep(rfcSecret, totpCode(rfcSecret, now + 30_000), now)).toBe(step + 1);
  });

  it('refuses codes two steps away, wrong codes and malformed input', () => {
    const now = 1_700_000_000_000;
    expect(matchTotpStep(rfcSecret, totpCode(rfcSecret, now - 60_000), now)).toBeUndefined();
    expect(matchTotpStep(rfcSecret, totpCode(rfcSecret, now + 60_000), now)).toBeUndefined();
    const good = totpCode(rfcSecret, now);
    const wrong = String((Number(good) + 1) % 1_000_000).padStart(6, '0');
    expect(matchTotpStep(rfcSecret, wrong, now)).toBeUndefined();
    for (const bad of ['', '12345', '1234567', 'abcdef', ` ${good}`]) expect(matchTotpStep(rfcSecret, bad, now)).toBeUndefined();
  });

  it('generates 160-bit secrets and an otpauth URI with issuer Warden that authenticator apps can use', () => {
    const secret = generateTotpSecret();
    expect(secret.length).toBe(20);
    const uri = totpUri(secret, 'alice');
    expect(uri).toMatch(/^otpauth:\/\/totp\/Warden:alice\?/);
    expect(uri).toContain('issuer=Warden');
    expect(uri).toContain('period=30');
    expect(uri).toContain('digits=6');
    const app = new TOTP({ secret: Secret.fromBase32(totpBase32(secret)), algorithm: 'SHA1', digits: 6, period: 30 });
    expect(app.generate({ timestamp: 1_234_567_890_000 })).toBe(totpCode(secret, 1_234_567_890_000));
  });
});
