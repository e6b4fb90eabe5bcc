/**
 * Value checks shared by the secret detectors: character classes, Shannon entropy, the CRC32/base62
 * checksum GitHub and npm put in their tokens, and the tests that tell a real credential from
 * something that only looks like one (placeholders, template and environment references, masked
 * values, vendor-documented example credentials, UUIDs, digests).
 *
 * Everything here works on one candidate value (a few hundred characters at most), never on the
 * whole text, so the cost per call is bounded.
 */

/** True for `[A-Za-z0-9]`. */
export function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** True for the characters of base64url tokens: `[A-Za-z0-9_-]`. */
export function isTokenChar(c: number): boolean {
  return isAlnum(c) || c === 95 || c === 45;
}

/** True for ASCII whitespace (space, tab, CR, LF, VT, FF). */
export function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/** Shannon entropy of `s` in bits per character. */
export function shannonEntropy(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Uint16Array(128);
  let other = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 128) counts[c]!++;
    else other++;
  }
  let h = 0;
  for (let c = 0; c < 128; c++) {
    const n = counts[c]!;
    if (n > 0) h -= (n / s.length) * Math.log2(n / s.length);
  }
  // Non-ASCII characters are rare in tokens: count them as one symbol (a lower bound).
  if (other > 0) h -= (other / s.length) * Math.log2(other / s.length);
  return h;
}

/** Which of lower case, upper case and digits `s` contains, as a count 0..3. */
export function charClassCount(s: string): number {
  let lower = 0;
  let upper = 0;
  let digit = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 97 && c <= 122) lower = 1;
    else if (c >= 65 && c <= 90) upper = 1;
    else if (c >= 48 && c <= 57) digit = 1;
  }
  return lower + upper + digit;
}

/** Length of the longest run of one repeated character (`xxxxxx`, `000000`). */
export function longestRun(s: string): number {
  let best = s.length > 0 ? 1 : 0;
  let run = 1;
  for (let i = 1; i < s.length; i++) {
    run = s.charCodeAt(i) === s.charCodeAt(i - 1) ? run + 1 : 1;
    if (run > best) best = run;
  }
  return best;
}

const CRC_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC32 (IEEE) of an ASCII string. */
export function crc32(s: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < s.length; i++) crc = CRC_TABLE[(crc ^ s.charCodeAt(i)) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `n` in base62 (`0-9A-Za-z`), left-padded with `0` to `width` characters. */
export function base62(n: number, width: number): string {
  let out = '';
  let v = n;
  while (v > 0) {
    out = BASE62[v % 62]! + out;
    v = Math.floor(v / 62);
  }
  return out.padStart(width, '0');
}

/**
 * The checksum GitHub (`ghp_` ... `ghr_`) and npm (`npm_`) tokens end with: the last 6 characters are
 * the base62 CRC32 of the 30 random characters before them.
 */
export function hasCrc32Base62Checksum(body: string): boolean {
  if (body.length !== 36) return false;
  return base62(crc32(body.slice(0, 30)), 6) === body.slice(30);
}

/** Decodes base64url or base64 text to a UTF-8 string, or `undefined` if it is not valid. */
export function decodeBase64Text(s: string): string | undefined {
  if (!/^[A-Za-z0-9_\-+/]*={0,2}$/.test(s)) return undefined;
  return Buffer.from(s, s.includes('-') || s.includes('_') ? 'base64url' : 'base64').toString('utf8');
}

/**
 * Credentials published in vendor documentation as examples. They protect nothing and appear in
 * every tutorial an agent reads, so they are not reported (checked by exact value).
 */
const DOCUMENTED_EXAMPLES: ReadonlySet<string> = new Set([
  // AWS IAM user guide
  'AKIAIOSFODNN7EXAMPLE',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  'AKIAI44QH8DHBEXAMPLE',
  'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY',
  // Stripe API reference test-mode key
  'sk_test_4eC39HqLyjWDarjtT1zdp7dc',
  'sk_test_BQokikJOvBiI2HlWgH4olfQ2',
  // RFC 6749 (OAuth 2.0) examples: access / refresh token, authorization code, client credentials
  '2YotnFZFEjr1zCsicMWpAA',
  'tGzv3JOkF0XG5Qx2TlKWIA',
  'SplxlOBeZQQYbYS6WxSbIA',
  'czZCaGRSa3F0MzpnWDFmQmF0M2JW',
  '7Fjfp0ZBr1KtDRbnfVdmIw',
  // Azure Storage emulator (Azurite / devstoreaccount1) well-known account key
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
  // jwt.io debugger sample token
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
]);

/** True for a vendor-documented example credential (exact value, or the AWS-style `EXAMPLE` marker). */
export function isDocumentedExample(value: string): boolean {
  return DOCUMENTED_EXAMPLES.has(value) || /EXAMPLE(?:KEY)?$/.test(value) || value.includes('EXAMPLEKEY');
}

const PLACEHOLDER_WORDS =
  /your|example|placeholder|replace|change_?me|dummy|redacted|sample|insert|xxxx|\*\*\*|\.\.\.|<|>|\$\{|\{\{|\}\}|\$\(|%\(|\u2022|\u2026|\u25cf|\u00b7\u00b7/i;

/**
 * True for a value that stands in for a secret rather than being one: `xxxx`, `<your-key>`,
 * `YOUR_API_KEY_HERE`, `${VAR}`, `{{ secrets.X }}`, `$(cmd)`, masked (`****`, `••••`, `…`,
 * `[REDACTED]`), a long run of one repeated character (`AKIAXXXXXXXXXXXXXXXX`), a typed sequence
 * (`1234567`, `abcdefg`) or a repeated chunk (`abc123abc123abc123abc123`).
 */
export function isPlaceholder(value: string): boolean {
  if (PLACEHOLDER_WORDS.test(value)) return true;
  if (/_HERE\b|^(?:none|null|nil|undefined|true|false|todo|tbd|test|secret|password|passwd|pass|token|key|apikey|api_key|string|str|empty)$/i.test(value)) {
    return true;
  }
  return longestRun(value) >= 6 || SEQUENCE.test(value) || hasRepeatedChunk(value);
}

/** Runs of the alphabet or the digits (`1234567`, `abcdefg`): typed by a person, not generated. */
const SEQUENCE = /0123456|1234567|2345678|3456789|abcdefg|ABCDEFG/;
/**
 * True when a chunk of 2-8 characters repeats four or more times in a row (`abc123abc123abc123abc123`,
 * `3a3a3a3a`): for each period k, counts consecutive positions equal to the one k before.
 */
function hasRepeatedChunk(value: string): boolean {
  for (let k = 2; k <= 8; k++) {
    let same = 0;
    for (let i = k; i < value.length; i++) {
      same = value.charCodeAt(i) === value.charCodeAt(i - k) ? same + 1 : 0;
      if (same >= 3 * k) return true;
    }
  }
  return false;
}

/** True for references that name a secret held elsewhere: `$VAR`, `process.env.X`, `os.environ[...]`, `secrets.X`, `vault:`... */
export function isReference(value: string): boolean {
  return /^(?:\$[A-Za-z_{(]|%[A-Za-z_]+%$|process\.env|import\.meta\.env|os\.(?:environ|getenv)|getenv\(|env\(|ENV\[|System\.getenv|secrets\.|vars\.|env\.|vault:|arn:|ref\+|@Value|!Ref|\{\{)/.test(
    value,
  );
}

const WEAK_PASSWORD = /secret|passw|pa\$\$|p@ss|changeme|example|dummy|sample|test|demo|guest|admin|qwerty|letmein|hunter2|123456|abc123|foobar|default|mypass|somepass|s3cr3t/i;

/**
 * True for a value that could be a real password: 6-128 characters without whitespace, at least two of
 * lower case / upper case / digits / symbols, not a placeholder, masked value or documented example,
 * and not one of the dummy passwords of docs and tests (`secret123`, `Password123!`, `admin`, `guest`).
 */
export function looksLikePassword(value: string): boolean {
  if (value.length < 6 || value.length > 128 || /\s/.test(value)) return false;
  if (/^[0-9]+$/.test(value) && value.length < 10) return false;
  if (WEAK_PASSWORD.test(value) || isPlaceholder(value) || isDocumentedExample(value)) return false;
  const symbol = /[^A-Za-z0-9]/.test(value) ? 1 : 0;
  return charClassCount(value) + symbol >= 2;
}

/** True for a UUID (`8-4-4-4-12` hex). */
export function isUuid(value: string): boolean {
  return /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(value);
}

/** True for a digest written with its algorithm (`sha256:...`, `sha512-...` integrity, `md5=`). */
export function isLabelledDigest(value: string): boolean {
  return /^(?:sha(?:1|224|256|384|512)|md5|blake2b?|xxh64)[:\-=]/i.test(value);
}

/** True for a lower-case hex string. */
export function isHex(value: string): boolean {
  return /^[0-9a-fA-F]+$/.test(value);
}
