/**
 * HSM-resident KMS keys over PKCS#11 (graphene-pk11), for the key management service when the seal is
 * a PKCS#11 token. Keys are generated inside the token as token objects under a caller-chosen label;
 * secret and private keys are private, sensitive and non-extractable, so their material never leaves
 * the token, and every operation (AES-256-GCM, HMAC-SHA256, Ed25519, ECDSA P-256) runs inside it.
 * Public keys are returned once, at generation, as SPKI DER; verification happens in software.
 *
 * A store keeps ONE logged-in read-write session open for its lifetime. graphene is synchronous, so
 * calls never interleave. Cryptoki may already be initialized in this process (the pkcs11 seal works
 * over the same library); the store finalizes only if it initialized, and logs out only if it logged
 * in. If the session is lost underneath it (another component finalized Cryptoki or closed all
 * sessions), the next call reconnects once and retries. Keys are looked up by label once per
 * connection and checked before use: a secret or private key that is not sensitive and
 * non-extractable, or is not one of the four key types, is refused.
 */
import { createPublicKey, randomBytes } from 'node:crypto';
import {
  AesGcmParams,
  KeyType as CkKeyType,
  MechanismEnum,
  Module,
  ObjectClass,
  SessionFlag,
  UserType,
  type IAlgorithm,
  type Key,
  type Session,
  type SessionObject,
} from 'graphene-pk11';

import { WardenError } from '../errors/index.js';
import { ckr, findTokenSlot, hsmUnavailable, ignoreErrors, loginError } from '../seal/pkcs11-token.js';
import type { KeyType } from './types.js';

export interface HsmKeyConfig {
  library: string;
  tokenLabel: string;
  pin: string;
}

export interface HsmKeyStore {
  /**
   * Generates a key of `type` inside the token under `label` (token object, private, sensitive,
   * non-extractable; for asymmetric types the public key object is a token object too). Returns the
   * public key as SPKI DER for ed25519 and ecdsa-p256. Throws WARDEN_CONFLICT if `label` is in use and
   * WARDEN_SEAL_HSM_UNAVAILABLE when the token cannot do it.
   */
  generate(type: KeyType, label: string): { publicKeySpki?: Buffer };
  /** AES-256-GCM inside the token with a caller-chosen 12-byte IV and AAD; returns ciphertext || tag (16). */
  encrypt(label: string, iv: Buffer, plaintext: Buffer, aad: Buffer): Buffer;
  /** Inverse of encrypt; every failure other than an unavailable HSM is one generic WARDEN_KMS_DECRYPT_FAILED. */
  decrypt(label: string, iv: Buffer, ciphertextAndTag: Buffer, aad: Buffer): Buffer;
  /** HMAC-SHA256 (CKM_SHA256_HMAC) with a 32-byte generic-secret key generated in the token. */
  hmac(label: string, data: Buffer): Buffer;
  /**
   * ed25519: signs the message (CKM_EDDSA). ecdsa-p256: signs the given 32-byte SHA-256 digest
   * (CKM_ECDSA) and returns the signature DER-encoded, as node:crypto's `verify('sha256', ...)` expects.
   */
  sign(label: string, type: 'ed25519' | 'ecdsa-p256', data: Buffer): Buffer;
  /** Destroys every object labelled `label` (crypto-shredding); idempotent. */
  destroy(label: string): void;
  /** Whether a secret or private key labelled `label` exists and all such keys are sensitive and non-extractable. */
  isResident(label: string): boolean;
  /** Logs out (if this store logged in), closes the session and finalizes (if this store initialized). Idempotent. */
  close(): void;
}

/** The one generic decryption failure: a bad tag, a wrong key, AAD or IV and malformed input all look alike. */
const decryptFailed = (): WardenError => new WardenError('WARDEN_KMS_DECRYPT_FAILED', 'decryption failed');

/** Largest input to one operation; the API's body limit is far below this. */
export const HSM_MAX_DATA_BYTES = 1024 * 1024;

const IV_BYTES = 12;
const TAG_BYTES = 16;
const AES_KEY_BYTES = 32;
const HMAC_KEY_BYTES = 32;
const SHA256_BYTES = 32;
const LABEL = /^[\x20-\x7e]{1,128}$/;

// PKCS#11 3.0 values graphene does not name.
const CKK_EC_EDWARDS = 0x40;
const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
const CKM_EDDSA = 0x1057;
const CKA_EC_PARAMS = 0x180;
const CKA_EC_POINT = 0x181;

/** DER of OID 1.3.101.112 (Ed25519), and the printable-string form some tokens report instead. */
const ED25519_PARAMS = Buffer.from('06032b6570', 'hex');
const ED25519_PARAMS_NAME = Buffer.from('130c' + Buffer.from('edwards25519').toString('hex'), 'hex');
/** DER of OID 1.2.840.10045.3.1.7 (P-256). */
const P256_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');
/** SPKI DER up to the BIT STRING contents, for a 32-byte Ed25519 key and a 65-byte uncompressed P-256 point. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

/** Mechanisms each key type needs: [generation, use]. */
const MECHANISMS: Record<KeyType, { gen: number; use: number; names: string }> = {
  'aes256-gcm': { gen: MechanismEnum.AES_KEY_GEN, use: MechanismEnum.AES_GCM, names: 'CKM_AES_KEY_GEN and CKM_AES_GCM' },
  'hmac-sha256': {
    gen: MechanismEnum.GENERIC_SECRET_KEY_GEN,
    use: MechanismEnum.SHA256_HMAC,
    names: 'CKM_GENERIC_SECRET_KEY_GEN and CKM_SHA256_HMAC',
  },
  ed25519: { gen: CKM_EC_EDWARDS_KEY_PAIR_GEN, use: CKM_EDDSA, names: 'CKM_EC_EDWARDS_KEY_PAIR_GEN and CKM_EDDSA' },
  'ecdsa-p256': { gen: MechanismEnum.EC_KEY_PAIR_GEN, use: MechanismEnum.ECDSA, names: 'CKM_EC_KEY_PAIR_GEN and CKM_ECDSA' },
};

/**
 * The session is gone or unusable: reconnect and retry once. CKR_OPERATION_ACTIVE means an earlier call
 * failed in a way that left its operation open; only closing the session ends it.
 */
const CONNECTION_LOST = new Set([
  'CKR_OPERATION_ACTIVE',
  'CKR_CRYPTOKI_NOT_INITIALIZED',
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_SESSION_CLOSED',
  'CKR_USER_NOT_LOGGED_IN',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_DEVICE_REMOVED',
]);
/** A cached object handle is gone: look the key up again and retry once. */
const STALE_HANDLE = new Set(['CKR_OBJECT_HANDLE_INVALID', 'CKR_KEY_HANDLE_INVALID']);

interface ResolvedKey {
  readonly key: Key;
  readonly type: KeyType;
}

/** Opens the token, logs in and returns the store; throws WARDEN_SEAL_HSM_UNAVAILABLE or the seal's login error. */
export function openHsmKeyStore(config: HsmKeyConfig): HsmKeyStore {
  checkConfig(config);
  const { library, tokenLabel, pin } = config;

  let mod: Module;
  try {
    mod = Module.load(library);
  } catch (err) {
    throw hsmUnavailable(`could not load PKCS#11 library ${library}`, config, err);
  }
  let ownsInit = false;
  let loggedIn = false;
  let session: Session | undefined;
  let mechanisms = new Set<number>();
  let closed = false;
  const keys = new Map<string, ResolvedKey>();

  function connect(): Session {
    try {
      mod.lib.C_Initialize();
      ownsInit = true;
      loggedIn = false;
    } catch (err) {
      // Someone else in this process already initialized this library: use it, don't finalize it.
      if (ckr(err) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') {
        throw hsmUnavailable(`could not initialize PKCS#11 library ${library}`, config, err);
      }
    }
    const slot = findTokenSlot(mod, config);
    let opened: Session;
    try {
      mechanisms = new Set(Array.from(slot.getMechanisms(), (m) => m.type as number));
      opened = slot.open(SessionFlag.RW_SESSION | SessionFlag.SERIAL_SESSION);
    } catch (err) {
      throw hsmUnavailable(`could not open a session on HSM token "${tokenLabel}"`, config, err);
    }
    try {
      opened.login(pin, UserType.USER);
      loggedIn = true;
    } catch (err) {
      const code = ckr(err);
      // Login state is per application: another session of this process is already logged in.
      if (code !== 'CKR_USER_ALREADY_LOGGED_IN') {
        ignoreErrors(() => opened.close());
        throw loginError(err, config);
      }
    }
    session = opened;
    return opened;
  }

  /** Forget the session after it was lost underneath us; `connect` opens a new one. */
  function disconnect(code: string): void {
    if (session !== undefined) {
      const lost = session;
      ignoreErrors(() => lost.close());
    }
    session = undefined;
    keys.clear();
    if (code === 'CKR_CRYPTOKI_NOT_INITIALIZED') {
      // Someone finalized Cryptoki: nothing of ours (initialization, login) survives.
      ownsInit = false;
      loggedIn = false;
    }
  }

  function teardown(): void {
    const current = session;
    session = undefined;
    keys.clear();
    if (current !== undefined) {
      if (loggedIn) ignoreErrors(() => current.logout());
      ignoreErrors(() => current.close());
    }
    loggedIn = false;
    if (ownsInit) ignoreErrors(() => mod.finalize());
    ownsInit = false;
    ignoreErrors(() => mod.close());
  }

  /** Run `fn` on the session, reconnecting or re-resolving once if the session or a handle went stale. */
  function run<T>(what: string, fn: (s: Session) => T): T {
    if (closed) throw hsmUnavailable('the HSM key store is closed', config);
    for (let attempt = 0; ; attempt++) {
      try {
        return fn(session ?? connect());
      } catch (err) {
        if (err instanceof WardenError) throw err;
        const code = ckr(err);
        if (attempt === 0 && code !== undefined && STALE_HANDLE.has(code)) {
          keys.clear();
          continue;
        }
        if (attempt === 0 && code !== undefined && CONNECTION_LOST.has(code)) {
          disconnect(code);
          continue;
        }
        throw hsmUnavailable(`HSM ${what} failed on token "${tokenLabel}"`, config, err);
      }
    }
  }

  /** The usable key labelled `label`, checked; undefined if there is none. PKCS#11 errors propagate raw to `run`. */
  function resolve(s: Session, label: string): ResolvedKey | undefined {
    const cached = keys.get(label);
    // A handle may be reused for another object once its key is destroyed elsewhere: re-check the label.
    if (cached !== undefined && cached.key.getAttribute({ label: null }).label === label) return cached;
    keys.delete(label);
    const candidates = usageKeys(s, label);
    if (candidates.length === 0) return undefined;
    if (candidates.length > 1) {
      throw hsmUnavailable(`more than one HSM key is labelled "${label}"; refusing to use any of them`, config);
    }
    const key = candidates[0]!.toType<Key>();
    const type = residentKeyType(key);
    if (type === undefined) {
      throw hsmUnavailable(
        `HSM key "${label}" is not a sensitive, non-extractable key of a supported type; refusing to use it`,
        config,
      );
    }
    const resolved = { key, type };
    keys.set(label, resolved);
    return resolved;
  }

  function keyFor(s: Session, label: string, type: KeyType): Key {
    const resolved = resolve(s, label);
    if (resolved === undefined) {
      throw new WardenError('WARDEN_NOT_FOUND', `HSM key "${label}" not found`, { details: { label } });
    }
    if (resolved.type !== type) {
      throw new WardenError('WARDEN_VALIDATION_FAILED', `HSM key "${label}" is a ${resolved.type} key, not ${type}`, {
        details: { label },
      });
    }
    return resolved.key;
  }

  // Open eagerly, so a wrong PIN or a missing token fails here rather than on first use.
  try {
    connect();
  } catch (err) {
    teardown();
    throw err;
  }

  return {
    generate(type, label) {
      checkLabel(label);
      if (!Object.hasOwn(MECHANISMS, type)) throw new WardenError('WARDEN_VALIDATION_FAILED', 'unknown key type');
      return run(`${type} key generation`, (s) => {
        const needed = MECHANISMS[type];
        if (!mechanisms.has(needed.gen) || !mechanisms.has(needed.use)) {
          throw hsmUnavailable(`HSM token "${tokenLabel}" cannot hold ${type} keys: it lacks ${needed.names}`, config);
        }
        if (s.find({ label }).length > 0) {
          throw new WardenError('WARDEN_CONFLICT', `an HSM object labelled "${label}" already exists`, { details: { label } });
        }
        keys.delete(label);
        return generateKey(s, type, label, config);
      });
    },

    encrypt(label, iv, plaintext, aad) {
      checkLabel(label);
      checkIv(iv);
      checkData(plaintext, 'plaintext');
      checkData(aad, 'AAD');
      return run('encryption', (s) => {
        const key = keyFor(s, label, 'aes256-gcm');
        const cipher = s.createCipher(gcm(iv, aad), key);
        // pkcs11js passes an empty buffer as NULL, which C_Encrypt refuses; the multi-part final gives just the tag.
        const out =
          plaintext.length === 0 ? cipher.final() : cipher.once(plaintext, Buffer.alloc(plaintext.length + TAG_BYTES + 64));
        if (out.length !== plaintext.length + TAG_BYTES) {
          throw hsmUnavailable('HSM returned an unexpected AES-GCM ciphertext length', config);
        }
        return Buffer.from(out);
      });
    },

    decrypt(label, iv, ciphertextAndTag, aad) {
      checkLabel(label);
      const malformed =
        !Buffer.isBuffer(iv) ||
        !Buffer.isBuffer(ciphertextAndTag) ||
        !Buffer.isBuffer(aad) ||
        iv.length !== IV_BYTES ||
        ciphertextAndTag.length < TAG_BYTES ||
        ciphertextAndTag.length > HSM_MAX_DATA_BYTES + TAG_BYTES ||
        aad.length > HSM_MAX_DATA_BYTES;
      if (malformed) throw decryptFailed();
      return run('decryption', (s) => {
        const resolved = resolve(s, label);
        if (resolved === undefined || resolved.type !== 'aes256-gcm') throw decryptFailed();
        const buffer = Buffer.alloc(ciphertextAndTag.length + 64);
        try {
          const out = s.createDecipher(gcm(iv, aad), resolved.key).once(ciphertextAndTag, buffer);
          if (out.length !== ciphertextAndTag.length - TAG_BYTES) throw decryptFailed();
          // Buffer.alloc is never a slice of the shared pool, so zeroing `buffer` zeroes the only other copy.
          const plaintext = Buffer.alloc(out.length);
          out.copy(plaintext);
          return plaintext;
        } catch (err) {
          const code = ckr(err);
          // A lost session is the HSM's problem, not the ciphertext's: let `run` reconnect or report it.
          if (code !== undefined && (CONNECTION_LOST.has(code) || STALE_HANDLE.has(code))) throw err;
          // Tag mismatch (CKR_ENCRYPTED_DATA_INVALID) or anything else: deliberately generic.
          throw decryptFailed();
        } finally {
          buffer.fill(0);
        }
      });
    },

    hmac(label, data) {
      checkLabel(label);
      checkData(data, 'data');
      return run('HMAC', (s) => {
        const key = keyFor(s, label, 'hmac-sha256');
        const signer = s.createSign({ name: 'SHA256_HMAC', params: null }, key);
        // As for encrypt: an empty input goes through the multi-part final, not C_Sign with a NULL pointer.
        const mac = data.length === 0 ? signer.final() : signer.once(data);
        if (mac.length !== SHA256_BYTES) throw hsmUnavailable('HSM returned an unexpected HMAC length', config);
        return Buffer.from(mac);
      });
    },

    sign(label, type, data) {
      checkLabel(label);
      if (type === 'ecdsa-p256') {
        if (data.length !== SHA256_BYTES) {
          throw new WardenError('WARDEN_VALIDATION_FAILED', 'ecdsa-p256 signs a 32-byte SHA-256 digest');
        }
      } else if (type === 'ed25519') {
        checkData(data, 'message');
        // EdDSA is single-part in PKCS#11 and pkcs11js passes an empty buffer as NULL, which C_Sign refuses.
        if (data.length === 0) throw new WardenError('WARDEN_VALIDATION_FAILED', 'an HSM Ed25519 key cannot sign an empty message');
      } else {
        throw new WardenError('WARDEN_VALIDATION_FAILED', 'sign needs an ed25519 or ecdsa-p256 key');
      }
      return run('signing', (s) => {
        const key = keyFor(s, label, type);
        if (type === 'ed25519') {
          const sig = s.createSign({ name: CKM_EDDSA, params: null }, key).once(data);
          if (sig.length !== 64) throw hsmUnavailable('HSM returned an unexpected Ed25519 signature length', config);
          return Buffer.from(sig);
        }
        return ecdsaSignatureToDer(s.createSign({ name: 'ECDSA', params: null }, key).once(data));
      });
    },

    destroy(label) {
      checkLabel(label);
      run('key destruction', (s) => {
        keys.delete(label);
        const found = s.find({ label });
        for (let i = 0; i < found.length; i++) found.items(i).destroy();
      });
    },

    isResident(label) {
      checkLabel(label);
      return run('key lookup', (s) => {
        const candidates = usageKeys(s, label);
        return (
          candidates.length > 0 &&
          candidates.every((o) => {
            const a = o.getAttribute({ sensitive: null, extractable: null });
            return a.sensitive === true && a.extractable === false;
          })
        );
      });
    },

    close() {
      if (closed) return;
      closed = true;
      teardown();
    },
  };
}

function generateKey(s: Session, type: KeyType, label: string, config: HsmKeyConfig): { publicKeySpki?: Buffer } {
  const secret = {
    class: ObjectClass.SECRET_KEY,
    label,
    token: true,
    private: true,
    sensitive: true,
    extractable: false,
    wrap: false,
    unwrap: false,
    derive: false,
  };
  if (type === 'aes256-gcm') {
    s.generateKey(MechanismEnum.AES_KEY_GEN, {
      ...secret,
      keyType: CkKeyType.AES,
      valueLen: AES_KEY_BYTES,
      encrypt: true,
      decrypt: true,
      sign: false,
      verify: false,
    });
    return {};
  }
  if (type === 'hmac-sha256') {
    s.generateKey(MechanismEnum.GENERIC_SECRET_KEY_GEN, {
      ...secret,
      keyType: CkKeyType.GENERIC_SECRET,
      valueLen: HMAC_KEY_BYTES,
      encrypt: false,
      decrypt: false,
      sign: true,
      verify: false,
    });
    return {};
  }
  const ed = type === 'ed25519';
  const keyType = ed ? CKK_EC_EDWARDS : CkKeyType.EC;
  // One random CKA_ID ties the two halves together, as PKCS#11 applications expect.
  const id = randomBytes(16);
  const pair = s.generateKeyPair(
    { name: ed ? CKM_EC_EDWARDS_KEY_PAIR_GEN : MechanismEnum.EC_KEY_PAIR_GEN, params: null },
    {
      class: ObjectClass.PUBLIC_KEY,
      keyType,
      label,
      id,
      token: true,
      private: false,
      verify: true,
      encrypt: false,
      wrap: false,
      derive: false,
      paramsEC: ed ? ED25519_PARAMS : P256_PARAMS,
    },
    {
      class: ObjectClass.PRIVATE_KEY,
      keyType,
      label,
      id,
      token: true,
      private: true,
      sensitive: true,
      extractable: false,
      sign: true,
      decrypt: false,
      unwrap: false,
      derive: false,
    },
  );
  try {
    const point = pair.publicKey.getAttribute(CKA_EC_POINT);
    return { publicKeySpki: ed ? ed25519Spki(point) : p256Spki(point) };
  } catch (err) {
    // Don't leave a key pair behind whose public half nobody has.
    ignoreErrors(() => pair.privateKey.destroy());
    ignoreErrors(() => pair.publicKey.destroy());
    if (err instanceof WardenError) throw err;
    throw hsmUnavailable(`could not read the public key of the new ${type} key`, config, err);
  }
}

/** The secret and private key objects labelled `label` (not the public halves). */
function usageKeys(s: Session, label: string): SessionObject[] {
  const found = s.find({ label });
  const out: SessionObject[] = [];
  for (let i = 0; i < found.length; i++) {
    const o = found.items(i);
    const cls = o.getAttribute({ class: null }).class;
    if (cls === ObjectClass.SECRET_KEY || cls === ObjectClass.PRIVATE_KEY) out.push(o);
  }
  return out;
}

/** The KMS key type of a resident key, or undefined if it is not sensitive, non-extractable and one of ours. */
function residentKeyType(key: Key): KeyType | undefined {
  const a = key.getAttribute({ class: null, keyType: null, sensitive: null, extractable: null });
  if (a.sensitive !== true || a.extractable !== false) return undefined;
  if (a.class === ObjectClass.SECRET_KEY) {
    const len = key.getAttribute({ valueLen: null }).valueLen;
    if (a.keyType === CkKeyType.AES && len === AES_KEY_BYTES) return 'aes256-gcm';
    if (a.keyType === CkKeyType.GENERIC_SECRET && len === HMAC_KEY_BYTES) return 'hmac-sha256';
    return undefined;
  }
  if (a.class === ObjectClass.PRIVATE_KEY) {
    const params = key.getAttribute(CKA_EC_PARAMS);
    if (a.keyType === CKK_EC_EDWARDS && (params.equals(ED25519_PARAMS) || params.equals(ED25519_PARAMS_NAME))) return 'ed25519';
    if (a.keyType === CkKeyType.EC && params.equals(P256_PARAMS)) return 'ecdsa-p256';
  }
  return undefined;
}

/** CKA_EC_POINT is a DER OCTET STRING of the point (PKCS#11 2.40+); some tokens give the raw point. */
function rawPoint(point: Buffer, length: number): Buffer | undefined {
  if (point.length === length) return point;
  if (point.length === length + 2 && point[0] === 0x04 && point[1] === length) return point.subarray(2);
  return undefined;
}

function ed25519Spki(point: Buffer): Buffer {
  const raw = rawPoint(point, 32);
  if (raw === undefined) throw new WardenError('WARDEN_SEAL_HSM_UNAVAILABLE', 'HSM returned a malformed Ed25519 public key');
  return checkedSpki(Buffer.concat([ED25519_SPKI_PREFIX, raw]), 'ed25519');
}

function p256Spki(point: Buffer): Buffer {
  const raw = rawPoint(point, 65);
  if (raw?.[0] !== 0x04) throw new WardenError('WARDEN_SEAL_HSM_UNAVAILABLE', 'HSM returned a malformed P-256 public key');
  return checkedSpki(Buffer.concat([P256_SPKI_PREFIX, raw]), 'ec');
}

/** node:crypto must accept the SPKI as the expected key type (for P-256 this also checks the point is on the curve). */
function checkedSpki(spki: Buffer, type: 'ed25519' | 'ec'): Buffer {
  try {
    if (createPublicKey({ key: spki, format: 'der', type: 'spki' }).asymmetricKeyType === type) return spki;
  } catch {
    // fall through
  }
  throw new WardenError('WARDEN_SEAL_HSM_UNAVAILABLE', 'HSM returned a public key node:crypto does not accept');
}

/**
 * PKCS#11 ECDSA signatures are r || s (32 bytes each for P-256); node:crypto wants DER SEQUENCE { r, s }
 * with minimal, non-negative INTEGERs. Exported for its edge-case tests (leading zeros, high bits).
 */
export function ecdsaSignatureToDer(raw: Buffer): Buffer {
  if (raw.length !== 64) throw new WardenError('WARDEN_SEAL_HSM_UNAVAILABLE', 'HSM returned an unexpected ECDSA signature length');
  const body = Buffer.concat([derInteger(raw.subarray(0, 32)), derInteger(raw.subarray(32))]);
  return Buffer.concat([Buffer.of(0x30, body.length), body]);
}

function derInteger(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const value = bytes.subarray(start);
  const pad = (value[0]! & 0x80) !== 0 ? Buffer.of(0) : Buffer.alloc(0);
  return Buffer.concat([Buffer.of(0x02, value.length + pad.length), pad, value]);
}

function gcm(iv: Buffer, aad: Buffer): IAlgorithm {
  return { name: 'AES_GCM', params: new AesGcmParams(iv, aad, TAG_BYTES * 8) };
}

function checkConfig(config: HsmKeyConfig): void {
  if (typeof config.pin !== 'string' || config.pin === '') {
    throw new WardenError('WARDEN_SEAL_SECRET_MISSING', 'HSM user PIN is missing');
  }
  if (typeof config.library !== 'string' || config.library === '') {
    throw new WardenError('WARDEN_CONFIG_INVALID', 'HSM key store: library must be the path of a PKCS#11 library');
  }
  if (typeof config.tokenLabel !== 'string' || config.tokenLabel.trim() === '' || config.tokenLabel.length > 32) {
    throw new WardenError('WARDEN_CONFIG_INVALID', 'HSM key store: tokenLabel must be 1 to 32 characters');
  }
}

function checkLabel(label: string): void {
  if (typeof label !== 'string' || !LABEL.test(label)) {
    throw new WardenError('WARDEN_VALIDATION_FAILED', 'HSM key label must be 1 to 128 printable ASCII characters');
  }
}

function checkIv(iv: Buffer): void {
  if (!Buffer.isBuffer(iv) || iv.length !== IV_BYTES) {
    throw new WardenError('WARDEN_VALIDATION_FAILED', `AES-GCM IV must be ${IV_BYTES} bytes`);
  }
}

function checkData(data: Buffer, what: string): void {
  if (!Buffer.isBuffer(data) || data.length > HSM_MAX_DATA_BYTES) {
    throw new WardenError('WARDEN_VALIDATION_FAILED', `${what} must be a buffer of at most ${HSM_MAX_DATA_BYTES} bytes`);
  }
}
