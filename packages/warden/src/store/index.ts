/**
 * Public API of the store: `openStore` (SQLite or PostgreSQL behind one Kysely `Database`), the
 * repositories, and the registry of columns holding barrier ciphertext.
 */
export { openStore, type Store } from './store.js';
export type { Database, BarrierKeysTable, SecretsTable } from './database.js';
export { createPostgresPool } from './postgres.js';
export { sqliteFilePath } from './sqlite.js';
export { openSqliteDatabase } from './sqlite-connection.js';
export { isUniqueViolation } from './store-errors.js';
export { toBuffer } from './bytes.js';
export { protectedColumns, type ProtectedColumn } from './protected-columns.js';
export {
  createBarrierKeyringRepository,
  type BarrierKeyRecord,
  type BarrierKeyringRepository,
} from './barrier-keyring-repository.js';
export { createSecretRepository, type SecretRecord, type SecretRepository } from './secret-repository.js';
export type { StoreKind } from './migrations/index.js';
