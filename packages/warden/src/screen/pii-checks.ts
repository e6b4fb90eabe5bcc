/**
 * Checksums and number-range rules behind the PII detector: the Luhn check and issuer (IIN) table for
 * payment cards, the IBAN country/length table and its ISO 7064 mod-97 check, and the US Social
 * Security number ranges. Pure functions over already-extracted strings; no scanning happens here.
 */

/** Luhn (mod 10) check over a string of ASCII digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** An issuer: a prefix range over the first `len` digits and the card lengths it issues. */
interface IssuerRange {
  readonly name: string;
  readonly len: number;
  readonly lo: number;
  readonly hi: number;
  readonly lengths: readonly number[];
}

const L16_19 = [16, 17, 18, 19] as const;
const L12_19 = [12, 13, 14, 15, 16, 17, 18, 19] as const;

/** Public IIN ranges (ISO/IEC 7812 registrations as published by the networks), most specific first. */
const ISSUERS: readonly IssuerRange[] = [
  { name: 'amex', len: 2, lo: 34, hi: 34, lengths: [15] },
  { name: 'amex', len: 2, lo: 37, hi: 37, lengths: [15] },
  { name: 'diners', len: 3, lo: 300, hi: 305, lengths: [14, 15, 16, 17, 18, 19] },
  { name: 'diners', len: 4, lo: 3095, hi: 3095, lengths: [14, 15, 16, 17, 18, 19] },
  { name: 'diners', len: 2, lo: 36, hi: 36, lengths: [14, 15, 16, 17, 18, 19] },
  { name: 'diners', len: 2, lo: 38, hi: 39, lengths: [14, 15, 16, 17, 18, 19] },
  { name: 'jcb', len: 4, lo: 3528, hi: 3589, lengths: L16_19 },
  { name: 'jcb', len: 4, lo: 1800, hi: 1800, lengths: [15] },
  { name: 'jcb', len: 4, lo: 2131, hi: 2131, lengths: [15] },
  { name: 'visa', len: 1, lo: 4, hi: 4, lengths: [13, 16, 19] },
  { name: 'mir', len: 4, lo: 2200, hi: 2204, lengths: L16_19 },
  { name: 'mastercard', len: 4, lo: 2221, hi: 2720, lengths: [16] },
  { name: 'mastercard', len: 2, lo: 51, hi: 55, lengths: [16] },
  { name: 'discover', len: 4, lo: 6011, hi: 6011, lengths: L16_19 },
  { name: 'discover', len: 3, lo: 644, hi: 649, lengths: L16_19 },
  { name: 'discover', len: 2, lo: 65, hi: 65, lengths: L16_19 },
  { name: 'unionpay', len: 2, lo: 62, hi: 62, lengths: L16_19 },
  { name: 'rupay', len: 2, lo: 60, hi: 60, lengths: [16] },
  { name: 'maestro', len: 2, lo: 50, hi: 50, lengths: L12_19 },
  { name: 'maestro', len: 2, lo: 56, hi: 69, lengths: L12_19 },
];

/** The card network whose IIN range and length fit `digits`, or `undefined`. */
export function cardIssuer(digits: string): string | undefined {
  for (const r of ISSUERS) {
    if (!r.lengths.includes(digits.length)) continue;
    const p = Number(digits.slice(0, r.len));
    if (p >= r.lo && p <= r.hi) return r.name;
  }
  return undefined;
}

/** IBAN length per country (SWIFT IBAN registry, plus the long-standing national IBANs of Africa). */
export const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28,
  CH: 21, CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18,
  FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22,
  IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20,
  LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28, NL: 18,
  NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24, SC: 31,
  SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29,
  VA: 22, VG: 24, XK: 20, YE: 30,
  AO: 25, BF: 28, BJ: 28, CF: 27, CG: 27, CI: 28, CM: 27, CV: 25, DZ: 26, GA: 27, GQ: 27, GW: 25,
  HN: 28, IR: 26, KM: 27, MA: 28, MG: 27, ML: 28, MZ: 25, NE: 28, SN: 28, TD: 27, TG: 28,
};

/** ISO 7064 mod-97-10 check of a compact, upper-case IBAN (`GB82WEST12345698765432`). */
export function ibanValid(iban: string): boolean {
  if (IBAN_LENGTHS[iban.slice(0, 2)] !== iban.length) return false;
  const c2 = iban.charCodeAt(2);
  const c3 = iban.charCodeAt(3);
  if (c2 < 48 || c2 > 57 || c3 < 48 || c3 > 57) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let rem = 0;
  for (let i = 0; i < rearranged.length; i++) {
    const c = rearranged.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      rem = (rem * 10 + (c - 48)) % 97;
    } else if (c >= 65 && c <= 90) {
      rem = (rem * 100 + (c - 55)) % 97;
    } else {
      return false;
    }
  }
  return rem === 1;
}

/** Numbers the SSA has said were never valid, though their ranges are (advertising and Woolworth's wallet card). */
const SSN_NEVER_ISSUED = new Set(['078051120', '219099999', '123456789']);

/**
 * US SSN range rules for nine digits `AAAGGSSSS`: area not 000, 666 or 900-999; group not 00; serial not 0000.
 */
export function ssnValid(digits: string): boolean {
  if (digits.length !== 9) return false;
  const area = Number(digits.slice(0, 3));
  const group = Number(digits.slice(3, 5));
  const serial = Number(digits.slice(5));
  if (area === 0 || area === 666 || area >= 900) return false;
  if (group === 0 || serial === 0) return false;
  return !SSN_NEVER_ISSUED.has(digits);
}
