/**
 * Public API of the key management service: the keyring (keys, versions, lifecycle, BYOK import), the
 * operations agents and admins call (authorized per call), the key entities the policy sees, the
 * scheduler (rotation and destruction) and the ciphertext format.
 */
export { KEY_TYPES, purposeOf, type Key, type KeyDetails, type KeyOrigin, type KeyProtection, type KeyPurpose, type KeyState, type KeyType, type KeyVersion, type KeyVersionState } from './types.js';
export { createKeyring, keyStateError, keyNamePattern, regionPattern, DEFAULT_DESTRUCTION_DAYS, MAX_DESTRUCTION_DAYS, MIN_DESTRUCTION_DAYS, type Keyring, type KeyringOptions, type KeyUpdate, type NewKey, type PublicKey } from './keyring.js';
export { createKeyOperations, DATA_KEY_BITS, KEY_ENTITY_TYPE, type Caller, type ItemResult, type KeyOperations, type OperationResult } from './operations.js';
export { keyEntityProvider } from './key-entities.js';
export { createKmsScheduler, schedulerTransaction, type KmsScheduler } from './scheduler.js';
export { MAX_CONTEXT_ENTRY_BYTES, MAX_CONTEXT_PAIRS, parseCiphertext, type EncryptionContext } from './ciphertext.js';
export { openHsmKeyStore, type HsmKeyStore } from './hsm-keys.js';
export { WRAPPING_KEY_BITS, wrapKeyMaterial } from './byok.js';
