/**
 * Public API of the barrier: open it over the keyring with the root key, encrypt/decrypt values bound
 * to their place in the store, rotate, and rewrap stored values to the latest key version.
 */
export { openBarrier, type Barrier, type OpenBarrierOptions } from './barrier.js';
export type { BarrierContext } from './ciphertext.js';
export {
  rewrap,
  rewrapValue,
  type RewrapOptions,
  type RewrapResult,
  type RewrapValueOptions,
} from './rewrap.js';
