/**
 * Migration 0008: the key management service. `kms_keys` holds each key's metadata and lifecycle
 * (name unique; `id` is the identity bound into ciphertexts), `kms_key_versions` one row per version
 * with its barrier-wrapped material (or HSM object label), public key, state and usage counters.
 */
import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes, StoreKind } from './column-types.js';

export function migration0008Kms(types: ColumnTypes, _kind: StoreKind): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('kms_keys')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('name', 'text', (col) => col.notNull().unique())
        .addColumn('type', 'text', (col) => col.notNull())
        .addColumn('protection', 'text', (col) => col.notNull())
        .addColumn('region', 'text', (col) => col.notNull())
        .addColumn('labels', 'text', (col) => col.notNull())
        .addColumn('rotation_period_ms', types.millis)
        .addColumn('state', 'text', (col) => col.notNull())
        .addColumn('latest_version', 'integer', (col) => col.notNull())
        .addColumn('min_decryption_version', 'integer', (col) => col.notNull())
        .addColumn('min_encryption_version', 'integer', (col) => col.notNull())
        .addColumn('next_rotation_at', types.millis)
        .addColumn('destroy_at', types.millis)
        .addColumn('created_at', types.millis, (col) => col.notNull())
        .addColumn('updated_at', types.millis, (col) => col.notNull())
        .execute();
      await db.schema.createIndex('kms_keys_next_rotation_idx').on('kms_keys').column('next_rotation_at').execute();
      await db.schema.createIndex('kms_keys_destroy_at_idx').on('kms_keys').column('destroy_at').execute();
      await db.schema
        .createTable('kms_key_versions')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('key_id', 'text', (col) => col.notNull().references('kms_keys.id'))
        .addColumn('version', 'integer', (col) => col.notNull())
        .addColumn('state', 'text', (col) => col.notNull())
        .addColumn('origin', 'text', (col) => col.notNull())
        .addColumn('material', types.bytes)
        .addColumn('hsm_label', 'text')
        .addColumn('public_key', 'text')
        .addColumn('usage_count', types.millis, (col) => col.notNull())
        .addColumn('last_used_at', types.millis)
        .addColumn('created_at', types.millis, (col) => col.notNull())
        .addUniqueConstraint('kms_key_versions_key_version_unique', ['key_id', 'version'])
        .execute();
    },
  };
}
