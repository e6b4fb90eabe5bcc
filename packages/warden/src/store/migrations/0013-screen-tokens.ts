/**
 * Migration 0013: reversible tokenization for content screening. `screen_tokens` maps each token
 * (`tok_<type>_v<version>_<mac>`, its primary key) to the value it stands for, encrypted by the barrier
 * (context `{ table: 'screen_tokens', column: 'value', row: token }`), with the value's type and the
 * name of the KMS key that made the token. Rows are written once (insert-or-ignore) and never updated.
 */
import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes, StoreKind } from './column-types.js';

export function migration0013ScreenTokens(types: ColumnTypes, _kind: StoreKind): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('screen_tokens')
        .addColumn('token', 'text', (col) => col.primaryKey())
        .addColumn('type', 'text', (col) => col.notNull())
        .addColumn('value', types.bytes, (col) => col.notNull())
        .addColumn('key_name', 'text', (col) => col.notNull())
        .addColumn('created_at', types.millis, (col) => col.notNull())
        .execute();
    },
  };
}
