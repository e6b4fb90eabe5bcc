/**
 * PEM private-key blocks (`-----BEGIN [RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP] PRIVATE KEY[ BLOCK]-----` ...
 * `-----END ...-----`) and the GCP service-account JSON that carries one in its `private_key` string.
 * Public keys and certificates (`PUBLIC KEY`, `CERTIFICATE`) are not secrets and are skipped.
 *
 * Span: `-----BEGIN` through the end of the `-----END ...-----` line (a key indented in a YAML block
 * keeps its indentation inside the span). Inside a JSON string (`"private_key": "-----BEGIN ...\n"`) the
 * span is the whole string value as written, with its `\n` escapes. A block without an END line is
 * still reported (a truncated key is still a leaked key), up to the end of its base64 body.
 *
 * Linear time: `-----END` is searched forward once per region (the last result is reused while it
 * lies ahead), and bodies are bounded by `MAX_BODY`.
 */

import type { ScreenFinding } from './types.js';

const MAX_LABEL = 80;
const MAX_BODY = 65_536;
const MIN_BODY_CHARS = 40;

const PRIVATE_LABEL = /^(?:(?:RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP|SSH2 ENCRYPTED) )?PRIVATE KEY(?: BLOCK)?$/;

/** Counts base64 characters in `text[from, to)` and rejects bodies that are placeholders (`...`, `<key>`). */
function realBody(text: string, from: number, to: number): boolean {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 60 || c === 62 || (c === 46 && text.charCodeAt(i + 1) === 46)) return false;
    if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 43 || c === 47) n++;
  }
  return n >= MIN_BODY_CHARS;
}

/** End of a body with no END line: base64, whitespace and `\n` escapes, bounded by `MAX_BODY`. */
function bodyEnd(text: string, from: number): number {
  const limit = Math.min(text.length, from + MAX_BODY);
  let i = from;
  let lastContent = from;
  for (; i < limit; i++) {
    const c = text.charCodeAt(i);
    const b64 = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 43 || c === 47 || c === 61;
    if (b64) lastContent = i + 1;
    else if (!(c === 32 || c === 9 || c === 10 || c === 13 || c === 92)) break;
  }
  return lastContent;
}

function isServiceAccountJson(text: string, pos: number): boolean {
  const window = text.slice(Math.max(0, pos - 4000), Math.min(text.length, pos + 6000));
  return /"private_key"\s*:\s*"$/.test(text.slice(Math.max(0, pos - 40), pos)) && /service_account|client_email|private_key_id/.test(window);
}

/** Finds PEM private keys (and GCP service-account keys) and appends them to `out`. */
export function scanPrivateKeys(text: string, out: ScreenFinding[]): void {
  let nextEnd = -2; // -2: not searched yet; -1: none in the rest of the text
  for (let p = text.indexOf('-----BEGIN '); p !== -1; p = text.indexOf('-----BEGIN ', p + 1)) {
    const labelEnd = text.indexOf('-----', p + 11);
    if (labelEnd === -1 || labelEnd - p > MAX_LABEL) continue;
    if (!PRIVATE_LABEL.test(text.slice(p + 11, labelEnd).trim())) continue;
    const bodyStart = labelEnd + 5;
    if (nextEnd !== -1 && nextEnd < bodyStart) nextEnd = text.indexOf('-----END', bodyStart);
    let end: number;
    let score = 0.99;
    const endLine = nextEnd >= 0 && nextEnd - bodyStart <= MAX_BODY ? text.indexOf('-----', nextEnd + 8) : -1;
    if (endLine !== -1 && endLine - nextEnd <= MAX_LABEL) {
      if (!realBody(text, bodyStart, nextEnd)) continue;
      end = endLine + 5;
    } else {
      end = bodyEnd(text, bodyStart);
      if (!realBody(text, bodyStart, end)) continue;
      score = 0.85;
    }
    let type = 'private_key';
    if (p > 0 && text.charCodeAt(p - 1) === 34) {
      // Inside a JSON string: the span is the whole string value, trailing `\n` escape included.
      if (text.startsWith('\\n"', end)) end += 2;
      if (isServiceAccountJson(text, p)) type = 'gcp_service_account';
    }
    out.push({ category: 'secret', type, start: p, end, score });
    p = Math.max(p, end - 11);
  }
}
