/**
 * Credentials carried in URLs and connection strings:
 * - `scheme://user:PASSWORD@host` (span: the password only),
 * - Slack and Discord incoming-webhook URLs (span: the whole URL; the URL is the credential),
 * - Azure Storage / Service Bus connection strings (`AccountKey=`, `SharedAccessKey=`: span: the key)
 *   and Azure SAS query strings (`sv=...&sig=`: span: the signature).
 *
 * The caller finds the anchors (`://`, `=`) in its own pass over the text; each is examined within a
 * bounded window, so the work is linear.
 */

import { isDocumentedExample, isPlaceholder, isReference, isSpace, looksLikePassword } from './secret-checks.js';
import type { ScreenFinding } from './types.js';

const MAX_USERINFO = 256;

/** Password values that name the field instead of filling it (`postgres://USER:PASSWORD@HOST`). */
const WORD_PASSWORDS = /^(?:pass(?:word|wd)?|pwd|secret|changeme|pw|p@ssw0rd|user|username|token|\*+|x+)$/i;

function isUrlTerminator(c: number): boolean {
  // whitespace / # ? " ' < > ` ( ) [ ] { } \ |
  return (
    isSpace(c) || c === 47 || c === 35 || c === 63 || c === 34 || c === 39 || c === 60 || c === 62 || c === 96 ||
    c === 40 || c === 41 || c === 91 || c === 93 || c === 123 || c === 125 || c === 92 || c === 124
  );
}

function push(out: ScreenFinding[], type: string, start: number, end: number, score: number): void {
  out.push({ category: 'secret', type, start, end, score });
}

/** `scheme://user:PASSWORD@host` for the `://` at `p`: the password span, if it looks like a real one. */
function userinfoAt(text: string, p: number, out: ScreenFinding[]): void {
  const u = p + 3;
  const limit = Math.min(text.length, u + MAX_USERINFO);
  let at = -1;
  for (let i = u; i < limit; i++) {
    const c = text.charCodeAt(i);
    if (isUrlTerminator(c)) break;
    if (c === 64) at = i;
  }
  if (at === -1) return;
  let colon = u;
  while (colon < at && text.charCodeAt(colon) !== 58) colon++;
  if (colon >= at) return;
  const password = text.slice(colon + 1, at);
  if (WORD_PASSWORDS.test(password) || isReference(password) || !looksLikePassword(password)) return;
  push(out, 'password_in_url', colon + 1, at, 0.9);
}

const SLACK_WEBHOOK =
  /hooks\.slack\.com\/(?:services\/T[A-Z0-9]{6,12}\/B[A-Z0-9]{6,12}\/[A-Za-z0-9]{20,32}|(?:workflows|triggers)\/T[A-Z0-9]{6,12}\/A[A-Z0-9]{6,12}\/[0-9]{8,20}\/[A-Za-z0-9]{20,40})(?![A-Za-z0-9])/y;
const DISCORD_HOST = /^(?:ptb\.|canary\.)?discord(?:app)?\.com(?=\/api\/webhooks\/)/;
const DISCORD_WEBHOOK = /\/api\/webhooks\/[0-9]{17,20}\/[A-Za-z0-9_-]{60,68}(?![A-Za-z0-9_-])/y;

/** Start of the URL whose `://` is at `p` (the scheme, at most 16 letters back). */
function schemeStart(text: string, p: number): number {
  let s = p;
  while (s > 0 && p - s < 16 && /[A-Za-z0-9+.-]/.test(text[s - 1]!)) s--;
  return s;
}

/** Slack / Discord incoming-webhook URL whose `://` is at `p`: the whole URL is the credential. */
function webhookAt(text: string, p: number, out: ScreenFinding[]): void {
  const host = p + 3;
  const c = text.charCodeAt(host);
  if (c === 104 && text.startsWith('hooks.slack.com/', host)) {
    SLACK_WEBHOOK.lastIndex = host;
    const m = SLACK_WEBHOOK.exec(text);
    if (m && !isPlaceholder(m[0])) push(out, 'slack_webhook_url', schemeStart(text, p), host + m[0].length, 0.97);
    return;
  }
  if (c !== 100 && c !== 112 && c !== 99) return;
  const hostMatch = DISCORD_HOST.exec(text.slice(host, host + 40));
  if (!hostMatch) return;
  DISCORD_WEBHOOK.lastIndex = host + hostMatch[0].length;
  const m = DISCORD_WEBHOOK.exec(text);
  if (m && !isPlaceholder(m[0])) push(out, 'discord_webhook_url', schemeStart(text, p), DISCORD_WEBHOOK.lastIndex, 0.97);
}

/** Credentials in the URL whose `://` is at `p` (userinfo password, webhook URLs); appends to `out`. */
export function urlCredentialsAt(text: string, p: number, out: ScreenFinding[]): void {
  userinfoAt(text, p, out);
  webhookAt(text, p, out);
}

const BASE64_KEY = /[A-Za-z0-9+/]{40,100}={0,2}(?![A-Za-z0-9+/=])/y;
const SAS_SIG = /(?:[A-Za-z0-9+/]|%2[BbFf]){30,120}(?:%3[Dd]|=){0,2}(?![A-Za-z0-9%+/=])/y;

/**
 * Connection-string keys and SAS signatures, called with the name before an `=` at `p`:
 * `AccountKey=` (Azure Storage), `SharedAccessKey=` (Service Bus / Event Hubs), `sig=` (SAS query).
 * Returns true when the name is one of these (handled here, whether or not a key was found).
 */
export function connectionKeyAt(text: string, name: string, p: number, out: ScreenFinding[]): boolean {
  const s = p + 1;
  if (name === 'AccountKey' || name === 'SharedAccessKey') {
    BASE64_KEY.lastIndex = s;
    const m = BASE64_KEY.exec(text);
    if (!m || m[0].length % 4 !== 0 || isPlaceholder(m[0]) || isDocumentedExample(m[0])) return true;
    const type = name === 'AccountKey' ? 'azure_storage_key' : 'azure_shared_access_key';
    push(out, type, s, s + m[0].length, m[0].length === 88 ? 0.97 : 0.9);
    return true;
  }
  if (name !== 'sig') return false;
  const before = text.charCodeAt(p - 4);
  if (before !== 38 && before !== 63) return true;
  if (!/[?&]sv=\d{4}-\d{2}-\d{2}/.test(text.slice(Math.max(0, p - 400), p))) return true;
  SAS_SIG.lastIndex = s;
  const m = SAS_SIG.exec(text);
  if (m && !isPlaceholder(m[0])) push(out, 'azure_sas_token', s, s + m[0].length, 0.9);
  return true;
}
