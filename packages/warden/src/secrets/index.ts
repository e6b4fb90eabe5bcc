/**
 * Public API of secrets: the store of named upstream secrets (encrypted through the barrier, never
 * readable through any API or log) and the `secret:NAME` / `{{secret:NAME}}` references that upstream
 * settings use to name them.
 */
export {
  MAX_SECRET_BYTES,
  checkSecretName,
  checkSecretValue,
  createSecretStore,
  secretNamePattern,
  type SecretInfo,
  type SecretStore,
  type SecretStoreOptions,
} from './secret-store.js';
export { resolveSecretReferences, secretReferences } from './references.js';
