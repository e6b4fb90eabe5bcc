/**
 * Migration 0001: the barrier keyring (`barrier_keys`) and named secrets (`secrets`). Runs unchanged on
 * SQLite and PostgreSQL; only the byte and millisecond column types are chosen per dialect.
 */
import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes } from './column-types.js';

export function migration0001Initial(types: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('barrier_keys')
        .addColumn('version', 'integer', (col) => col.primaryKey())
        .addColumn('wrapped', types.bytes, (col) => col.notNull())
        .addColumn('created_at', types.millis, (col) => col.notNull())
        .execute();
      await db.schema
        .createTable('secrets')
        .addColumn('name', 'text', (col) => col.primaryKey())
        .addColumn('value', types.bytes, (col) => col.notNull())
        .addColumn('created_at', types.millis, (col) => col.notNull())
        .addColumn('updated_at', types.millis, (col) => col.notNull())
        .execute();
    },
  };
}
