/**
 * The numeric PII pass. IBANs first: every word that starts with two letters and two digits is read
 * once against the country length table and checked with mod-97. Then every digit run at a word
 * boundary is read as a number token (see `pii-number-token.ts`) and given at most one type, in this
 * order: IPv4 address, payment card (Luhn + issuer table), US SSN (ranges), phone (`pii-phone.ts`).
 * Each token is scanned once and the search resumes after it, so the pass is linear in the text.
 */
import type { ScreenFinding } from './types.js';
import { cardIssuer, IBAN_LENGTHS, ibanValid, luhnValid, ssnValid } from './pii-checks.js';
import type { ContextKind } from './pii-context.js';
import { contextBefore } from './pii-context.js';
import {
  DOCUMENTATION_SCORE, IP_SCORE, isDocumentationIpv4, isNotAddressContext, isPrivateIpv4, isReportableIpv4, parseIpv4,
  PRIVATE_IP_SCORE,
} from './pii-ip.js';
import type { NumberToken } from './pii-number-token.js';
import { isAsciiAlnum, isDigitCode, scanNumberToken, SEP_DASH, SEP_DOT, SEP_SPACE } from './pii-number-token.js';
import { phoneScore } from './pii-phone.js';

/** True if the character at `r` (after a digit run) could join the run to more digits or an extension. */
function continuesNumber(text: string, r: number): boolean {
  const c = text.charCodeAt(r);
  if (c === 32 || c === 45 || c === 46) {
    const d = text.charCodeAt(r + 1);
    return isDigitCode(d) || d === 40;
  }
  return c === 41 || c === 40;
}

/**
 * The end of an IBAN starting at `s` (country letters at `s`, check digits at `s + 2`): a positive
 * number. When there is none, `-(end of the characters read)`, so the caller can resume after them.
 */
function ibanEnd(text: string, s: number): number {
  const len = IBAN_LENGTHS[text.slice(s, s + 2).toUpperCase()];
  if (len === undefined) return -(s + 4);
  // Read `len` alphanumerics; a single space or dash may separate groups of four.
  let count = 0;
  let p = s;
  let grouped = false;
  const n = text.length;
  while (count < len && p < n) {
    const c = text.charCodeAt(p);
    if (isAsciiAlnum(c)) {
      count++;
      p++;
    } else if ((c === 32 || c === 45) && count % 4 === 0 && p + 1 < n && isAsciiAlnum(text.charCodeAt(p + 1))) {
      grouped = true;
      p++;
    } else {
      break;
    }
  }
  if (count !== len || (p < n && isAsciiAlnum(text.charCodeAt(p)))) return -p;
  const raw = text.slice(s, p);
  return ibanValid((grouped ? raw.replace(/[ -]/g, '') : raw).toUpperCase()) ? p : -p;
}

/** Card layouts: contiguous, or groups of 3-6 digits joined by one kind of separator, starting with 4. */
function isCardLayout(tok: NumberToken): boolean {
  if (tok.plus || tok.paren || tok.ext) return false;
  if (tok.groups.length === 1) return true;
  if (tok.seps !== SEP_SPACE && tok.seps !== SEP_DASH) return false;
  if (tok.groups[0] !== 4) return false;
  return tok.groups.every((g) => g >= 3 && g <= 6);
}

function cardScore(tok: NumberToken, context: ContextKind | undefined): number | undefined {
  const d = tok.digits;
  if (d.length < 12 || d.length > 19 || !isCardLayout(tok) || !luhnValid(d)) return undefined;
  if (context === 'other' || context === 'phone') return undefined;
  const issuer = cardIssuer(d);
  const hasContext = context === 'card';
  // Twelve digits (Maestro) and unknown issuers are too common by chance: they need a card word.
  if (issuer === undefined || d.length === 12) return hasContext ? 0.7 : undefined;
  return hasContext ? 0.97 : 0.9;
}

function ssnScore(tok: NumberToken, context: ContextKind | undefined): number | undefined {
  const d = tok.digits;
  if (d.length !== 9 || tok.plus || tok.paren || tok.ext || !ssnValid(d)) return undefined;
  const g = tok.groups;
  const dashed = g.length === 3 && g[0] === 3 && g[1] === 2 && g[2] === 4;
  if (dashed && tok.seps === SEP_DASH) {
    if (context === 'other' || context === 'phone' || context === 'card') return undefined;
    return context === 'ssn' ? 0.95 : 0.85;
  }
  if (context !== 'ssn') return undefined;
  if ((dashed && tok.seps === SEP_SPACE) || g.length === 1) return 0.8;
  return undefined;
}

function ipv4Score(text: string, tok: NumberToken): number | undefined {
  const octets = parseIpv4(text.slice(tok.start, tok.end));
  if (!octets || !isReportableIpv4(octets) || isNotAddressContext(text, tok.start, tok.end)) return undefined;
  if (isDocumentationIpv4(octets)) return DOCUMENTATION_SCORE;
  return isPrivateIpv4(octets) ? PRIVATE_IP_SCORE : IP_SCORE;
}

function classify(text: string, tok: NumberToken): { type: string; score: number } | undefined {
  if (tok.overflow || !tok.prevOk) return undefined;
  const nextOk = tok.nextOk;
  if (tok.groups.length === 4 && tok.seps === SEP_DOT && !tok.plus && !tok.paren && !tok.ext) {
    // Dotted quads are addresses or versions, never phones; `1.2.3.4:8080` keeps its port outside.
    if (!nextOk) return undefined;
    const s = ipv4Score(text, tok);
    return s === undefined ? undefined : { type: 'ip_address', score: s };
  }
  // Fewer than 7 digits is no phone, SSN or card (`1.2.3`, `10-12`, `(5)`): skip the context lookup.
  if (!nextOk || tok.colonDigitAfter || tok.digits.length < 7) return undefined;
  const context = contextBefore(text, tok.start);
  const card = cardScore(tok, context);
  if (card !== undefined) return { type: 'credit_card', score: card };
  const ssn = ssnScore(tok, context);
  if (ssn !== undefined) return { type: 'us_ssn', score: ssn };
  const phone = phoneScore(text, tok, context);
  if (phone !== undefined) return { type: 'phone', score: phone };
  return undefined;
}

/**
 * Candidate starts: a digit at a word boundary. Digits inside words (hashes, base64, `x86_64`) never
 * match, and the regex engine skips the text between candidates far faster than a character loop.
 */
const NUMBER_START = /\b\d/g;
/** IBAN starts: two letters and two check digits at a word boundary. */
const IBAN_START = /\b[A-Za-z]{2}\d\d/g;

/** Appends IBAN findings. `RegExp.test` + `lastIndex` avoids allocating a match per candidate. */
function findIbans(text: string, out: ScreenFinding[]): void {
  const re = new RegExp(IBAN_START);
  while (re.test(text)) {
    const e = ibanEnd(text, re.lastIndex - 4);
    if (e > 0) out.push({ category: 'pii', type: 'iban', start: re.lastIndex - 4, end: e, score: 0.95 });
    // Resume after what was read, found or not: no character is read twice (`GB82 GB82 GB82 ...`).
    re.lastIndex = Math.abs(e);
  }
}

/**
 * Appends IBAN, payment card, SSN, IPv4 and phone findings for `text`. Number tokens inside an IBAN
 * (`GB82 WEST 1234 5698 ...`) are found too; the detector's overlap rule keeps the IBAN.
 */
export function findNumbers(text: string, out: ScreenFinding[]): void {
  findIbans(text, out);
  const n = text.length;
  const re = new RegExp(NUMBER_START);
  while (re.test(text)) {
    const i = re.lastIndex - 1;
    // Short digit runs that nothing follows (`2024,`, `10)`, `3 apples`) cannot be any type: skip.
    let r = i + 1;
    while (r < n && isDigitCode(text.charCodeAt(r))) r++;
    if (r - i < 7 && !continuesNumber(text, r)) {
      re.lastIndex = r;
      continue;
    }
    const tok = scanNumberToken(text, i);
    const hit = classify(text, tok);
    if (hit !== undefined) out.push({ category: 'pii', type: hit.type, start: tok.start, end: tok.end, score: hit.score });
    re.lastIndex = Math.max(tok.end, i + 1);
  }
}
