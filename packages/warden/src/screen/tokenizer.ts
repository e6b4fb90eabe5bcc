/**
 * Reversible tokenization for content screening: `tokenize(type, value)` replaces a sensitive value (an
 * email, a secret, …) by a deterministic token, and `detokenize(tokens)` turns tokens back into values.
 *
 * A token is `tok_<type>_v<version>_<mac>`: `<mac>` is the first 16 bytes (22 base64url characters) of
 * HMAC-SHA256 over `type ‖ 0x00 ‖ UTF-8(value)` with version `<version>` of the KMS key `keyName` (type
 * `hmac-sha256`). The version is the key's `minEncryptionVersion` — 1 unless an admin raises it —, not
 * its latest: rotating the key does not change the tokens of the same values, so joins across time keep
 * working. Raising `minEncryptionVersion` deliberately re-keys (new values get new tokens; every token
 * made before still detokenizes, since detokenizing is a lookup, not cryptography).
 *
 * The mapping token → value is stored in `screen_tokens` on first tokenize, the value encrypted by the
 * barrier and bound to its token (insert-or-ignore: the same value twice is one row; concurrent writers
 * never fail). Detokenizing looks tokens up (only those made with this key), one result per token: an
 * unknown or malformed token is that item's WARDEN_NOT_FOUND. Both refuse, fail closed, when the key is
 * missing (WARDEN_NOT_FOUND), not enabled (its state's code), not `hmac-sha256`
 * (WARDEN_KMS_UNSUPPORTED_OPERATION), or its token version is disabled (WARDEN_KMS_VERSION_DISABLED).
 *
 * Authorization (`tokens:detokenize` on `Warden::Key::"<keyName>"`) is the caller's job (the API route);
 * with `audit`, every detokenization is recorded (`tokens.detokenize`, counts only, never values or
 * tokens) and durable before any value is returned — if the log cannot record it, nothing is revealed.
 */
import type { Kysely } from 'kysely';
import type { AuditEvent, AuditLog } from '../audit/index.js';
import type { Barrier, BarrierContext } from '../barrier/index.js';
import { WardenError, isWardenError } from '../errors/index.js';
import { keyNamePattern, keyStateError, type Keyring } from '../kms/index.js';
import type { Database } from '../store/index.js';

/** A token's type: what the value is (`email`, `secret`, …). */
export const tokenTypePattern = /^[a-z0-9_]{1,32}$/;
/** A whole token: type, key version, 22 base64url characters of MAC. */
export const tokenPattern = /^tok_([a-z0-9_]{1,32})_v([1-9][0-9]{0,9})_([A-Za-z0-9_-]{22})$/;
/** Tokens per detokenize call. */
export const MAX_DETOKENIZE_BATCH = 1000;
/** The largest value that can be tokenized, in UTF-8 bytes. */
export const MAX_TOKEN_VALUE_BYTES = 64 * 1024;
const MAC_BYTES = 16;
const DEFAULT_KNOWN_TOKENS = 10_000;

export type DetokenizeResult = { ok: true; value: string; type: string } | { ok: false; error: WardenError };

/** Who detokenizes, for the audit entry. */
export interface DetokenizeContext {
  readonly actor: AuditEvent['actor'];
  readonly source?: AuditEvent['source'];
  /** The authorization decision that permitted the call (recorded with the entry). */
  readonly decisionId?: string;
  /** Called with the audit entry's index (for `Warden-Audit-Index`). */
  readonly receipt?: (index: number) => void;
}

export interface Tokenizer {
  /** The KMS key tokens are made with (the resource `tokens:detokenize` is decided on). */
  readonly keyName: string;
  /** The token of `value`; the same type and value always give the same token. Fails closed. */
  tokenize(type: string, value: string): Promise<string>;
  /**
   * One result per token, in order (at most MAX_DETOKENIZE_BATCH). Throws — revealing nothing — when
   * the key refuses or the audit log cannot record the call.
   */
  detokenize(tokens: readonly string[], ctx?: DetokenizeContext): Promise<DetokenizeResult[]>;
}

export interface TokenizerOptions {
  readonly db: Kysely<Database>;
  readonly barrier: Pick<Barrier, 'encrypt' | 'decrypt'>;
  readonly keyring: Pick<Keyring, 'use' | 'recordUse'>;
  /** The KMS key (type `hmac-sha256`) that makes tokens. */
  readonly keyName: string;
  /** Records detokenizations (durably, before values are returned). */
  readonly audit?: Pick<AuditLog, 'append'>;
  readonly now?: () => number;
  /** How many tokens known to be stored are remembered, to skip the write (default 10,000). */
  readonly knownTokens?: number;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const invalid = (message: string, field: string) => new WardenError('WARDEN_VALIDATION_FAILED', message, { details: { field } });
const notFound = () => new WardenError('WARDEN_NOT_FOUND', 'token not found');
const contextOf = (token: string): BarrierContext => ({ table: 'screen_tokens', column: 'value', row: token });

function checkInput(type: string, value: string): void {
  if (typeof type !== 'string' || !tokenTypePattern.test(type)) throw invalid('a token type is 1..32 lower-case letters, digits and "_"', 'type');
  if (typeof value !== 'string' || value.length === 0) throw invalid('a tokenized value must be a non-empty string', 'value');
  // A lone surrogate has no UTF-8 form: two different strings would share a token and one would come back as the other.
  if (LONE_SURROGATE.test(value)) throw invalid('a tokenized value must be well-formed Unicode', 'value');
  if (Buffer.byteLength(value, 'utf8') > MAX_TOKEN_VALUE_BYTES) throw invalid(`a tokenized value is at most ${MAX_TOKEN_VALUE_BYTES} bytes of UTF-8`, 'value');
}

export function createTokenizer(options: TokenizerOptions): Tokenizer {
  const { db, barrier, keyring, keyName, audit } = options;
  // Checked when built (the key itself may be created later: its absence is refused at use).
  if (!keyNamePattern.test(keyName)) throw new WardenError('WARDEN_CONFIG_INVALID', `screen.tokenizationKey "${keyName}" is not a valid key name`);
  const now = options.now ?? Date.now;
  const knownLimit = options.knownTokens ?? DEFAULT_KNOWN_TOKENS;
  /** Tokens whose row exists (insertion order; the oldest is dropped first). */
  const known = new Set<string>();
  const remember = (token: string) => {
    if (knownLimit <= 0) return;
    known.add(token);
    if (known.size > knownLimit) known.delete(known.values().next().value!);
  };

  /** The key in use, enabled and of the right type; throws its refusal otherwise. */
  async function usableKey() {
    const inUse = await keyring.use(keyName);
    const stateError = keyStateError(inUse.key);
    if (stateError) throw stateError;
    if (inUse.key.type !== 'hmac-sha256') {
      throw new WardenError('WARDEN_KMS_UNSUPPORTED_OPERATION', `key ${keyName} is ${inUse.key.type}; tokenization needs an hmac-sha256 key`, { details: { name: keyName } });
    }
    return inUse;
  }

  async function macOf(type: string, value: string): Promise<{ version: number; mac: string }> {
    const inUse = await usableKey();
    const version = inUse.key.minEncryptionVersion;
    const v = await inUse.version(version);
    if (!v) throw new WardenError('WARDEN_INTERNAL', `version ${version} of key ${keyName} has no material`);
    if (v.state === 'disabled') throw new WardenError('WARDEN_KMS_VERSION_DISABLED', `version ${version} of key ${keyName} is disabled`, { details: { name: keyName, version } });
    const data = Buffer.concat([Buffer.from(type, 'utf8'), Buffer.from([0]), Buffer.from(value, 'utf8')]);
    try {
      const mac = v.crypto.hmac(data).subarray(0, MAC_BYTES).toString('base64url');
      keyring.recordUse(inUse.key.id, version);
      return { version, mac };
    } finally {
      data.fill(0);
    }
  }

  async function store(token: string, type: string, value: string): Promise<void> {
    const plaintext = Buffer.from(value, 'utf8');
    let sealed: Buffer;
    try {
      sealed = barrier.encrypt(plaintext, contextOf(token));
    } finally {
      plaintext.fill(0);
    }
    await db
      .insertInto('screen_tokens')
      .values({ token, type, value: sealed, key_name: keyName, created_at: now() })
      .onConflict((oc) => oc.column('token').doNothing())
      .execute();
  }

  async function record(results: readonly DetokenizeResult[], ctx: DetokenizeContext | undefined): Promise<void> {
    if (!audit) return;
    const types: Record<string, number> = {};
    let revealed = 0;
    for (const r of results) {
      if (!r.ok) continue;
      revealed++;
      types[r.type] = (types[r.type] ?? 0) + 1;
    }
    const event: AuditEvent = {
      class: 'api_activity',
      activityId: 2,
      action: 'tokens.detokenize',
      actor: ctx?.actor ?? { type: 'system', id: 'warden' },
      resource: { type: 'key', id: keyName },
      outcome: 'success',
      details: { count: results.length, revealed, notFound: results.length - revealed, types, ...(ctx?.decisionId === undefined ? {} : { decisionId: ctx.decisionId }) },
      ...(ctx?.source === undefined ? {} : { source: ctx.source }),
    };
    let index: number;
    try {
      ({ index } = await audit.append(event));
    } catch (cause) {
      if (isWardenError(cause, 'WARDEN_AUDIT_UNAVAILABLE')) throw cause;
      throw new WardenError('WARDEN_AUDIT_UNAVAILABLE', 'the audit log is unavailable; nothing was detokenized', { cause });
    }
    ctx?.receipt?.(index);
  }

  return {
    keyName,
    async tokenize(type, value) {
      checkInput(type, value);
      const { version, mac } = await macOf(type, value);
      const token = `tok_${type}_v${version}_${mac}`;
      if (known.has(token)) return token;
      await store(token, type, value);
      remember(token);
      return token;
    },

    async detokenize(tokens, ctx) {
      if (tokens.length > MAX_DETOKENIZE_BATCH) throw invalid(`at most ${MAX_DETOKENIZE_BATCH} tokens per call`, 'tokens');
      await usableKey();
      const parsed = tokens.map((token) => (typeof token === 'string' ? tokenPattern.exec(token) : null));
      const wanted = [...new Set(parsed.flatMap((m) => (m ? [m[0]] : [])))];
      const rows = wanted.length === 0 ? [] : await db.selectFrom('screen_tokens').select(['token', 'type', 'value']).where('key_name', '=', keyName).where('token', 'in', wanted).execute();
      const byToken = new Map<string, DetokenizeResult>();
      for (const row of rows) {
        try {
          const plaintext = await barrier.decrypt(row.value, contextOf(row.token));
          try {
            byToken.set(row.token, { ok: true, value: plaintext.toString('utf8'), type: row.type });
          } finally {
            plaintext.fill(0);
          }
        } catch (err) {
          if (!isWardenError(err)) throw err;
          byToken.set(row.token, { ok: false, error: err });
        }
      }
      const results = parsed.map((m): DetokenizeResult => {
        const found = m ? byToken.get(m[0]) : undefined;
        // The stored type must be the token's own (a row is only ever written under its token).
        if (!m || !found || (found.ok && found.type !== m[1])) return { ok: false, error: notFound() };
        return found;
      });
      await record(results, ctx);
      return results;
    },
  };
}
