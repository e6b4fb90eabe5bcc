/**
 * Row types of the key management tables (migration 0008). Timestamps and durations are milliseconds;
 * `labels` is JSON text. A version's `material` is barrier ciphertext (context `{ table:
 * 'kms_key_versions', column: 'material', row: id }`), NULL for HSM-resident and destroyed versions.
 */

/** One key (metadata only; never material). Keys are never deleted: a destroyed key keeps its row. */
export interface KmsKeysTable {
  id: string;
  name: string;
  type: string;
  protection: string;
  region: string;
  labels: string;
  rotation_period_ms: number | null;
  state: string;
  latest_version: number;
  min_decryption_version: number;
  min_encryption_version: number;
  next_rotation_at: number | null;
  destroy_at: number | null;
  created_at: number;
  updated_at: number;
}

/** One version of a key: its own material record, state and usage. `id` is `<key id>:<version>`. */
export interface KmsKeyVersionsTable {
  id: string;
  key_id: string;
  version: number;
  state: string;
  origin: string;
  material: Buffer | null;
  hsm_label: string | null;
  /** SPKI PEM of an asymmetric version. */
  public_key: string | null;
  usage_count: number;
  last_used_at: number | null;
  created_at: number;
}

export interface KmsTables {
  kms_keys: KmsKeysTable;
  kms_key_versions: KmsKeyVersionsTable;
}
