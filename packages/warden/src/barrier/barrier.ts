/**
 * The barrier: encrypts and decrypts sensitive stored values under versioned barrier keys, which are
 * stored in `barrier_keys` wrapped by the root key from the seal. Opening loads and unwraps every
 * version (creating version 1 for an empty keyring); decrypting a value of an unknown version reloads
 * the keyring once (another node rotated). `close()` zeroes all key material held in memory.
 */
import { randomFillSync } from 'node:crypto';
import { WardenError, isWardenError } from '../errors/index.js';
import type { BarrierKeyringRepository } from '../store/index.js';
import { KEY_BYTES, decryptFailed, openValue, parseVersion, sealValue, type BarrierContext } from './ciphertext.js';
import { unwrapBarrierKey, wrapBarrierKey } from './key-wrap.js';

export interface Barrier {
  /** The version new values are encrypted under. */
  readonly latestVersion: number;
  /** Encrypts under the latest version, bound to `context`. */
  encrypt(plaintext: Uint8Array, context: BarrierContext): Buffer;
  /** Decrypts; reloads the keyring once on an unknown version. Any failure → WARDEN_BARRIER_DECRYPT_FAILED. */
  decrypt(ciphertext: Uint8Array, context: BarrierContext): Promise<Buffer>;
  /** The key version a ciphertext was written under (WARDEN_BARRIER_DECRYPT_FAILED when malformed). */
  versionOf(ciphertext: Uint8Array): number;
  /** Adds a new key version and makes it the latest; returns it. Old versions still decrypt. */
  rotate(): Promise<number>;
  /** Reloads the keyring from the store (picks up versions added by other nodes). */
  reload(): Promise<void>;
  /** Zeroes every key held in memory; the barrier is unusable afterwards (WARDEN_SEALED). */
  close(): void;
}

export interface OpenBarrierOptions {
  /** The 32-byte root key from the seal. The barrier keeps its own copy (zeroed on close). */
  readonly rootKey: Uint8Array;
  readonly keyring: BarrierKeyringRepository;
}

const MAX_ROTATE_ATTEMPTS = 5;

export async function openBarrier({ rootKey, keyring }: OpenBarrierOptions): Promise<Barrier> {
  if (rootKey.byteLength !== KEY_BYTES) throw new WardenError('WARDEN_INTERNAL', 'root key must be 32 bytes');
  const root = Buffer.alloc(KEY_BYTES);
  root.set(rootKey);
  const keys = new Map<number, Buffer>();
  let latest = 0;
  let closed = false;
  let reloading: Promise<void> | undefined;

  const assertOpen = () => {
    if (closed) throw new WardenError('WARDEN_SEALED', 'the barrier is closed');
  };

  const load = async (): Promise<void> => {
    const records = await keyring.list();
    assertOpen();
    const fresh = new Map<number, Buffer>();
    try {
      for (const { version, wrapped } of records) {
        fresh.set(version, keys.get(version) ?? unwrapBarrierKey(root, version, wrapped));
      }
    } catch (err) {
      for (const [version, key] of fresh) if (!keys.has(version)) key.fill(0);
      throw err;
    }
    for (const [version, key] of fresh) keys.set(version, key);
    latest = Math.max(latest, ...fresh.keys());
  };

  const reload = (): Promise<void> => {
    reloading ??= load().finally(() => {
      reloading = undefined;
    });
    return reloading;
  };

  /** Creates `version` in the store; false when another node created it first. */
  const create = async (version: number): Promise<boolean> => {
    const key = Buffer.alloc(KEY_BYTES);
    randomFillSync(key);
    try {
      await keyring.insert({ version, wrapped: wrapBarrierKey(root, version, key) });
    } catch (err) {
      key.fill(0);
      if (isWardenError(err, 'WARDEN_STORE_CONFLICT')) return false;
      throw err;
    }
    assertOpen();
    keys.set(version, key);
    latest = Math.max(latest, version);
    return true;
  };

  await load();
  if (keys.size === 0 && !(await create(1))) await load();
  if (keys.size === 0) throw decryptFailed();

  return {
    get latestVersion() {
      return latest;
    },
    encrypt(plaintext, context) {
      assertOpen();
      return sealValue(keys.get(latest)!, latest, plaintext, context);
    },
    async decrypt(ciphertext, context) {
      assertOpen();
      const version = parseVersion(ciphertext);
      if (!keys.has(version)) {
        try {
          await reload();
        } catch (err) {
          if (isWardenError(err, 'WARDEN_SEALED')) throw err;
          throw decryptFailed();
        }
      }
      const key = keys.get(version);
      if (key === undefined) throw decryptFailed();
      return openValue(key, ciphertext, context);
    },
    versionOf(ciphertext) {
      return parseVersion(ciphertext);
    },
    async rotate() {
      assertOpen();
      for (let attempt = 0; attempt < MAX_ROTATE_ATTEMPTS; attempt++) {
        await reload();
        const version = latest + 1;
        if (await create(version)) return version;
      }
      throw new WardenError('WARDEN_STORE_CONFLICT', 'barrier key rotation kept conflicting; retry');
    },
    reload,
    close() {
      closed = true;
      for (const key of keys.values()) key.fill(0);
      keys.clear();
      root.fill(0);
    },
  };
}
