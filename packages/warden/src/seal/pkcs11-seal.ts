/**
 * The `pkcs11` seal: the root key is random and is stored only encrypted (CKM_AES_GCM, 12-byte random
 * IV, 128-bit tag) by a 256-bit AES key that lives inside a PKCS#11 token and never leaves it
 * (token, private, sensitive, non-extractable). Initialize finds the key by label or generates it
 * in the token; unseal decrypts inside the token over a read-only session. Each operation loads the
 * library, initializes Cryptoki, logs in, works and then logs out, closes the session and finalizes
 * (only if it was this call that initialized Cryptoki) in `finally`; there are no module-level
 * singletons and no awaits between initialize and finalize, so operations never interleave.
 */
import { randomBytes } from 'node:crypto';
import {
  AesGcmParams,
  KeyGenMechanism,
  KeyType,
  Module,
  ObjectClass,
  type SecretKey,
  SessionFlag,
  UserType,
  type IAlgorithm,
  type Session,
} from 'graphene-pk11';
import { z } from 'zod';

import type { SealConfig } from '../config/schema.js';
import { WardenError } from '../errors/index.js';
import type { Seal } from './seal.js';
import { readSealFile, sealPathExists, writeSealFileExclusive } from './seal-file.js';
import { ckr, findTokenSlot, hsmUnavailable, ignoreErrors, loginError } from './pkcs11-token.js';
import {
  base64Bytes,
  corruptSeal,
  encodeSealJson,
  MAX_SEAL_JSON_BYTES,
  parseSealJson,
  ROOT_KEY_BYTES,
} from './seal-material.js';

export type Pkcs11SealConfig = Extract<SealConfig, { kind: 'pkcs11' }>;

const IV_BYTES = 12;
const TAG_BITS = 128;
const CIPHERTEXT_BYTES = ROOT_KEY_BYTES + TAG_BITS / 8;
const AAD = Buffer.from('warden-seal:pkcs11:v1', 'utf8');

const pkcs11SealFileSchema = z.strictObject({
  version: z.literal(1),
  kind: z.literal('pkcs11'),
  tokenLabel: z.string().min(1).max(32),
  keyLabel: z.string().min(1).max(128),
  mechanism: z.literal('CKM_AES_GCM'),
  iv: base64Bytes(IV_BYTES),
  ciphertext: base64Bytes(CIPHERTEXT_BYTES),
});

export function createPkcs11Seal(config: Pkcs11SealConfig, pin: string | undefined): Seal {
  const { path } = config;

  function requirePin(): string {
    if (pin === undefined || pin === '') {
      throw new WardenError('WARDEN_SEAL_SECRET_MISSING', 'HSM user PIN is missing', { details: { env: config.pinEnv } });
    }
    return pin;
  }

  return {
    kind: 'pkcs11',
    exists: () => sealPathExists(path),

    async initialize() {
      const userPin = requirePin();
      if (await sealPathExists(path)) {
        throw new WardenError('WARDEN_SEAL_EXISTS', `seal material already exists at ${path}; refusing to overwrite it`, {
          details: { path },
        });
      }
      const rootKey = randomBytes(ROOT_KEY_BYTES);
      try {
        const iv = randomBytes(IV_BYTES);
        const ciphertext = withTokenSession(config, userPin, 'initialize', (session) => {
          const key = findSealKey(session, config) ?? generateSealKey(session, config);
          const out = session.createCipher(gcm(iv), key).once(rootKey, Buffer.alloc(CIPHERTEXT_BYTES + 64));
          if (out.length !== CIPHERTEXT_BYTES) {
            throw new WardenError('WARDEN_SEAL_HSM_UNAVAILABLE', 'HSM returned an unexpected AES-GCM ciphertext length');
          }
          return Buffer.from(out);
        });
        await writeSealFileExclusive(
          path,
          encodeSealJson({
            version: 1,
            kind: 'pkcs11',
            tokenLabel: config.tokenLabel,
            keyLabel: config.keyLabel,
            mechanism: 'CKM_AES_GCM',
            iv: iv.toString('base64'),
            ciphertext: ciphertext.toString('base64'),
          }),
        );
        return rootKey;
      } catch (err) {
        rootKey.fill(0);
        throw err;
      }
    },

    async unseal() {
      const userPin = requirePin();
      const raw = await readSealFile(path, MAX_SEAL_JSON_BYTES);
      const material = parseSealJson(raw, pkcs11SealFileSchema, path, 'PIN');
      if (material.tokenLabel !== config.tokenLabel || material.keyLabel !== config.keyLabel) {
        throw new WardenError(
          'WARDEN_SEAL_UNSEAL_FAILED',
          'unseal failed: the seal was created with a different token or key label than the configuration names',
          { details: { path } },
        );
      }
      return withTokenSession(config, userPin, 'unseal', (session) => {
        const key = findSealKey(session, config);
        if (key === undefined) {
          throw new WardenError('WARDEN_SEAL_HSM_UNAVAILABLE', `HSM key "${config.keyLabel}" not found in token "${config.tokenLabel}"`, {
            details: { tokenLabel: config.tokenLabel, keyLabel: config.keyLabel },
          });
        }
        let rootKey: Buffer;
        try {
          const out = session.createDecipher(gcm(material.iv), key).once(material.ciphertext, Buffer.alloc(CIPHERTEXT_BYTES + 64));
          rootKey = Buffer.from(out);
          out.fill(0);
        } catch (err) {
          // GCM authentication failed inside the token: tampered material. Deliberately generic.
          throw corruptSeal(path, 'PIN', err);
        }
        if (rootKey.length !== ROOT_KEY_BYTES) {
          rootKey.fill(0);
          throw corruptSeal(path, 'PIN');
        }
        return rootKey;
      });
    },
  };
}

function gcm(iv: Buffer): IAlgorithm {
  return { name: 'AES_GCM', params: new AesGcmParams(iv, AAD, TAG_BITS) };
}

/**
 * Load the library, initialize Cryptoki, open a session on the token labelled `config.tokenLabel`,
 * log in as User, run `fn`, and tear everything down again whatever happens. Synchronous on purpose.
 */
function withTokenSession<T>(config: Pkcs11SealConfig, pin: string, op: 'initialize' | 'unseal', fn: (session: Session) => T): T {
  let mod: Module;
  try {
    mod = Module.load(config.library);
  } catch (err) {
    throw hsmUnavailable(`could not load PKCS#11 library ${config.library}`, config, err);
  }
  let ownsInit = false;
  try {
    try {
      mod.lib.C_Initialize();
      ownsInit = true;
    } catch (err) {
      // Someone else in this process already initialized this library: use it, don't finalize it.
      if (ckr(err) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') {
        throw hsmUnavailable(`could not initialize PKCS#11 library ${config.library}`, config, err);
      }
    }
    const slot = findTokenSlot(mod, config);
    let session: Session;
    try {
      // unseal never writes, so it only needs a read-only session.
      session = slot.open(op === 'initialize' ? SessionFlag.RW_SESSION | SessionFlag.SERIAL_SESSION : SessionFlag.SERIAL_SESSION);
    } catch (err) {
      throw hsmUnavailable(`could not open a session on HSM token "${config.tokenLabel}"`, config, err);
    }
    let loggedIn = false;
    try {
      try {
        session.login(pin, UserType.USER);
        loggedIn = true;
      } catch (err) {
        const code = ckr(err);
        // Login state is per application: another session of this process is already logged in.
        if (code !== 'CKR_USER_ALREADY_LOGGED_IN') throw loginError(err, config, op === 'unseal' ? 'unseal failed: wrong PIN or corrupted seal' : undefined);
      }
      return fn(session);
    } finally {
      if (loggedIn) ignoreErrors(() => session.logout());
      ignoreErrors(() => session.close());
    }
  } catch (err) {
    if (err instanceof WardenError) throw err;
    throw hsmUnavailable(`HSM operation failed on token "${config.tokenLabel}"`, config, err);
  } finally {
    if (ownsInit) ignoreErrors(() => mod.finalize());
    ignoreErrors(() => mod.close());
  }
}


/** The seal key by label, checked to be a sensitive, non-extractable AES-256 key; undefined if absent. */
function findSealKey(session: Session, config: Pkcs11SealConfig): SecretKey | undefined {
  const found = session.find({ class: ObjectClass.SECRET_KEY, label: config.keyLabel });
  if (found.length === 0) return undefined;
  if (found.length > 1) {
    throw hsmUnavailable(`more than one HSM key is labelled "${config.keyLabel}"`, config);
  }
  const key = found.items(0).toType<SecretKey>();
  const attrs = key.getAttribute({ keyType: null, valueLen: null, sensitive: null, extractable: null });
  if (attrs.keyType !== KeyType.AES || attrs.valueLen !== 32 || attrs.sensitive !== true || attrs.extractable !== false) {
    throw hsmUnavailable(
      `HSM key "${config.keyLabel}" is not a sensitive, non-extractable AES-256 key; refusing to use it`,
      config,
    );
  }
  return key;
}

function generateSealKey(session: Session, config: Pkcs11SealConfig): SecretKey {
  return session.generateKey(KeyGenMechanism.AES, {
    class: ObjectClass.SECRET_KEY,
    keyType: KeyType.AES,
    label: config.keyLabel,
    valueLen: 32,
    token: true,
    private: true,
    sensitive: true,
    extractable: false,
    encrypt: true,
    decrypt: true,
    wrap: false,
    unwrap: false,
    sign: false,
    verify: false,
    derive: false,
  });
}
