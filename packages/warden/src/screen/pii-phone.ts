/**
 * Phone numbers: decides whether a number token (see `pii-number-token.ts`) is a phone number.
 *
 * - International (`+CC ...`, or `00CC ...`): validated with libphonenumber-js (possible length for the
 *   country; a valid number scores higher); `+1` numbers by the NANP structure alone (the common case,
 *   and libphonenumber's own rule for the plan). The whole text is never handed to libphonenumber: only
 *   tokens that already look like phone numbers are parsed, which keeps the detector fast.
 * - North-American layout (`(212) 555-0100`, `212-555-0100`, `212.555.0100`, `1 212 555 0100`) with
 *   NANP area and exchange codes (first digit 2-9): accepted on its own.
 * - Any other national layout (`0490 75 40 81`, `(37) 788-063`, `9498777106`): only with a phone word
 *   before it ("Phone:", "call me on", "fax") or a label after it ("... office", "...-Fax"), 7-13 digits;
 *   after a bare "number" (no identifier word such as "order" or "licence" before it), only in three or
 *   more groups.
 * Dates (`2019-04-13`, `13.04.19`), times (`12:20`) and numbers introduced by another identifier word
 * (licence, account, order, ...) are never phones.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import type { ContextKind } from './pii-context.js';
import { phoneLabelAfter } from './pii-context.js';
import type { NumberToken } from './pii-number-token.js';
import { SEP_DOT } from './pii-number-token.js';

function isPlausibleDate(a: number, b: number): boolean {
  return a >= 1 && a <= 31 && b >= 1 && b <= 31 && (a <= 12 || b <= 12);
}

/** `2019-04-13`, `13.04.2019`, `4/13/19`, `13 04 19`: three groups that read as a date. */
function looksLikeDate(tok: NumberToken): boolean {
  const g = tok.groups;
  if (g.length !== 3 || tok.paren || tok.plus) return false;
  const [a, b, c] = g as [number, number, number];
  const d = tok.digits;
  if (a === 4 && b <= 2 && c <= 2) {
    const m = Number(d.slice(4, 4 + b));
    const day = Number(d.slice(4 + b));
    return m >= 1 && m <= 12 && day >= 1 && day <= 31;
  }
  if (a <= 2 && b <= 2 && (c === 2 || c === 4)) {
    return isPlausibleDate(Number(d.slice(0, a)), Number(d.slice(a, a + b)));
  }
  return false;
}

/** NANP layouts: `[1 ]AAA EEE NNNN` or `[1 ](AAA) EEE-NNNN`, area and exchange starting 2-9. */
function isNanpLayout(tok: NumberToken): boolean {
  const g = tok.groups;
  const d = tok.digits;
  let off = 0;
  if (g.length === 4 && g[0] === 1 && d[0] === '1') off = 1;
  else if (g.length !== 3) return false;
  if (g[off] !== 3 || g[off + 1] !== 3 || g[off + 2] !== 4) return false;
  const area = d.charCodeAt(off);
  const exchange = d.charCodeAt(off + 3);
  return area >= 50 && exchange >= 50;
}

/** `+1` followed by a NANP number (area and exchange codes starting 2-9): the plan's own structure, no parse needed. */
const NANP_E164 = /^\+1[2-9]\d\d[2-9]\d{6}$/;

function internationalScore(e164: string, hasContext: boolean): number | undefined {
  if (NANP_E164.test(e164)) return hasContext ? 0.95 : 0.9;
  const parsed = parsePhoneNumberFromString(e164);
  if (parsed?.isValid()) return hasContext ? 0.95 : 0.9;
  if (parsed?.isPossible()) return hasContext ? 0.85 : 0.75;
  return hasContext ? 0.55 : undefined;
}

/** The phone score of a number token (`before`: its context word, see `contextBefore`), or `undefined`. */
export function phoneScore(text: string, tok: NumberToken, before: ContextKind | undefined): number | undefined {
  if (tok.overflow || !tok.prevOk || !tok.nextOk || tok.colonDigitAfter) return undefined;
  const d = tok.digits;
  const n = d.length;
  if (before === 'other' || before === 'card' || before === 'ssn') return undefined;
  const context = before === 'phone' || phoneLabelAfter(text, tok.end);
  if (tok.plus) {
    if (n < 8 || n > 15) return undefined;
    return internationalScore(`+${d}`, context);
  }
  if (n >= 10 && n <= 17 && d.startsWith('00') && d[2] !== '0' && (tok.groups[0] ?? 0) <= 4 && tok.groups.length > 1) {
    return internationalScore(`+${d.slice(2)}`, context);
  }
  if (looksLikeDate(tok)) return undefined;
  if (isNanpLayout(tok)) return context ? 0.9 : 0.7;
  if (n < 7 || n > 13) return undefined;
  // Decimals and version numbers: a dot-separated number needs at least three groups.
  if ((tok.seps & SEP_DOT) !== 0 && tok.groups.length < 3) return undefined;
  if (context) return tok.groups.length === 1 ? 0.6 : 0.65;
  // "my number is 0612 34 56 78": a bare "number" word is enough for a grouped, phone-length number.
  if (before === 'number' && tok.groups.length >= 3 && n >= 8) return 0.5;
  return undefined;
}
