/**
 * Migration 0002: the tamper-evident audit log. `audit_entries` holds each entry (index, leaf hash, the
 * canonical body — NULL once retention moved it to a bundle), `audit_nodes` every completed perfect
 * subtree of level >= 1 (level 0 is `audit_entries.leaf_hash`), `audit_checkpoints` every signed
 * checkpoint, `audit_sink_cursors` how far each export sink has read, and `system_keys` the barrier-
 * encrypted keys of the log (checkpoint signing key, HMAC key, origin). Same tables on both dialects;
 * on SQLite `audit_entries.idx` is the rowid and `audit_nodes` is a WITHOUT ROWID table clustered on
 * its primary key (one B-tree per insert instead of two).
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { ColumnTypes, StoreKind } from './column-types.js';

export function migration0002Audit(types: ColumnTypes, kind: StoreKind): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('audit_entries')
        .addColumn('idx', types.millis, (col) => col.primaryKey())
        .addColumn('leaf_hash', types.bytes, (col) => col.notNull())
        .addColumn('body', 'text')
        .addColumn('created_at', types.millis, (col) => col.notNull())
        .execute();
      let nodes = db.schema
        .createTable('audit_nodes')
        .addColumn('level', 'integer', (col) => col.notNull())
        .addColumn('idx', types.millis, (col) => col.notNull())
        .addColumn('hash', types.bytes, (col) => col.notNull())
        .addPrimaryKeyConstraint('audit_nodes_pk', ['level', 'idx']);
      if (kind === 'sqlite') nodes = nodes.modifyEnd(sql`without rowid`);
      await nodes.execute();
      await db.schema
        .createTable('audit_checkpoints')
        .addColumn('size', types.millis, (col) => col.primaryKey())
        .addColumn('root', types.bytes, (col) => col.notNull())
        .addColumn('note', 'text', (col) => col.notNull())
        .addColumn('created_at', types.millis, (col) => col.notNull())
        .execute();
      await db.schema
        .createTable('audit_sink_cursors')
        .addColumn('name', 'text', (col) => col.primaryKey())
        .addColumn('next_index', types.millis, (col) => col.notNull())
        .addColumn('updated_at', types.millis, (col) => col.notNull())
        .execute();
      await db.schema
        .createTable('system_keys')
        .addColumn('name', 'text', (col) => col.primaryKey())
        .addColumn('value', types.bytes, (col) => col.notNull())
        .addColumn('created_at', types.millis, (col) => col.notNull())
        .execute();
    },
  };
}
