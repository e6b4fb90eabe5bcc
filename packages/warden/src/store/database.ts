/**
 * The database schema as Kysely sees it: one interface per table, keyed by table name in `Database`.
 * Column names are the SQL names (snake_case). Timestamps are integers of milliseconds since the epoch;
 * byte columns come back as Buffer on both backends. Columns that hold barrier ciphertext are listed in
 * `protected-columns.ts`.
 */

/** One barrier key version, wrapped (encrypted) by the root key. */
export interface BarrierKeysTable {
  version: number;
  wrapped: Buffer;
  created_at: number;
}

/** A named secret; `value` is barrier ciphertext, never plaintext. */
export interface SecretsTable {
  name: string;
  value: Buffer;
  created_at: number;
  updated_at: number;
}

export interface Database {
  barrier_keys: BarrierKeysTable;
  secrets: SecretsTable;
}
