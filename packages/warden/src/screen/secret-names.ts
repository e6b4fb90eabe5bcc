/**
 * What a variable, key or header NAME says about the value assigned to it: a password
 * (`DB_PASSWORD`, `passwd`, `pw`), a secret (`api_key`, `X-API-Key`, `shipit_secret`, `NPMAUTHTOKEN`),
 * an AWS secret access key (`aws_secret_access_key`, `secretAccessKey`), or nothing (`token_url`,
 * `public_key`, `next_page_token`, `primary_key`, `request_id`).
 *
 * Names are split into lower-case words at `_ - .` and camelCase boundaries; names written in one
 * case without separators (`SECRETACCESSKEY`, `youtubeapikey`) are matched by their suffix.
 */

export type NameKind = 'password' | 'secret' | 'weak_secret' | 'aws_secret';

/** The last word says the value is ABOUT a secret, not the secret: `token_url`, `password_hash`, `key_id`. */
const DESCRIBING_WORDS: ReadonlySet<string> = new Set(
  (
    'id ids sid url uri urls name names file files path paths dir type types ttl size length len count timeout ' +
    'expiry expires expiration exp version header headers prefix suffix format alg algorithm algorithms hash hashed ' +
    'digest checksum fingerprint cursor region endpoint env enabled enable disabled policy scope scopes user username ' +
    'email field fields location mode provider service method kind created updated rotation rotated limit hint label ' +
    'index min max required validation pattern regex reset changed strength rules manager ref reference source var ' +
    'variable vars placeholder example sample config settings param params arn host port cert certificate usage issuer ' +
    'audience aud iat nbf salt rounds length minlength maxlength schema doc docs help description desc text message ' +
    'prompt input button link page form title id_token_hint'
  ).split(' '),
);

/** Qualifiers that make a `key` / `token` name a non-secret (`primary_key`, `next_page_token`, `public_key`). */
const NON_SECRET_QUALIFIERS: ReadonlySet<string> = new Set(
  (
    'public publishable pub primary foreign sort partition cache idempotency unique composite row hash map object ' +
    'lookup search i18n translation registry dedupe dedup routing shard group event message next page continuation ' +
    'pagination sync resume csrf xsrf cancellation cancel tokenizer max num total input output completion prompt ' +
    'license ssh gpg pgp host known verify verification'
  ).split(' '),
);

const PASSWORD_WORDS: ReadonlySet<string> = new Set(['password', 'passwd', 'pwd', 'passphrase', 'passcode', 'pword']);
/** Short words that mean "password" only at the end of a name (`DB_PASS`, `pw`), not in `pass_through` or `--pass-arg`. */
const SHORT_PASSWORD_WORDS: ReadonlySet<string> = new Set(['pass', 'pw']);

const SECRET_WORDS: ReadonlySet<string> = new Set(
  (
    'secret secrets token apikey credential credentials creds auth authorization bearer privatekey secretkey accesskey ' +
    'authtoken accesstoken apitoken bottoken refreshtoken clientsecret signingkey masterkey encryptionkey webhooksecret'
  ).split(' '),
);

/** `<qualifier>_key` names that always hold key material (`ENCRYPTION_KEY`, `signing-key`, `hmacKey`). */
const STRONG_KEY_QUALIFIERS: ReadonlySet<string> = new Set(
  (
    'api encryption signing master private secret access auth session client app service hmac jwt aes crypto cipher ' +
    'shared webhook admin root server account storage deploy decryption sign'
  ).split(' '),
);

const COMPOUND_SUFFIXES = [
  'apikey',
  'secretkey',
  'accesskey',
  'privatekey',
  'authkey',
  'authtoken',
  'accesstoken',
  'apitoken',
  'bottoken',
  'refreshtoken',
  'clientsecret',
  'secret',
  'token',
  'password',
  'passwd',
];

/** Splits `DB_PASSWORD`, `secretAccessKey`, `X-API-Key`, `stripe.api.key` into lower-case words. */
export function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

/** What `name` says about its value, or `undefined` when it names nothing secret. */
export function classifyName(name: string): NameKind | undefined {
  if (!/key|tok|secret|pass|pw|auth|cred|bearer/i.test(name)) return undefined;
  const words = nameWords(name);
  const last = words[words.length - 1];
  if (last === undefined || DESCRIBING_WORDS.has(last)) return undefined;
  const joined = words.join('');
  if (words.some((w) => NON_SECRET_QUALIFIERS.has(w))) return undefined;
  if (words.some((w) => PASSWORD_WORDS.has(w)) || SHORT_PASSWORD_WORDS.has(last) || joined.endsWith('password') || joined.endsWith('passwd')) {
    return 'password';
  }
  const secretish = words.some((w) => SECRET_WORDS.has(w)) || COMPOUND_SUFFIXES.some((s) => joined.endsWith(s));
  if (secretish || joined.includes('apikey')) {
    return joined.includes('secretaccesskey') || (words.includes('aws') && words.includes('secret')) ? 'aws_secret' : 'secret';
  }
  if (last === 'key' || last === 'keys') {
    const qualifier = words[words.length - 2];
    return qualifier !== undefined && STRONG_KEY_QUALIFIERS.has(qualifier) ? 'secret' : 'weak_secret';
  }
  return undefined;
}
