/**
 * The registry of every column that holds barrier ciphertext. `barrier/rewrap` walks exactly these
 * columns when moving values to the latest barrier key version, and the barrier context of each value
 * is `{ table, column, row: String(<key column value>) }`. A module that adds a protected column adds
 * it here in the same change.
 */

/** A column holding barrier ciphertext, addressed by its table's single-column primary key. */
export interface ProtectedColumn {
  readonly table: string;
  /** The primary-key column; its value (as a string) is the barrier context's `row`. */
  readonly key: string;
  /** The column holding the ciphertext (bytes; NULL values are skipped). */
  readonly column: string;
}

export const protectedColumns: readonly ProtectedColumn[] = Object.freeze([
  Object.freeze({ table: 'secrets', key: 'name', column: 'value' }),
  Object.freeze({ table: 'system_keys', key: 'name', column: 'value' }),
  Object.freeze({ table: 'token_signing_keys', key: 'kid', column: 'private_key' }),
  Object.freeze({ table: 'admins', key: 'username', column: 'totp_secret' }),
  Object.freeze({ table: 'kms_key_versions', key: 'id', column: 'material' }),
  Object.freeze({ table: 'screen_tokens', key: 'token', column: 'value' }),
]);
