/**
 * Secrets recognisable only by where they stand: a value assigned to a name that says "password" or
 * "secret" (`DB_PASSWORD=...`, `"api_key": "..."`, `token: ...`, `X-API-Key: ...`,
 * `Authorization: Bearer ...`, `apiKey = process.env.X ?? '...'`).
 *
 * Anchors are `=` and `:` (found by the caller's pass over the text); the name is read backwards from
 * the separator and the value forwards from it, both within bounded windows (`MAX_NAME`, `MAX_VALUE`),
 * and overlapping bare values share a memo (`AssignmentScan`), so the scan is linear. Also handles
 * `Authorization: Basic ...` and `curl -u user:password`.
 * The value must then look like a credential: passwords must not be placeholders, references or code
 * expressions; other secrets must also be high-entropy and not UUIDs, digests, data URIs or identifiers.
 */

import {
  charClassCount,
  decodeBase64Text,
  isDocumentedExample,
  looksLikePassword,
  isHex,
  isLabelledDigest,
  isPlaceholder,
  isReference,
  isSpace,
  isUuid,
  shannonEntropy,
} from './secret-checks.js';
import { classifyName, type NameKind } from './secret-names.js';
import { connectionKeyAt } from './secret-urls.js';
import type { ScreenFinding } from './types.js';

const MAX_NAME = 64;
/** Long enough for AWS session tokens and JWTs in config files. */
const MAX_VALUE = 1024;
const MAX_GAP = 8;

/**
 * State of one pass of `assignmentAt` calls over a text (positions increasing): where the findings go,
 * a memo of a terminator-free stretch (so overlapping bare values are not re-read: `key=key=key=...`
 * stays linear), and the classification of names already seen.
 */
export interface AssignmentScan {
  readonly out: ScreenFinding[];
  clearFrom: number;
  clearTo: number;
  readonly kinds: Map<string, NameKind | undefined>;
  lastName: string;
  lastKind: NameKind | undefined;
}

export function createAssignmentScan(out: ScreenFinding[]): AssignmentScan {
  return { out, clearFrom: -1, clearTo: -1, kinds: new Map(), lastName: '', lastKind: undefined };
}

interface Value {
  start: number;
  end: number;
  quoted: boolean;
  /** The HTTP authorization scheme that preceded the value (`Basic`, `Bearer`, ...). */
  scheme?: string;
}

function isNameChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45 || c === 46;
}

function isQuote(c: number): boolean {
  return c === 34 || c === 39 || c === 96;
}

/**
 * Letter pairs of which every name `classifyName` accepts contains at least one, case-insensitively:
 * key (`ey`), token (`ok`), secret / cred (`cr`), pass (`ss`), pw, auth (`th`), bearer (`ea`), sig
 * (`ig`). Names without any are rejected before they are sliced out of the text.
 */
const NAME_BIGRAMS: Uint8Array = (() => {
  const t = new Uint8Array(32 * 32);
  for (const pair of ['ey', 'ok', 'cr', 'ss', 'pw', 'th', 'ea', 'ig']) t[(pair.charCodeAt(0) & 31) * 32 + (pair.charCodeAt(1) & 31)] = 1;
  return t;
})();

/**
 * The name before a separator at `p`: skips blanks and a closing quote, then reads name characters.
 * `undefined` when there is none, or when it cannot name a secret (see `NAME_BIGRAMS`).
 */
function readName(text: string, p: number): string | undefined {
  let j = p;
  while (j > 0 && p - j < MAX_GAP && (text.charCodeAt(j - 1) === 32 || text.charCodeAt(j - 1) === 9)) j--;
  if (j > 0 && isQuote(text.charCodeAt(j - 1))) j--;
  const end = j;
  let hint = 0;
  let after = 0; // the letter after the current one, & 31 (0 when not a letter)
  while (j > 0 && end - j < MAX_NAME) {
    const c = text.charCodeAt(j - 1);
    if (!isNameChar(c)) break;
    const letter = c >= 65 && c !== 95 ? c & 31 : 0;
    hint |= NAME_BIGRAMS[letter * 32 + after]!;
    after = letter;
    j--;
  }
  if (j === end || (j > 0 && isNameChar(text.charCodeAt(j - 1)))) return undefined;
  // `value` is read too: its secret-ness comes from a `name` entry before it (see `pairedNameKind`).
  if (hint === 0 && !(end - j === 5 && text.startsWith('value', j))) return undefined;
  return text.slice(j, end);
}

/** End (exclusive) of the separator at `p`, or -1 when `p` is not an assignment (`==`, `://`, `12:30`, `::`). */
function separatorEnd(text: string, p: number): number {
  const c = text.charCodeAt(p);
  const next = text.charCodeAt(p + 1);
  const prev = text.charCodeAt(p - 1);
  if (c === 61) {
    if (next === 61 || prev === 61 || prev === 33 || prev === 60 || prev === 62 || prev === 58) return -1;
    return next === 62 ? p + 2 : p + 1;
  }
  if (next === 58 || prev === 58) return -1;
  if (next === 61) return p + 2;
  if (p + 1 < text.length && !isSpace(next) && !isQuote(next)) return -1;
  return p + 1;
}

const REFERENCE_START = /^(?:process\.env|import\.meta\.env|os\.environ|os\.getenv|System\.getenv|ENV\[|Deno\.env|env\()/;
const FALLBACK = /(?:\?\?|\|\||\bor\b|,)\s*(?=['"`])/;

/** Quoted or bare value starting at `i` on the same line, or `undefined` if none within `MAX_VALUE`. */
function readValueAt(text: string, i: number, scan: AssignmentScan): Value | undefined {
  const q = text.charCodeAt(i);
  const limit = Math.min(text.length, i + 1 + MAX_VALUE);
  if (isQuote(q)) {
    for (let k = i + 1; k < limit; k++) {
      const c = text.charCodeAt(k);
      if (c === q) return { start: i + 1, end: k, quoted: true };
      if (c === 10 || c === 13) return undefined;
    }
    return undefined;
  }
  // Resume after a stretch already known to hold no terminator.
  let k = i >= scan.clearFrom && i < scan.clearTo ? scan.clearTo : i;
  for (; k < limit; k++) {
    const c = text.charCodeAt(k);
    if (isSpace(c) || isQuote(c) || c === 59 || c === 38) break;
  }
  scan.clearFrom = i;
  scan.clearTo = k;
  if (k >= limit && k < text.length) return undefined;
  let end = k;
  while (end > i && /[,)}\]]/.test(text[end - 1]!)) end--;
  return end > i ? { start: i, end, quoted: false } : undefined;
}

/** The value after a separator ending at `from`; follows `process.env.X ?? '...'` to its literal fallback. */
function readValue(text: string, from: number, scan: AssignmentScan): Value | undefined {
  let i = from;
  while (i < text.length && i - from < MAX_GAP && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
  if (i >= text.length) return undefined;
  const c = text.charCodeAt(i);
  // Only p(rocess), i(mport), o(s), S(ystem), E(NV), D(eno), e(nv) can start an environment lookup.
  if ((c === 112 || c === 105 || c === 111 || c === 83 || c === 69 || c === 68 || c === 101) && REFERENCE_START.test(text.slice(i, i + 20))) {
    let lineEnd = i;
    const limit = Math.min(text.length, i + 200);
    while (lineEnd < limit && text.charCodeAt(lineEnd) !== 10) lineEnd++;
    const m = FALLBACK.exec(text.slice(i, lineEnd));
    if (!m) return undefined;
    return readValueAt(text, i + m.index + m[0].length, scan);
  }
  return readValueAt(text, i, scan);
}

const MIN_VALUE = 6;

/**
 * Cheap pre-check before reading the name: the value after the separator has at least `MIN_VALUE`
 * characters (a short scheme word such as `Basic `, `Bot `, `token ` may come first).
 */
function longEnough(text: string, from: number): boolean {
  const n = text.length;
  let i = from;
  while (i < n && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) {
    if (++i - from > MAX_GAP) return false;
  }
  if (i < n && isQuote(text.charCodeAt(i))) i++;
  let run = 0;
  let words = 0;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c <= 32 || c === 34 || c === 39 || c === 96 || c === 59 || c === 38 || c === 44) {
      if (c !== 32 || words > 0 || run === 0) return false;
      words = 1;
      run = 0;
    } else if (++run >= MIN_VALUE) {
      return true;
    }
  }
  return false;
}

const AUTH_SCHEME = /^(?:Bearer|Basic|Token|token|Bot|SSWS|ApiKey|Api-Key|Key)$/;

/** `Authorization: Bearer X` (quoted or not): the credential is the word after the scheme. */
function skipAuthScheme(text: string, v: Value, scan: AssignmentScan): Value | undefined {
  const s = text.slice(v.start, v.end);
  if (v.quoted) {
    const m = /^(Bearer|Basic|Token|token|Bot|SSWS|ApiKey|Api-Key|Key) +/.exec(s);
    return m ? { start: v.start + m[0].length, end: v.end, quoted: true, scheme: m[1]! } : v;
  }
  if (!AUTH_SCHEME.test(s)) return v;
  let i = v.end;
  while (i < text.length && i - v.end < MAX_GAP && text.charCodeAt(i) === 32) i++;
  const inner = i > v.end ? readValueAt(text, i, scan) : undefined;
  return inner ? { ...inner, scheme: s } : undefined;
}

/** `Basic base64(user:password)`: a credential when it decodes to a user and a real-looking password. */
function basicAuthScore(value: string): number {
  const decoded = decodeBase64Text(value);
  if (decoded === undefined || !/^[\x20-\x7e]+$/.test(decoded)) return 0;
  const colon = decoded.indexOf(':');
  return colon > 0 && looksLikePassword(decoded.slice(colon + 1)) ? 0.85 : 0;
}

const CODE_EXPRESSION = /^[A-Za-z_$][A-Za-z_$]*(?:\.[A-Za-z_$][A-Za-z_$]*)*(?:\(|\[|$)/;
const STRUCTURE = /^[{[(]|[()]|=>|^function\b|^new |^await /;

const DOTTED_PATH = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/;
/** Hex literals, version numbers / OIDs, negations, optional chaining, `:role:` markup, e-mail addresses. */
const NOT_A_PASSWORD = /^(?:0x[0-9a-f]+|[0-9.]+|!.*|.*\?\..*|:.*|.*:|[^@\s]+@[^@\s]+\.[a-z]{2,})$/i;

function passwordScore(value: string, quoted: boolean): number {
  if (STRUCTURE.test(value) || /^[/~]/.test(value) || /\.(?:txt|pem|key|json|ya?ml|env|conf|cfg)$/i.test(value)) return 0;
  if (NOT_A_PASSWORD.test(value) || DOTTED_PATH.test(value)) return 0;
  if (!quoted && CODE_EXPRESSION.test(value)) return 0;
  if (!looksLikePassword(value)) return 0;
  return quoted ? 0.8 : 0.75;
}

const TOKEN_VALUE = /^[A-Za-z0-9+/=_\-.~]+$/;

/** Score for a non-password secret value: high-entropy, not a UUID, digest, identifier or word list. */
function secretScore(value: string, kind: NameKind): number {
  if (value.length < 16 || value.length > MAX_VALUE || !TOKEN_VALUE.test(value)) return 0;
  // A UUID is an identifier, except under a name that says token/secret/API key (Heroku and legacy npm keys are UUIDs).
  if (isUuid(value)) return kind === 'secret' ? 0.6 : 0;
  if (isLabelledDigest(value) || /^data:/.test(value) || DOTTED_PATH.test(value)) return 0;
  const segments = value.split(/[-_.]+/).filter((s) => s.length > 0);
  if (segments.every((s) => /^[A-Za-z]+$/.test(s) && (/^[a-z]+$/.test(s) || /^[A-Z][a-z]*$/.test(s) || /^[A-Z]+$/.test(s)))) return 0;
  const h = shannonEntropy(value);
  if (isHex(value)) {
    if (kind === 'weak_secret' || value.length < 20 || charClassCount(value) < 2 || h < 3) return 0;
    return 0.7;
  }
  const classes = charClassCount(value);
  if (classes < 2 || (classes === 2 && !/[0-9]/.test(value))) return 0;
  if (h < Math.min(4.2, 0.85 * Math.log2(value.length))) return 0;
  if (kind === 'weak_secret' && classes < 3) return 0;
  if (kind === 'aws_secret' && value.length === 40 && /^[A-Za-z0-9+/]+$/.test(value)) return 0.9;
  return kind === 'weak_secret' ? 0.6 : 0.7;
}

function typeFor(kind: NameKind, value: string): string {
  if (kind === 'password') return 'password';
  if (kind === 'aws_secret' && value.length === 40) return 'aws_secret_access_key';
  return 'generic_api_key';
}

const PAIRED_NAME = /\bname["']?\s*[:=]\s*["']?([A-Za-z0-9_.-]{1,64})["']?\s*[,\n][\s-]*["']?value["']?\s*$/;
const PAIRED_WINDOW = 160;

/**
 * `- name: API_KEY` / `value: ...` (Kubernetes env, GitHub Actions inputs) and
 * `{"name": "API_KEY", "value": "..."}` (ECS task definitions): the name is the `name` entry before.
 */
function pairedNameKind(text: string, p: number, scan: AssignmentScan): NameKind | undefined {
  let end = p;
  while (end > 0 && p - end < MAX_GAP && (text.charCodeAt(end - 1) === 32 || text.charCodeAt(end - 1) === 9)) end--;
  if (end > 0 && isQuote(text.charCodeAt(end - 1))) end--;
  const m = PAIRED_NAME.exec(text.slice(Math.max(0, end - PAIRED_WINDOW), end));
  return m ? kindOf(m[1]!, scan) : undefined;
}

/** `classifyName`, memoised per scan (names repeat: every line of a log, every key of a config). */
function kindOf(name: string, scan: AssignmentScan): NameKind | undefined {
  if (name === scan.lastName) return scan.lastKind;
  let kind: NameKind | undefined;
  if (scan.kinds.has(name)) {
    kind = scan.kinds.get(name);
  } else {
    kind = classifyName(name);
    scan.kinds.set(name, kind);
  }
  scan.lastName = name;
  scan.lastKind = kind;
  return kind;
}

/**
 * Examines the `=` or `:` at `p`: when the name before it says password/secret and the value after it
 * looks like one, appends a finding to `out`. Connection-string keys (`AccountKey=`) are delegated.
 */
export function assignmentAt(text: string, p: number, scan: AssignmentScan): void {
  const sepEnd = separatorEnd(text, p);
  if (sepEnd === -1 || !longEnough(text, sepEnd)) return;
  const name = readName(text, p);
  if (name === undefined) return;
  if (sepEnd === p + 1 && text.charCodeAt(p) === 61 && connectionKeyAt(text, name, p, scan.out)) return;
  const kind = name === 'value' ? pairedNameKind(text, p, scan) : kindOf(name, scan);
  if (kind === undefined) return;
  let v = readValue(text, sepEnd, scan);
  if (v && kind !== 'password') v = skipAuthScheme(text, v, scan);
  if (!v) return;
  const value = text.slice(v.start, v.end);
  let type: string;
  let score: number;
  if (v.scheme === 'Basic') {
    type = 'basic_auth';
    score = basicAuthScore(value);
  } else {
    type = typeFor(kind, value);
    score = kind === 'password' ? passwordScore(value, v.quoted) : secretScore(value, kind);
  }
  // The shape checks above reject most values cheaply; the placeholder tests run only on survivors.
  if (score === 0 || isPlaceholder(value) || isReference(value) || isDocumentedExample(value)) return;
  scan.out.push({ category: 'secret', type, start: v.start, end: v.end, score });
}

const MAX_USER = 64;
const MAX_CLI_LINE = 200;

/**
 * `curl -u user:password` / `--user user:password`, called for a `:` at `p` that is not an assignment:
 * the password after the colon, if the word containing it follows `-u` / `--user` on a curl / wget /
 * httpie command line (`socat -u FILE:/dev/null` is not a credential).
 */
export function cliUserPasswordAt(text: string, p: number, out: ScreenFinding[]): void {
  const next = text.charCodeAt(p + 1);
  if (isSpace(next) || isQuote(next) || Number.isNaN(next)) return;
  let s = p;
  while (s > 0 && p - s < MAX_USER && isUserChar(text.charCodeAt(s - 1))) s--;
  if (s === p) return;
  if (s > 0 && isQuote(text.charCodeAt(s - 1))) s--;
  let j = s;
  while (j > 0 && s - j < MAX_GAP && text.charCodeAt(j - 1) === 32) j--;
  if (j === s || !(endsWithFlag(text, j, '-u') || endsWithFlag(text, j, '--user'))) return;
  if (!/\b(?:curl|wget|http)\b/.test(text.slice(Math.max(0, j - MAX_CLI_LINE), j).split('\n').pop()!)) return;
  let e = p + 1;
  while (e < text.length && e - p <= 128 && !isSpace(text.charCodeAt(e)) && !isQuote(text.charCodeAt(e))) e++;
  const password = text.slice(p + 1, e);
  if (isReference(password) || !looksLikePassword(password)) return;
  out.push({ category: 'secret', type: 'password', start: p + 1, end: e, score: 0.8 });
}

function isUserChar(c: number): boolean {
  return isNameChar(c) || c === 64 || c === 43;
}

/** True when `flag` ends at `end` and starts a word. */
function endsWithFlag(text: string, end: number, flag: string): boolean {
  const start = end - flag.length;
  return start >= 0 && text.startsWith(flag, start) && (start === 0 || isSpace(text.charCodeAt(start - 1)));
}
