/**
 * The nouns of the key management service. A key has a name, a type, a protection level and a state;
 * its versions each hold their own material (wrapped by the barrier, or resident in the HSM), state and
 * usage counters. Agents and admins never see material: they ask for operations, per key, per call.
 */

/** Key types and what they do. */
export const KEY_TYPES = ['aes256-gcm', 'hmac-sha256', 'ed25519', 'ecdsa-p256'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

export type KeyState = 'enabled' | 'disabled' | 'pending_destruction' | 'destroyed';
export type KeyVersionState = 'enabled' | 'disabled' | 'destroyed';
/** `software`: material wrapped by the barrier; `hsm`: generated in and never leaving the PKCS#11 token. */
export type KeyProtection = 'software' | 'hsm';
/** How a version's material came to be. */
export type KeyOrigin = 'generated' | 'imported';

/** A key's purpose, as the policy sees it (`resource.purpose`). */
export type KeyPurpose = 'encryption' | 'mac' | 'signing';

export const purposeOf = (type: KeyType): KeyPurpose =>
  type === 'aes256-gcm' ? 'encryption' : type === 'hmac-sha256' ? 'mac' : 'signing';

export interface Key {
  /** Stable internal identity (`key_<32 hex>`), bound into every ciphertext; never reused. */
  readonly id: string;
  readonly name: string;
  readonly type: KeyType;
  readonly protection: KeyProtection;
  readonly region: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Automatic rotation period in ms, or null for manual rotation only. */
  readonly rotationPeriodMs: number | null;
  readonly state: KeyState;
  readonly latestVersion: number;
  readonly minDecryptionVersion: number;
  readonly minEncryptionVersion: number;
  /** When the next automatic rotation is due (ms), or null. */
  readonly nextRotationAt: number | null;
  /** When a key pending destruction is destroyed (ms), or null. */
  readonly destroyAt: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface KeyVersion {
  readonly keyId: string;
  readonly version: number;
  readonly state: KeyVersionState;
  readonly origin: KeyOrigin;
  readonly createdAt: number;
  readonly usageCount: number;
  readonly lastUsedAt: number | null;
}

/** A key with its versions (the admin view; never material). */
export interface KeyDetails extends Key {
  readonly versions: readonly KeyVersion[];
}
