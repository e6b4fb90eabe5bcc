/**
 * The Seal interface and its factory. A seal protects exactly one thing, Warden's 32-byte root key:
 * `initialize` makes a fresh one and writes the protected form (the "seal material") to the
 * configured path, `unseal` recovers it. Three kinds implement it: `file` (the raw key in a 0600
 * file), `passphrase` (wrapped under a scrypt-derived key) and `pkcs11` (wrapped inside an HSM by a
 * non-extractable AES key). Every failure is fail-closed and reported as a WardenError whose message
 * never contains the key, the passphrase or the PIN.
 */
import type { SealConfig } from '../config/schema.js';
import { WardenError } from '../errors/index.js';
import { createFileSeal } from './file-seal.js';
import { createPassphraseSeal } from './passphrase-seal.js';
import { createPkcs11Seal } from './pkcs11-seal.js';

export { ROOT_KEY_BYTES } from './seal-material.js';

export type SealKind = 'file' | 'passphrase' | 'pkcs11';

/** The secrets a seal may need, already read from the environment by the caller. */
export interface SealSecrets {
  passphrase?: string | undefined;
  pin?: string | undefined;
}

export interface SealOptions {
  /** scrypt cost N for newly created passphrase seals (a power of two, 2^10..2^20). Default 2^17. */
  scryptCost?: number;
}

export interface Seal {
  readonly kind: SealKind;
  /** True when seal material exists at config.path. */
  exists(): Promise<boolean>;
  /**
   * Generate a fresh random 32-byte root key, protect it, write the seal material (exclusive create,
   * mode 0600), return the root key. Refuses with WARDEN_SEAL_EXISTS if material exists. Writes
   * nothing on any failure (no partial file left behind).
   */
  initialize(): Promise<Buffer>;
  /** Recover the root key. Never writes anything. */
  unseal(): Promise<Buffer>;
}

/**
 * Build the seal described by `config`. Secrets are checked when they are needed (initialize/unseal),
 * so `exists()` works without them.
 *
 * @example
 * const seal = createSeal(config.seal, { passphrase: process.env[config.seal.passphraseEnv] });
 * const rootKey = (await seal.exists()) ? await seal.unseal() : await seal.initialize();
 */
export function createSeal(config: SealConfig, secrets: SealSecrets, options?: SealOptions): Seal {
  switch (config.kind) {
    case 'file':
      return createFileSeal(config);
    case 'passphrase':
      return createPassphraseSeal(config, secrets.passphrase, options?.scryptCost);
    case 'pkcs11':
      return createPkcs11Seal(config, secrets.pin);
    default: {
      const kind = (config as { kind: unknown }).kind;
      throw new WardenError('WARDEN_CONFIG_INVALID', `unknown seal kind ${JSON.stringify(kind)}`);
    }
  }
}
