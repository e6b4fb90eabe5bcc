/**
 * Encoded payloads: finds base64 / base64url, hex and URL percent-encoded runs in a (normalized) text,
 * decodes them, keeps only the ones that decode to readable text, and decodes recursively inside the
 * decoded text up to a bounded depth. Nested payloads are reported on the outermost original span.
 *
 * What counts as a candidate run:
 * - base64 / base64url: at least {@link MIN_BASE64} characters of one alphabet (`+/` or `-_`, not both),
 *   optional `=` padding, a length that is not 1 mod 4; a block wrapped over lines of equal length
 *   (MIME, PEM) is joined into one payload;
 * - hex: at least {@link MIN_HEX} hex digits, an even number, not all decimal digits, optionally after `0x`;
 *   also `\xHH` escape runs (`\x69\x67...`, at least 4 escapes);
 * - URL: a whitespace-delimited token with at least {@link MIN_URL_ESCAPES} `%HH` escapes
 *   (`+` decodes to a space, as in form encoding).
 *
 * What counts as readable (see {@link isReadableText}): valid UTF-8, at least 90% printable, and
 * either prose / code (mostly letters and spaces, few symbols) or a single word or credential-like
 * token. Random keys, digests and images decode to bytes that fail this, so a sha256 hex digest or an
 * API key is never reported as a payload. A layer that is not readable but printable (e.g. "%41%42"
 * from double URL encoding) is decoded further without being reported.
 *
 * Bounded work: one linear pass per text; payloads longer than {@link MAX_PAYLOAD_CHARS} are skipped;
 * at most `maxDecoded` segments and {@link MAX_TOTAL_DECODED_CHARS} encoded characters decoded per call.
 */
import { Buffer, isUtf8 } from 'node:buffer';
import type { DecodedSegment } from './types.js';

export const MIN_BASE64 = 16;
export const MIN_HEX = 16;
export const MIN_URL_ESCAPES = 3;
const MIN_BACKSLASH_X_ESCAPES = 4;
const MIN_RUN = Math.min(MIN_BASE64, MIN_HEX);
/** Lines at least this long (and a multiple of 4) may start a base64 block wrapped over several lines. */
const MIN_WRAPPED_LINE = 40;
export const MAX_PAYLOAD_CHARS = 1 << 20;
const MAX_TOTAL_DECODED_CHARS = 4 << 20;


/** Base64 alphabet class bits: 1 = both alphabets (A-Z a-z 0-9), 2 = standard only (+ /), 4 = url only (- _). */
const B64 = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) B64[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) B64[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) B64[c] = 1;
B64[0x2b] = 2;
B64[0x2f] = 2;
B64[0x2d] = 4;
B64[0x5f] = 4;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x0c || c === 0x0b;
}

const LETTER = /\p{L}/u;

/** Characters of a credential-like token (a key or password that was base64-encoded, e.g. in a Kubernetes secret). */
function isTokenChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) || c === 0x2d || c === 0x5f || c === 0x2e || c === 0x2b || c === 0x2f || c === 0x3d || c === 0x3a || c === 0x40;
}

/**
 * Whether decoded text reads as text rather than bytes that happen to decode: at least 4 characters,
 * >= 90% printable, at least 3 letters, and then either
 * - prose or code (spaces >= 5%): letters and spaces >= 60%, ASCII symbols <= 30%; or
 * - one word or token (fewer spaces): >= 90% letters, or only token characters (letters, digits, `-_.+/=:@`).
 * Random bytes fail (invalid UTF-8 or control characters) and so does base64 of random printable
 * characters ("/vG^M<Iq.Oudo$b3M>"), which has symbols and almost no spaces.
 */
export function isReadableText(text: string): boolean {
  let printable = 0;
  let letters = 0;
  let spaces = 0;
  let symbols = 0;
  let token = true;
  let count = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    count += 1;
    if (c < 0x80) {
      if (isSpace(c)) {
        spaces += 1;
        printable += 1;
        token = false;
      } else if (c >= 0x20 && c < 0x7f) {
        printable += 1;
        const l = c | 0x20;
        if (l >= 0x61 && l <= 0x7a) letters += 1;
        else if (c < 0x30 || c > 0x39) symbols += 1;
        if (token && !isTokenChar(c)) token = false;
      } else {
        token = false;
      }
    } else {
      token = false;
      if (c >= 0xa0 && c !== 0xfffd) {
        printable += 1;
        if (LETTER.test(ch)) letters += 1;
      }
    }
  }
  if (count < 4 || letters < 3 || printable < count * 0.9) return false;
  if (spaces >= count * 0.05) return letters + spaces >= count * 0.6 && symbols <= count * 0.3;
  return letters >= count * 0.9 || (token && count >= 8);
}

/** At least 4 characters, all printable ASCII or whitespace (an encoded layer such as "%41%42"). */
function isPrintable(text: string): boolean {
  if (text.length < 4) return false;
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if ((c < 0x20 && !isSpace(c)) || c >= 0x7f) return false;
  }
  return true;
}

/** The bytes as text when they are valid UTF-8 with few control characters (binary is rejected without throwing). */
function decodeUtf8(bytes: Uint8Array): string | undefined {
  let control = 0;
  for (const b of bytes) if ((b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) || b === 0x7f) control++;
  if (control * 20 > bytes.length) return undefined;
  return isUtf8(bytes) ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8') : undefined;
}

function decodeBase64(run: string): string | undefined {
  // Cheap early rejection of binary blobs (images, keys): look at a prefix first.
  if (run.length > 256) {
    const head = Buffer.from(run.slice(0, 128), 'base64');
    const text = decodeUtf8(head.subarray(0, head.length - 4));
    if (text === undefined || !isReadableText(text)) return undefined;
  }
  const bytes = Buffer.from(run, 'base64');
  return decodeUtf8(bytes);
}

function decodeHex(digits: string): string | undefined {
  const bytes = Buffer.from(digits, 'hex');
  if (bytes.length * 2 !== digits.length) return undefined;
  return decodeUtf8(bytes);
}

/** Decodes `%HH` escapes (and `+` as space); undefined when not valid UTF-8. */
function decodePercent(token: string): string | undefined {
  const bytes = new Uint8Array(token.length * 3);
  let n = 0;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c === 0x25 && i + 2 < token.length) {
      const hi = hexValue(token.charCodeAt(i + 1));
      const lo = hexValue(token.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        bytes[n++] = hi * 16 + lo;
        i += 2;
        continue;
      }
    }
    if (c === 0x2b) {
      bytes[n++] = 0x20;
    } else if (c < 0x80) {
      bytes[n++] = c;
    } else {
      n += Buffer.from(token[i] ?? '', 'utf8').copy(bytes, n);
    }
  }
  return decodeUtf8(bytes.subarray(0, n));
}

/** A candidate run in a text: [start, end) and how to decode it. */
interface Candidate {
  start: number;
  end: number;
  encoding: DecodedSegment['encoding'];
  decode: () => string | undefined;
}

function isRunChar(c: number): boolean {
  return c < 0x80 && B64[c] !== 0;
}

/** `\xHH` escape runs (at least MIN_BACKSLASH_X_ESCAPES escapes), decoded as hex. */
function scanBackslashX(text: string, visit: (candidate: Candidate) => void): void {
  const n = text.length;
  let i = text.indexOf('\\x');
  while (i !== -1) {
    let j = i;
    let count = 0;
    while (j + 3 < n && text.charCodeAt(j) === 0x5c && text.charCodeAt(j + 1) === 0x78 && hexValue(text.charCodeAt(j + 2)) >= 0 && hexValue(text.charCodeAt(j + 3)) >= 0) {
      j += 4;
      count += 1;
    }
    if (count >= MIN_BACKSLASH_X_ESCAPES) {
      const run = text.slice(i, j);
      visit({ start: i, end: j, encoding: 'hex', decode: () => decodeHex(run.replace(/\\x/g, '')) });
    }
    i = text.indexOf('\\x', Math.max(j, i + 1));
  }
}

function hasHexLetter(text: string, start: number, end: number): boolean {
  for (let k = start; k < end; k++) if (text.charCodeAt(k) > 0x39) return true;
  return false;
}

/** Classifies one maximal run [start, end) of base64-alphabet characters and visits it if it is a candidate. */
function visitRun(text: string, start: number, end: number, visit: (candidate: Candidate) => void): void {
  const length = end - start;
  if (length > MAX_PAYLOAD_CHARS) return;
  let classes = 0;
  let allHex = true;
  for (let k = start; k < end; k++) {
    const d = text.charCodeAt(k);
    classes |= B64[d] ?? 0;
    if (allHex && hexValue(d) < 0) allHex = false;
  }
  let pad = 0;
  while (pad < 2 && text.charCodeAt(end + pad) === 0x3d) pad += 1;
  if (allHex && pad === 0) {
    // All decimal digits is a number (a card, an account, a timestamp), not hex-encoded text.
    if (length >= MIN_HEX && length % 2 === 0 && hasHexLetter(text, start, end)) {
      const run = text.slice(start, end);
      visit({ start, end, encoding: 'hex', decode: () => decodeHex(run) });
    }
    return;
  }
  if (length >= MIN_HEX + 2 && pad === 0 && text.charCodeAt(start) === 0x30 && (text.charCodeAt(start + 1) | 0x20) === 0x78) {
    const digits = text.slice(start + 2, end);
    if (digits.length % 2 === 0 && /^[0-9a-fA-F]+$/.test(digits)) {
      visit({ start, end, encoding: 'hex', decode: () => decodeHex(digits) });
      return;
    }
  }
  if (length < MIN_BASE64 || (classes & 6) === 6 || length % 4 === 1) return;
  if (pad > 0 && (length + pad) % 4 !== 0) return;
  const run = text.slice(start, end);
  visit({ start, end: end + pad, encoding: 'base64', decode: () => decodeBase64(run) });
}

/**
 * The end of a base64 block wrapped over several lines (MIME wraps at 76 characters, PEM at 64) that
 * starts with the line [start, end): following lines are joined while every line but the last has the
 * first line's length (a multiple of 4) and the last is not longer; `end` when there is no such block.
 */
function wrappedEnd(text: string, start: number, end: number): number {
  const width = end - start;
  if (width % 4 !== 0) return end;
  const n = text.length;
  let blockEnd = end;
  let lineEnd = end;
  for (;;) {
    let next = lineEnd;
    if (text.charCodeAt(next) === 0x0d) next += 1;
    if (text.charCodeAt(next) !== 0x0a) break;
    next += 1;
    let k = next;
    while (k < n && isRunChar(text.charCodeAt(k))) k += 1;
    let padded = k;
    while (padded < k + 2 && text.charCodeAt(padded) === 0x3d) padded += 1;
    const length = padded - next;
    if (length === 0 || length > width) break;
    blockEnd = padded;
    if (length < width || padded > k) break; // a short or padded line ends the block
    lineEnd = k;
  }
  return blockEnd;
}

/**
 * Calls `visit` for each base64 / hex candidate run in `text`. Runs shorter than MIN_RUN are skipped
 * without reading every character: probing the character MIN_RUN - 1 ahead rules out a whole window
 * when it is not in the alphabet (each character is still read at most a few times).
 */
function scanCandidates(text: string, visit: (candidate: Candidate) => void): void {
  const n = text.length;
  const last = MIN_RUN - 1;
  let i = 0;
  while (i + last < n) {
    const probe = i + last;
    if (!isRunChar(text.charCodeAt(probe))) {
      i = probe + 1;
      continue;
    }
    let start = probe;
    while (start > i && isRunChar(text.charCodeAt(start - 1))) start -= 1;
    let end = probe + 1;
    while (end < n && isRunChar(text.charCodeAt(end))) end += 1;
    const wrapped = end - start >= MIN_WRAPPED_LINE ? wrappedEnd(text, start, end) : end;
    if (wrapped > end) {
      const joined = text.slice(start, wrapped).replace(/\s+/g, '');
      if (joined.length <= MAX_PAYLOAD_CHARS) {
        const hex = joined.length % 2 === 0 && /^[0-9a-fA-F]+$/.test(joined) && /[a-fA-F]/.test(joined);
        visit({ start, end: wrapped, encoding: hex ? 'hex' : 'base64', decode: () => (hex ? decodeHex(joined) : decodeBase64(joined)) });
      }
      i = wrapped + 1;
      continue;
    }
    if (end - start >= MIN_RUN) visitRun(text, start, end, visit);
    i = end + 1;
  }
  if (text.includes('\\x')) scanBackslashX(text, visit);
}

/** Whitespace-delimited tokens of `text` with at least MIN_URL_ESCAPES valid `%HH` escapes. */
function scanPercentTokens(text: string, visit: (candidate: Candidate) => void): void {
  let i = text.indexOf('%');
  const n = text.length;
  while (i !== -1) {
    let start = i;
    while (start > 0 && !isSpace(text.charCodeAt(start - 1))) start -= 1;
    let end = i;
    let escapes = 0;
    while (end < n) {
      const c = text.charCodeAt(end);
      if (isSpace(c)) break;
      if (c === 0x25 && hexValue(text.charCodeAt(end + 1)) >= 0 && hexValue(text.charCodeAt(end + 2)) >= 0) {
        escapes += 1;
        end += 3;
        continue;
      }
      end += 1;
    }
    if (escapes >= MIN_URL_ESCAPES && end - start <= MAX_PAYLOAD_CHARS) {
      const token = text.slice(start, end);
      visit({ start, end, encoding: 'url', decode: () => decodePercent(token) });
    }
    i = text.indexOf('%', end);
  }
}

export interface PayloadSearch {
  maxDepth: number;
  maxDecoded: number;
  /** Normalizes a decoded payload (NFKC, hidden characters removed...), without decoding further. */
  normalizeDecoded: (text: string) => string;
}

/**
 * Decoded payloads of `text`, depth 1, plus nested payloads up to `search.maxDepth`; spans are mapped to
 * the original with `toOriginal` (nested ones get the span of their depth-1 ancestor).
 */
export function findEncodedPayloads(text: string, toOriginal: (offset: number) => number, search: PayloadSearch): DecodedSegment[] {
  const out: DecodedSegment[] = [];
  if (search.maxDepth < 1 || search.maxDecoded < 1) return out;
  let budget = MAX_TOTAL_DECODED_CHARS;

  const scan = (input: string, depth: number, span: { start: number; end: number } | null): void => {
    const candidates: Candidate[] = [];
    const collect = (candidate: Candidate): void => {
      candidates.push(candidate);
    };
    scanCandidates(input, collect);
    if (input.includes('%')) scanPercentTokens(input, collect);
    candidates.sort((a, b) => a.start - b.start);
    for (const candidate of candidates) {
      if (out.length >= search.maxDecoded || budget <= 0) return;
      budget -= candidate.end - candidate.start;
      const raw = candidate.decode();
      if (raw === undefined) continue;
      const decoded = search.normalizeDecoded(raw);
      const readable = isReadableText(decoded);
      // An intermediate layer may be encoded text itself ("%2541" -> "%41" -> "A"): it is decoded
      // further when printable, but only readable layers are reported.
      if (!readable && (depth >= search.maxDepth || !isPrintable(decoded))) continue;
      const where = span ?? { start: toOriginal(candidate.start), end: toOriginal(candidate.end) };
      if (readable) out.push({ encoding: candidate.encoding, depth, text: decoded, start: where.start, end: where.end });
      if (depth < search.maxDepth) scan(decoded, depth + 1, where);
    }
  };
  scan(text, 1, null);
  return out;
}
