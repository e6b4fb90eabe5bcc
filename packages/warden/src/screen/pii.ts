/**
 * The personal-data (PII) detector: emails, phone numbers, payment cards, IBANs, US Social Security
 * numbers, IP addresses, and dates of birth. Each kind has its own linear scanner (`pii-email.ts`,
 * `pii-numbers.ts`, `pii-ip.ts`, `pii-dob.ts`) with checksum / range validation (`pii-checks.ts`);
 * this module runs them and resolves overlaps, so each character is claimed by at most one finding.
 *
 * Overlaps keep the more specific kind: email > IBAN > card > SSN > IP > phone > date of birth
 * (a number inside an email's local part is the email; a date of birth is never also a phone).
 */
import type { ScreenFinding } from './types.js';
import { findDatesOfBirth } from './pii-dob.js';
import { findEmails } from './pii-email.js';
import { findIpv6 } from './pii-ip.js';
import { findNumbers } from './pii-numbers.js';

/** PII types this detector reports. The first six are the core types. */
export const PII_TYPES = ['email', 'phone', 'credit_card', 'iban', 'us_ssn', 'ip_address', 'date_of_birth'] as const;
export type PiiType = (typeof PII_TYPES)[number];

const PRIORITY: Readonly<Record<string, number>> = {
  email: 0, iban: 1, credit_card: 2, us_ssn: 3, ip_address: 4, phone: 5, date_of_birth: 6,
};

function byStart(a: ScreenFinding, b: ScreenFinding): number {
  return a.start - b.start || a.end - b.end;
}

function resolveOverlaps(found: ScreenFinding[]): ScreenFinding[] {
  if (found.length < 2) return found;
  found.sort(byStart);
  let overlapping = false;
  let lo = found[0]!.start;
  let hi = 0;
  for (const f of found) {
    if (f.start < hi) overlapping = true;
    hi = Math.max(hi, f.end);
    lo = Math.min(lo, f.start);
  }
  if (!overlapping) return found;
  const byPriority = [...found].sort(
    (a, b) => (PRIORITY[a.type] ?? 9) - (PRIORITY[b.type] ?? 9) || a.start - b.start,
  );
  // Each scanner's findings are disjoint, so marking claimed characters costs at most
  // (number of scanners) x (text length): linear, however many findings there are.
  const claimed = new Uint8Array(hi - lo);
  const kept: ScreenFinding[] = [];
  for (const f of byPriority) {
    let free = true;
    for (let i = f.start - lo; i < f.end - lo; i++) {
      if (claimed[i] === 1) {
        free = false;
        break;
      }
    }
    if (!free) continue;
    claimed.fill(1, f.start - lo, f.end - lo);
    kept.push(f);
  }
  return kept.sort(byStart);
}

/**
 * Finds personal data in `text`. Offsets are UTF-16 code units into `text`; category is `pii`.
 *
 * @example
 * detectPii('Mail me at jane.doe@example.com or call (212) 555-0100.')
 * // [{ category: 'pii', type: 'email', start: 11, end: 31, score: 0.95 },
 * //  { category: 'pii', type: 'phone', start: 40, end: 54, score: 0.9 }]
 */
export function detectPii(text: string): ScreenFinding[] {
  const found: ScreenFinding[] = [];
  findEmails(text, found);
  findNumbers(text, found);
  findIpv6(text, found);
  findDatesOfBirth(text, found);
  return resolveOverlaps(found);
}
