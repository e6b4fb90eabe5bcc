/**
 * The KMS operations agents and admins call: encrypt, decrypt, rewrap, data keys, sign, verify, HMAC
 * and HMAC verification, each over a batch of items with one result per item (one bad item does not
 * fail the others). For each call the steps are: authorize (the one decision point, audited durably
 * before anything happens — so a decrypt or a plaintext data key is on record before it is released),
 * check the key's state, then run the cryptography of the right version. Items with the same action and
 * encryption context share one decision. An unknown key is indistinguishable from a forbidden one
 * (the authorizer cannot resolve it and denies). Every decrypt failure — malformed ciphertext, another
 * key, another context, a version below `minDecryptionVersion`, a bad tag — is the one generic
 * WARDEN_KMS_DECRYPT_FAILED; only the key's and the version's states have their own codes.
 */
import { randomBytes } from 'node:crypto';
import { WardenError, isWardenError } from '../errors/index.js';
import type { AuditActor, Decision } from '../policy/authorizer.js';
import { adminContext } from '../policy/builtin.js';
import type { AuthorizationRequest, AuthorizeOptions, CedarEntity, EntityRef } from '../policy/index.js';
import {
  IV_BYTES,
  ciphertextAad,
  contextBytes,
  decryptFailed,
  formatCiphertext,
  formatTagged,
  keyIdBytes,
  parseCiphertext,
  parseTagged,
  type EncryptionContext,
} from './ciphertext.js';
import { sameMac, type SignInput } from './key-material.js';
import { keyStateError, type KeyInUse, type Keyring, type UsableVersion } from './keyring.js';

export const KEY_ENTITY_TYPE = 'Warden::Key';
export const DATA_KEY_BITS = [128, 256, 512] as const;

/** Who calls: an agent (from its token) or an admin (from the session, with its role entities). */
export interface Caller {
  readonly principal: EntityRef;
  /** Entities the authorizer cannot resolve itself (an admin and its role). */
  readonly entities?: CedarEntity[];
  readonly actor: AuditActor;
  readonly source?: { ip?: string; requestId?: string };
}
export type ItemResult<T> = { ok: true; value: T } | { ok: false; error: WardenError };
export interface OperationResult<T> {
  results: ItemResult<T>[];
  /** The decisions made for the call (one per distinct action and context). */
  decisions: Decision[];
}

export interface EncryptItem { plaintext: Buffer; context?: EncryptionContext }
export interface DecryptItem { ciphertext: string; context?: EncryptionContext }
export interface DataKeyItem { bits: (typeof DATA_KEY_BITS)[number]; plaintext: boolean; context?: EncryptionContext }
export type SignItem = SignInput;
export interface VerifyItem extends SignInput { signature: string }
export interface HmacItem { data: Buffer }
export interface HmacVerifyItem { data: Buffer; hmac: string }

export interface KeyOperations {
  encrypt(caller: Caller, name: string, items: EncryptItem[]): Promise<OperationResult<{ ciphertext: string; keyVersion: number }>>;
  decrypt(caller: Caller, name: string, items: DecryptItem[]): Promise<OperationResult<{ plaintext: Buffer; keyVersion: number }>>;
  rewrap(caller: Caller, name: string, items: DecryptItem[]): Promise<OperationResult<{ ciphertext: string; keyVersion: number }>>;
  dataKey(caller: Caller, name: string, items: DataKeyItem[]): Promise<OperationResult<{ ciphertext: string; keyVersion: number; plaintext?: Buffer }>>;
  sign(caller: Caller, name: string, items: SignItem[]): Promise<OperationResult<{ signature: string; keyVersion: number }>>;
  verify(caller: Caller, name: string, items: VerifyItem[]): Promise<OperationResult<{ valid: boolean; keyVersion: number }>>;
  hmac(caller: Caller, name: string, items: HmacItem[]): Promise<OperationResult<{ hmac: string; keyVersion: number }>>;
  hmacVerify(caller: Caller, name: string, items: HmacVerifyItem[]): Promise<OperationResult<{ valid: boolean; keyVersion: number }>>;
}

export interface KeyOperationsOptions {
  keyring: Pick<Keyring, 'use' | 'recordUse'>;
  authorize: (request: AuthorizationRequest, options: AuthorizeOptions) => Promise<Decision>;
  now?: () => number;
}

const forbidden = (decision: Decision) =>
  new WardenError('WARDEN_FORBIDDEN', 'not permitted by policy', { details: { decisionId: decision.decisionId } });

const versionDisabled = (name: string, version: number) =>
  new WardenError('WARDEN_KMS_VERSION_DISABLED', `version ${version} of key ${name} is disabled`, { details: { name, version } });

/** The policy's view of an encryption context: a set of `{ key, value }`. */
const contextSet = (context: EncryptionContext) => Object.entries(context).map(([key, value]) => ({ key, value }));

export function createKeyOperations({ keyring, authorize, now = Date.now }: KeyOperationsOptions): KeyOperations {
  /**
   * Runs `items` of one call: authorizes each distinct (action, context) once, then calls `work` for
   * each allowed item with the key in use. Errors of one item become that item's result.
   */
  async function run<I, T>(
    caller: Caller,
    name: string,
    items: readonly I[],
    actionOf: (item: I) => string,
    contextOf: (item: I) => EncryptionContext | undefined,
    work: (key: KeyInUse, item: I) => Promise<T>,
  ): Promise<OperationResult<T>> {
    const groups = new Map<string, Promise<Decision>>();
    const base = adminContext(now(), caller.source?.ip);
    const decisionFor = (item: I): Promise<Decision> => {
      const action = actionOf(item);
      const context = contextOf(item);
      const groupKey = `${action}\u0000${context === undefined ? '-' : contextBytes(context).toString('base64')}`;
      let decision = groups.get(groupKey);
      if (!decision) {
        decision = authorize(
          {
            principal: caller.principal,
            action: { type: 'Warden::Action', id: action },
            resource: { type: KEY_ENTITY_TYPE, id: name },
            context: context === undefined ? base : { ...base, encryptionContext: contextSet(context) },
          },
          { actor: caller.actor, ...(caller.source ? { source: caller.source } : {}), ...(caller.entities ? { extraEntities: caller.entities } : {}) },
        );
        groups.set(groupKey, decision);
      }
      return decision;
    };
    // Decisions first, in item order (each is durably audited before any key is touched).
    const decided: Decision[] = [];
    for (const item of items) decided.push(await decisionFor(item));
    let key: KeyInUse | undefined;
    const results: ItemResult<T>[] = [];
    for (const [n, item] of items.entries()) {
      const decision = decided[n]!;
      if (decision.decision !== 'allow') {
        results.push({ ok: false, error: forbidden(decision) });
        continue;
      }
      try {
        key ??= await keyring.use(name);
        const stateError = keyStateError(key.key);
        if (stateError) throw stateError;
        results.push({ ok: true, value: await work(key, item) });
      } catch (err) {
        if (!isWardenError(err)) throw err;
        results.push({ ok: false, error: err });
      }
    }
    return { results, decisions: [...new Set(decided)] };
  }

  /** The latest version, enabled, for new encryptions, signatures and MACs. */
  async function latest(key: KeyInUse): Promise<UsableVersion> {
    const v = await key.version(key.key.latestVersion);
    if (!v) throw new WardenError('WARDEN_INTERNAL', 'the latest key version has no material');
    if (v.state === 'disabled') throw versionDisabled(key.key.name, v.version);
    keyring.recordUse(key.key.id, v.version);
    return v;
  }

  /** A version named by a ciphertext, signature or MAC, if it may still be used to open or check. */
  async function named(key: KeyInUse, version: number, onMissing: () => WardenError): Promise<UsableVersion> {
    if (version < key.key.minDecryptionVersion || version > key.key.latestVersion) throw onMissing();
    const v = await key.version(version);
    if (!v) throw onMissing();
    if (v.state === 'disabled') throw versionDisabled(key.key.name, version);
    keyring.recordUse(key.key.id, version);
    return v;
  }

  function seal(key: KeyInUse, v: UsableVersion, plaintext: Buffer, context: EncryptionContext): string {
    const keyId = keyIdBytes(key.key.id);
    const iv = randomBytes(IV_BYTES);
    const sealed = v.crypto.encrypt(iv, plaintext, ciphertextAad(keyId, v.version, context));
    return formatCiphertext({ keyId, version: v.version, iv, sealed });
  }

  async function open(key: KeyInUse, ciphertext: string, context: EncryptionContext): Promise<{ plaintext: Buffer; keyVersion: number }> {
    const parts = parseCiphertext(ciphertext);
    if (!parts.keyId.equals(keyIdBytes(key.key.id))) throw decryptFailed();
    const v = await named(key, parts.version, decryptFailed);
    const plaintext = v.crypto.decrypt(parts.iv, parts.sealed, ciphertextAad(parts.keyId, parts.version, context));
    return { plaintext, keyVersion: v.version };
  }

  const noContext = () => undefined;
  const itemContext = (item: { context?: EncryptionContext }) => item.context ?? {};
  const notAVersion = () => new WardenError('WARDEN_KMS_UNSUPPORTED_OPERATION', 'the value does not name a usable key version');

  return {
    encrypt: (caller, name, items) =>
      run(caller, name, items, () => 'kms:encrypt', itemContext, async (key, item) => {
        const v = await latest(key);
        return { ciphertext: seal(key, v, item.plaintext, itemContext(item)), keyVersion: v.version };
      }),
    decrypt: (caller, name, items) => run(caller, name, items, () => 'kms:decrypt', itemContext, (key, item) => open(key, item.ciphertext, itemContext(item))),
    rewrap: (caller, name, items) =>
      run(caller, name, items, () => 'kms:rewrap', itemContext, async (key, item) => {
        const { plaintext } = await open(key, item.ciphertext, itemContext(item));
        try {
          const v = await latest(key);
          return { ciphertext: seal(key, v, plaintext, itemContext(item)), keyVersion: v.version };
        } finally {
          plaintext.fill(0);
        }
      }),
    dataKey: (caller, name, items) =>
      run(
        caller,
        name,
        items,
        (item) => (item.plaintext ? 'kms:generate_data_key_plaintext' : 'kms:generate_data_key'),
        itemContext,
        async (key, item) => {
          const v = await latest(key);
          const dataKey = randomBytes(item.bits / 8);
          const ciphertext = seal(key, v, dataKey, itemContext(item));
          if (item.plaintext) return { ciphertext, keyVersion: v.version, plaintext: dataKey };
          dataKey.fill(0);
          return { ciphertext, keyVersion: v.version };
        },
      ),
    sign: (caller, name, items) =>
      run(caller, name, items, () => 'kms:sign', noContext, async (key, item) => {
        const v = await latest(key);
        return { signature: formatTagged(v.version, v.crypto.sign(item)), keyVersion: v.version };
      }),
    verify: (caller, name, items) =>
      run(caller, name, items, () => 'kms:verify', noContext, async (key, item) => {
        const parsed = parseTagged(item.signature);
        if (!parsed) throw notAVersion();
        const v = await named(key, parsed.version, notAVersion);
        return { valid: v.crypto.verify(item, parsed.bytes), keyVersion: v.version };
      }),
    hmac: (caller, name, items) =>
      run(caller, name, items, () => 'kms:hmac', noContext, async (key, item) => {
        const v = await latest(key);
        return { hmac: formatTagged(v.version, v.crypto.hmac(item.data)), keyVersion: v.version };
      }),
    hmacVerify: (caller, name, items) =>
      run(caller, name, items, () => 'kms:hmac_verify', noContext, async (key, item) => {
        const parsed = parseTagged(item.hmac);
        if (!parsed) throw notAVersion();
        const v = await named(key, parsed.version, notAVersion);
        return { valid: sameMac(v.crypto.hmac(item.data), parsed.bytes), keyVersion: v.version };
      }),
  };
}
