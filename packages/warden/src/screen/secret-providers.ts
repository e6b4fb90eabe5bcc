/**
 * The provider-token scanner: finds the cheap anchors of the formats in `secret-rules.ts` (separators
 * `_ - .` via `indexOf`, filtered by the two characters before them; letter prefixes via one combined
 * regex; `Q~`), checks that each anchor sits at a token boundary, and runs the anchored rules there.
 * Also owns JWT structure checks, the AWS secret key that follows an access key id, and the
 * `:`-anchored Telegram / Firebase tokens (called from the detector's `:` pass).
 *
 * Linear time: every attempt starts at a token boundary (an anchor in the middle of a token is
 * rejected after looking at one character) and each rule's regex is bounded, so the work is a
 * constant per anchor plus the length of the token being examined.
 */

import {
  charClassCount,
  decodeBase64Text,
  isAlnum,
  isDocumentedExample,
  isPlaceholder,
  shannonEntropy,
} from './secret-checks.js';
import {
  AZURE_AD_SECRET_RULE,
  CAPS_ANCHOR,
  CAPS_RULES,
  DISCORD_RULE,
  FCM_RULE,
  MAILCHIMP_RULE,
  MAX_SEGMENT,
  SEPARATOR_RULES,
  TELEGRAM_RULE,
  TERRAFORM_RULE,
  type ProviderRule,
} from './secret-rules.js';
import type { ScreenFinding } from './types.js';

/** Characters that continue a token to the left: a match must not start right after one of them. */
function joinsLeft(c: number): boolean {
  return isAlnum(c) || c === 95 || c === 45 || c === 46 || c === 43 || c === 47;
}

function atTokenStart(text: string, pos: number): boolean {
  return pos === 0 || !joinsLeft(text.charCodeAt(pos - 1));
}

function finding(type: string, start: number, end: number, score: number): ScreenFinding {
  return { category: 'secret', type, start, end, score };
}

/**
 * Runs `rules` in order at `start`; the first whose regex matches decides (a placeholder or documented
 * example is rejected without trying weaker rules). Returns the finding or `undefined`.
 */
function tryRules(text: string, start: number, rules: readonly ProviderRule[]): ScreenFinding | undefined {
  for (const r of rules) {
    r.re.lastIndex = start;
    const m = r.re.exec(text);
    if (!m) continue;
    const value = m[0];
    if (isDocumentedExample(value) || isPlaceholder(value)) return undefined;
    const score = r.check ? r.check(value, r.score) : r.score;
    return score > 0 ? finding(r.type, start, start + value.length, score) : undefined;
  }
  return undefined;
}

/** `\n`, `\t`, `\r` written as escapes in JSON or code: the letter is not part of the token after it. */
function afterEscape(text: string, s: number): boolean {
  const c = text.charCodeAt(s);
  return s > 0 && text.charCodeAt(s - 1) === 92 && (c === 110 || c === 116 || c === 114);
}

const DISCORD_RULES: readonly ProviderRule[] = [DISCORD_RULE];
const TERRAFORM_RULES: readonly ProviderRule[] = [TERRAFORM_RULE];
const TELEGRAM_RULES: readonly ProviderRule[] = [TELEGRAM_RULE];
const AZURE_AD_RULES: readonly ProviderRule[] = [AZURE_AD_SECRET_RULE];
const FCM_RULES: readonly ProviderRule[] = [FCM_RULE];
const MAILCHIMP_RULES: readonly ProviderRule[] = [MAILCHIMP_RULE];
const MAILCHIMP_KEY = 32;

const DISCORD_MIN = 23;
const DISCORD_MAX = 28;
const DISCORD_TIMESTAMP = 6;
const TERRAFORM_SEGMENT = 14;

/**
 * Per separator, the pairs of characters that end a `SEPARATOR_RULES` key segment (`sk` of `sk-`, `29`
 * of `ya29.`): a separator not preceded by one of these pairs is skipped after two character reads,
 * before any walking back.
 */
const KEY_ENDINGS: ReadonlyMap<string, Uint8Array> = (() => {
  const endings = new Map<string, Uint8Array>();
  for (const key of SEPARATOR_RULES.keys()) {
    const sep = key[key.length - 1]!;
    let table = endings.get(sep);
    if (!table) {
      table = new Uint8Array(128 * 128);
      endings.set(sep, table);
    }
    table[key.charCodeAt(key.length - 3) * 128 + key.charCodeAt(key.length - 2)] = 1;
  }
  return endings;
})();

function endsKey(table: Uint8Array | undefined, text: string, p: number): boolean {
  if (table === undefined || p < 2) return false;
  const a = text.charCodeAt(p - 2);
  const b = text.charCodeAt(p - 1);
  return a < 128 && b < 128 && table[a * 128 + b] === 1;
}

/** Start of the alphanumeric run ending at `p` if it is at most `max` long and starts a token, else -1. */
function segmentStart(text: string, p: number, max: number): number {
  let s = p;
  while (s > 0 && p - s <= max && isAlnum(text.charCodeAt(s - 1))) s--;
  if (s === p || p - s > max) return -1;
  if (afterEscape(text, s)) return s + 1;
  return atTokenStart(text, s) ? s : -1;
}

/** `.`-anchored formats whose first segment is long: Discord (`<id>.<6>.<hmac>`) and Terraform (`<14>.atlasv1.`). */
function longSegmentAt(text: string, p: number): ScreenFinding | undefined {
  if (text.charCodeAt(p + 1 + DISCORD_TIMESTAMP) === 46) {
    const s = segmentStart(text, p, DISCORD_MAX);
    const c = s >= 0 ? text.charCodeAt(s) : 0;
    if (p - s >= DISCORD_MIN && (c === 77 || c === 78 || c === 79)) return tryRules(text, s, DISCORD_RULES);
  } else if (text.charCodeAt(p + 1) === 97 && text.startsWith('atlasv1.', p + 1)) {
    const s = segmentStart(text, p, TERRAFORM_SEGMENT);
    if (p - s === TERRAFORM_SEGMENT) return tryRules(text, s, TERRAFORM_RULES);
  }
  return undefined;
}

/** A Mailchimp key whose `-us` is at `p`. */
function mailchimpAt(text: string, p: number): ScreenFinding | undefined {
  const s = p - MAILCHIMP_KEY;
  return s >= 0 && atTokenStart(text, s) ? tryRules(text, s, MAILCHIMP_RULES) : undefined;
}

function scanSeparator(text: string, sep: string, out: ScreenFinding[]): void {
  const endings = KEY_ENDINGS.get(sep);
  const dot = sep === '.';
  for (let p = text.indexOf(sep); p !== -1; p = text.indexOf(sep, p + 1)) {
    let f: ScreenFinding | undefined;
    if (endsKey(endings, text, p)) {
      const s = segmentStart(text, p, MAX_SEGMENT);
      const rules = s >= 0 ? SEPARATOR_RULES.get(text.slice(s, p + 1)) : undefined;
      if (rules) f = tryRules(text, s, rules);
    }
    if (!f && dot) f = longSegmentAt(text, p);
    else if (!f && sep === '-' && text.charCodeAt(p + 1) === 117 && text.charCodeAt(p + 2) === 115) f = mailchimpAt(text, p);
    if (f) out.push(f);
  }
}

const JWT = /eyJ[A-Za-z0-9_-]{8,4096}\.ey[A-Za-z0-9_-]{8,8192}\.[A-Za-z0-9_-]{0,1024}(?![A-Za-z0-9_-])/y;

function parseJson(s: string | undefined): unknown {
  if (s === undefined) return undefined;
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
}

/** A JWT: base64url JSON header with `alg`, JSON payload, and a signature (unsigned ones score lower). */
function tryJwt(text: string, start: number): ScreenFinding | undefined {
  JWT.lastIndex = start;
  const m = JWT.exec(text);
  if (!m) return undefined;
  const token = m[0];
  if (isDocumentedExample(token)) return undefined;
  const [h, p, sig] = token.split('.') as [string, string, string];
  const header = parseJson(decodeBase64Text(h));
  const payload = parseJson(decodeBase64Text(p));
  if (typeof header !== 'object' || header === null || typeof (header as { alg?: unknown }).alg !== 'string') return undefined;
  if (typeof payload !== 'object' || payload === null) return undefined;
  const claims = payload as { sub?: unknown; name?: unknown };
  // The jwt.io debugger's sample claims, whatever key it is re-signed with.
  if (claims.sub === '1234567890' && claims.name === 'John Doe') return undefined;
  const score = sig.length >= 16 ? 0.95 : 0.6;
  return finding('jwt', start, start + token.length, score);
}

function scanCaps(text: string, out: ScreenFinding[]): void {
  CAPS_ANCHOR.lastIndex = 0;
  for (let m = CAPS_ANCHOR.exec(text); m !== null; m = CAPS_ANCHOR.exec(text)) {
    const start = m.index;
    if (!atTokenStart(text, start) && !afterEscape(text, start - 1)) continue;
    const f = m[0] === 'eyJ' ? tryJwt(text, start) : tryRules(text, start, CAPS_RULES);
    if (f) out.push(f);
  }
}

/** Anchors found by `indexOf`, with the offset of the token start relative to the anchor. */
function scanFixedAnchor(
  text: string,
  anchor: string,
  back: number,
  rules: readonly ProviderRule[],
  out: ScreenFinding[],
): void {
  for (let p = text.indexOf(anchor); p !== -1; p = text.indexOf(anchor, p + 1)) {
    const s = p - back;
    if (s < 0 || !atTokenStart(text, s)) continue;
    const f = tryRules(text, s, rules);
    if (f) out.push(f);
  }
}

/**
 * Tokens anchored at the `:` at `p`, found by the caller's `:` pass: Telegram bot tokens
 * (`<8-10 digit bot id>:AA<33>`) and Firebase server keys (`AAAA<7>:APA91b<134>`). Appends to `out`.
 */
export function colonTokenAt(text: string, p: number, out: ScreenFinding[]): void {
  if (text.charCodeAt(p + 1) !== 65) return;
  let f: ScreenFinding | undefined;
  if (text.charCodeAt(p + 2) === 65) {
    let s = p;
    while (s > 0 && p - s < 11 && text.charCodeAt(s - 1) >= 48 && text.charCodeAt(s - 1) <= 57) s--;
    if (p - s >= 8 && p - s <= 10 && atTokenStart(text, s)) f = tryRules(text, s, TELEGRAM_RULES);
  } else if (text.startsWith('APA91b', p + 1) && p >= 11 && atTokenStart(text, p - 11)) {
    f = tryRules(text, p - 11, FCM_RULES);
  }
  if (f) out.push(f);
}

const AWS_SECRET_NEAR = /(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{40}(?![A-Za-z0-9+/=])/g;
const AWS_WINDOW = 300;

/**
 * An AWS secret access key (40 base64 characters, no prefix) is only recognisable next to its access
 * key id: look for one in the text right after each `AKIA`/`ASIA` id.
 */
function scanAwsSecretsNearIds(text: string, out: ScreenFinding[]): void {
  let searchedTo = 0;
  const ids = out.filter((f) => f.type === 'aws_access_key_id');
  for (const id of ids) {
    const from = Math.max(id.end, searchedTo);
    const to = Math.min(text.length, id.end + AWS_WINDOW);
    if (from >= to) continue;
    searchedTo = to;
    const window = text.slice(from, to);
    AWS_SECRET_NEAR.lastIndex = 0;
    for (let m = AWS_SECRET_NEAR.exec(window); m !== null; m = AWS_SECRET_NEAR.exec(window)) {
      const v = m[0];
      if (charClassCount(v) < 3 || shannonEntropy(v) < 4 || isDocumentedExample(v) || isPlaceholder(v)) continue;
      out.push(finding('aws_secret_access_key', from + m.index, from + m.index + v.length, 0.85));
    }
  }
}

/**
 * Finds provider-format tokens (structure-checked, high scores) and appends them to `out`. Telegram
 * and Firebase tokens are anchored at a `:` and found by the caller's `:` pass (`colonTokenAt`).
 */
export function scanProviderTokens(text: string, out: ScreenFinding[]): void {
  scanSeparator(text, '_', out);
  scanSeparator(text, '-', out);
  scanSeparator(text, '.', out);
  scanCaps(text, out);
  scanFixedAnchor(text, 'Q~', 4, AZURE_AD_RULES, out);
  scanAwsSecretsNearIds(text, out);
}
