/**
 * Public API of the seal module: the Seal interface, its factory and the three implementations'
 * config types. Everything else in this folder is internal.
 */
export { createSeal, ROOT_KEY_BYTES, type Seal, type SealKind, type SealOptions, type SealSecrets } from './seal.js';
export { createFileSeal, type FileSealConfig } from './file-seal.js';
export {
  createPassphraseSeal,
  DEFAULT_SCRYPT_COST,
  MAX_SCRYPT_COST,
  MIN_PASSPHRASE_LENGTH,
  MIN_SCRYPT_COST,
  type PassphraseSealConfig,
} from './passphrase-seal.js';
export { createPkcs11Seal, type Pkcs11SealConfig } from './pkcs11-seal.js';
