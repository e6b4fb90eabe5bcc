/**
 * The number token: a run of digit groups joined by single separators (space, dash, dot) and
 * parentheses, with an optional leading `+` and a trailing extension (`x123`, `ext. 123`), e.g.
 * `+46 (0)8 928 571 38`, `4111-1111-1111-1111`, `192.168.0.1`, `(555) 123-4567 x12`. Newlines never
 * join groups. The scanner is a single forward pass that always ends past its start, so the caller's
 * loop over a text stays linear.
 */

export interface NumberToken {
  /** Span in the text, including a leading `+` / `(` and the extension. */
  readonly start: number;
  readonly end: number;
  /** The digits before the extension (at most {@link MAX_TOKEN_DIGITS}; longer tokens are `overflow`). */
  readonly digits: string;
  /** Length of each digit group. */
  readonly groups: readonly number[];
  /** Separators used: bit 1 space, 2 dash, 4 dot. */
  readonly seps: number;
  readonly plus: boolean;
  readonly paren: boolean;
  readonly ext: boolean;
  /** More digits or groups than any PII number has. */
  readonly overflow: boolean;
  /** The character before the token does not end a word (letter, digit, `_`, `x-`, `1.`, `a/`, `$`). */
  readonly prevOk: boolean;
  /** The character after the token does not continue it (letter, digit, `_`, `@`, `%`, `/1`, `,1`). */
  readonly nextOk: boolean;
  /** Followed by `:` and a digit (a time, a port). */
  readonly colonDigitAfter: boolean;
}

export const SEP_SPACE = 1;
export const SEP_DASH = 2;
export const SEP_DOT = 4;

const MAX_TOKEN_DIGITS = 24;
const MAX_TOKEN_GROUPS = 12;
const MAX_EXT_DIGITS = 6;

export function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function isAsciiAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** Letters (ASCII and Latin-1/Extended), digits and `_`: characters that make a number part of a word. */
function isWordCode(c: number): boolean {
  return isAsciiAlnum(c) || c === 95 || (c >= 0xc0 && c <= 0x24f && c !== 0xd7 && c !== 0xf7);
}

function sepBit(c: number): number {
  if (c === 32) return SEP_SPACE;
  if (c === 45) return SEP_DASH;
  if (c === 46) return SEP_DOT;
  return 0;
}

function prevAllows(text: string, start: number): boolean {
  if (start === 0) return true;
  const c = text.charCodeAt(start - 1);
  if (isWordCode(c)) return false;
  const before = start >= 2 ? text.charCodeAt(start - 2) : 32;
  // `ORD-123`, `v1.2`, `x/123`, `12:30`: the number continues something else.
  if ((c === 45 || c === 47) && isWordCode(before)) return false;
  if ((c === 46 || c === 58 || c === 44) && isDigitCode(before)) return false;
  // Currency symbols: $ £ ¥ € and friends mark an amount.
  if (c === 36 || c === 0xa3 || c === 0xa5 || c === 0x20ac || c === 0x20b9) return false;
  return true;
}

function nextAllows(text: string, end: number): boolean {
  if (end >= text.length) return true;
  const c = text.charCodeAt(end);
  if (isWordCode(c) || c === 64 || c === 37) return false;
  const after = end + 1 < text.length ? text.charCodeAt(end + 1) : 32;
  if ((c === 47 || c === 44) && isDigitCode(after)) return false;
  return true;
}

/** Length of an extension (`x12`, ` x12`, `ext. 12`, ` ext 12`) starting at `p`, or 0. */
function extensionLength(text: string, p: number): number {
  let q = p;
  if (text.charCodeAt(q) === 32) q++;
  const c = text.charCodeAt(q) | 0x20;
  if (c === 120) {
    q++;
  } else if (c === 101 && (text.charCodeAt(q + 1) | 0x20) === 120 && (text.charCodeAt(q + 2) | 0x20) === 116) {
    q += 3;
    if (text.charCodeAt(q) === 46) q++;
    if (text.charCodeAt(q) === 32) q++;
  } else {
    return 0;
  }
  const digitsStart = q;
  while (q < text.length && isDigitCode(text.charCodeAt(q)) && q - digitsStart <= MAX_EXT_DIGITS) q++;
  const n = q - digitsStart;
  if (n === 0 || n > MAX_EXT_DIGITS || (q < text.length && isWordCode(text.charCodeAt(q)))) return 0;
  return q - p;
}

/** Scans the number token whose first digit is at `i`. */
export function scanNumberToken(text: string, i: number): NumberToken {
  const n = text.length;
  let start = i;
  let plus = false;
  let paren = false;
  let open = false;
  const prev = i > 0 ? text.charCodeAt(i - 1) : 0;
  if (prev === 40) {
    start = i - 1;
    paren = true;
    open = true;
  } else if (prev === 43) {
    start = i - 1;
    plus = true;
  }
  let digits = '';
  let total = 0;
  const groups: number[] = [];
  let seps = 0;
  let p = i;
  for (;;) {
    const g0 = p;
    while (p < n && isDigitCode(text.charCodeAt(p))) p++;
    const len = p - g0;
    total += len;
    if (total <= MAX_TOKEN_DIGITS) digits += text.slice(g0, p);
    groups.push(len);
    const c = text.charCodeAt(p);
    if (open && c === 41) {
      open = false;
      p++;
      if (text.charCodeAt(p) === 32 && isDigitCode(text.charCodeAt(p + 1))) p++;
      if (isDigitCode(text.charCodeAt(p))) continue;
      break;
    }
    // Once dashes or dots separate the groups, a space ends the token: `212-555-0100 212-555-0101` and
    // `10.0.0.1 10.0.0.2` are two numbers each (`+1 212-555-0100`, spaces first, stays one).
    const bit = c === 32 && (seps & (SEP_DASH | SEP_DOT)) !== 0 ? 0 : sepBit(c);
    if (bit !== 0) {
      const d = text.charCodeAt(p + 1);
      if (isDigitCode(d)) {
        seps |= bit;
        p++;
        continue;
      }
      // `+46 (0)8 ...`, `1 (800) ...`: a parenthesised group only follows a short prefix, so two
      // numbers in a row (`(212) 555-0100 (212) 555-0101`) stay two tokens.
      if (d === 40 && !open && total <= 4 && isDigitCode(text.charCodeAt(p + 2))) {
        seps |= bit;
        p += 2;
        open = true;
        paren = true;
        continue;
      }
    } else if (c === 40 && !open && total <= 4 && isDigitCode(text.charCodeAt(p + 1))) {
      p++;
      open = true;
      paren = true;
      continue;
    }
    break;
  }
  let end = p;
  let ext = false;
  if (!open && total >= 7) {
    const e = extensionLength(text, end);
    if (e > 0) {
      end += e;
      ext = true;
    }
  }
  const overflow = open || total > MAX_TOKEN_DIGITS || groups.length > MAX_TOKEN_GROUPS;
  return {
    start,
    end,
    digits,
    groups,
    seps,
    plus,
    paren,
    ext,
    overflow,
    prevOk: prevAllows(text, start),
    nextOk: nextAllows(text, end),
    colonDigitAfter: text.charCodeAt(end) === 58 && isDigitCode(text.charCodeAt(end + 1)),
  };
}
