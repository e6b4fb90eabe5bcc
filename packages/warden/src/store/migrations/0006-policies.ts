/**
 * Migration 0006: versioned policy sets. `policy_sets` keeps every applied set (its Cedar files as a
 * JSON array of `{name, text}` and the ids of the policies it held), never updated or deleted; the
 * version is the primary key, so two nodes applying at once cannot both take the same number.
 * `policy_active` is a single row (id 1) naming the active version; apply and rollback change it in the
 * same transaction as the insert.
 */
import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes, StoreKind } from './column-types.js';

export function migration0006Policies(types: ColumnTypes, _kind: StoreKind): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('policy_sets')
        .addColumn('version', 'integer', (col) => col.primaryKey())
        .addColumn('files', 'text', (col) => col.notNull())
        .addColumn('policy_ids', 'text', (col) => col.notNull())
        .addColumn('created_at', types.millis, (col) => col.notNull())
        .addColumn('created_by', 'text', (col) => col.notNull())
        .addColumn('comment', 'text')
        .execute();
      await db.schema
        .createTable('policy_active')
        .addColumn('id', 'integer', (col) => col.primaryKey())
        .addColumn('version', 'integer', (col) => col.notNull().references('policy_sets.version'))
        .addColumn('updated_at', types.millis, (col) => col.notNull())
        .addColumn('updated_by', 'text', (col) => col.notNull())
        .execute();
    },
  };
}
