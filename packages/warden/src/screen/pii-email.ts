/**
 * Email addresses, found by a hand-written scanner around each `@` (no regex, so no backtracking):
 * read the local part backwards (at most 64 characters, never past the previous `@`) and the domain
 * forwards (at most 253 characters, never past the next `@`), then validate both. Every character is
 * read a bounded number of times, so the cost is linear in the text whatever it contains.
 *
 * Not reported: URL credentials (`https://user:pass@host`, `ssh://git@host`), SSH remotes
 * (`git@github.com:org/repo`), package specifiers (`pkg@1.2.3`), image names (`icon@2x.png`) and
 * domains without a dot or with a non-alphabetic top-level label.
 */
import type { ScreenFinding } from './types.js';

const MAX_LOCAL = 64;
const MAX_DOMAIN = 253;

/** Top-level labels that are file extensions, not domains (`logo@2x.png`, `file@v2.js`). */
const FILE_EXTENSIONS = new Set([
  'png', 'jpg', 'jpeg', 'gif', 'svg', 'webp', 'bmp', 'ico', 'tif', 'tiff', 'avif', 'heic',
  'js', 'mjs', 'cjs', 'ts', 'tsx', 'jsx', 'css', 'scss', 'less', 'map', 'json', 'yaml', 'yml',
  'xml', 'html', 'htm', 'md', 'txt', 'py', 'rb', 'rs', 'java', 'kt', 'swift', 'cpp', 'hpp',
  'sh', 'zip', 'gz', 'tgz', 'tar', 'pdf', 'csv', 'lock', 'wasm', 'woff', 'woff2', 'ttf', 'mp3',
  'mp4', 'mov', 'wav', 'webm', 'exe', 'dll', 'so', 'dylib', 'bin', 'log', 'tmp', 'bak', 'vue',
]);

/**
 * Characters that may sit right before an address: whitespace, brackets, quotes and list punctuation.
 * Anything else (`/`, `:`, `~`, `!`, `@`, ...) means the `@` is inside a URL, a password or a path.
 */
const BOUNDARY_BEFORE: ReadonlySet<number> = new Set(
  [...' \t\n\r\f\v<([{"\'`,;=>|*\\\u00a0\u2018\u201c\u00ab'].map((c) => c.charCodeAt(0)),
);

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** Latin letters with diacritics (U+00C0-U+024F without × and ÷): internationalized addresses (RFC 6531). */
function isLatinLetter(c: number): boolean {
  return c >= 0xc0 && c <= 0x24f && c !== 0xd7 && c !== 0xf7;
}

/** Local-part characters we accept: the common subset of RFC 5322 atext plus dots. */
function isLocalChar(c: number): boolean {
  return isAlnum(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45 || isLatinLetter(c);
}

function isDomainChar(c: number): boolean {
  return isAlnum(c) || c === 46 || c === 45 || isLatinLetter(c);
}

function validLabels(domain: string): boolean {
  const labels = domain.split('.');
  if (labels.length < 2) return false;
  for (const l of labels) {
    if (l.length === 0 || l.length > 63 || l.startsWith('-') || l.endsWith('-')) return false;
  }
  const tld = labels[labels.length - 1]!;
  if (tld.length < 2) return false;
  for (let i = 0; i < tld.length; i++) {
    const c = tld.charCodeAt(i) | 0x20;
    if (c < 97 || c > 122) return false;
  }
  return !FILE_EXTENSIONS.has(tld.toLowerCase());
}

/** Appends email findings for `text`. */
export function findEmails(text: string, out: ScreenFinding[]): void {
  const n = text.length;
  let from = 0;
  for (;;) {
    const at = text.indexOf('@', from);
    if (at < 0) return;
    from = at + 1;
    // Local part, backwards.
    let s = at;
    while (s > 0 && at - s <= MAX_LOCAL && isLocalChar(text.charCodeAt(s - 1))) s--;
    if (at - s > MAX_LOCAL) continue;
    while (s < at && (text.charCodeAt(s) === 46 || text.charCodeAt(s) === 45)) s++;
    if (s === at || text.charCodeAt(at - 1) === 46) continue;
    const local = text.slice(s, at);
    if (local.includes('..')) continue;
    const before = s > 0 ? text.charCodeAt(s - 1) : 32;
    if (!BOUNDARY_BEFORE.has(before)) {
      if (before !== 58 || !text.slice(Math.max(0, s - 7), s).toLowerCase().endsWith('mailto:')) continue;
    }
    // Domain, forwards.
    let e = at + 1;
    while (e < n && e - at <= MAX_DOMAIN && isDomainChar(text.charCodeAt(e))) e++;
    if (e - at > MAX_DOMAIN) continue;
    while (e > at + 1 && (text.charCodeAt(e - 1) === 46 || text.charCodeAt(e - 1) === 45)) e--;
    const domain = text.slice(at + 1, e);
    if (!validLabels(domain)) continue;
    // `git@github.com:org/repo.git` is an SSH remote.
    if (text.charCodeAt(e) === 58 && e + 1 < n && text.charCodeAt(e + 1) !== 32 && text.charCodeAt(e + 1) !== 10) continue;
    out.push({ category: 'pii', type: 'email', start: s, end: e, score: 0.95 });
    from = e;
  }
}
