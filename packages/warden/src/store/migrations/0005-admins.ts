/**
 * Migration 0005: admins, their sessions and admin tokens, and login throttling. `admins` holds each
 * admin's scrypt password hash (parameters and salt inline), the barrier-encrypted TOTP secret and the
 * last TOTP time step used (replay guard); `admin_sessions` holds sessions and automation tokens only as
 * SHA-256 of the bearer token; `login_throttle` counts failures per key (`user:<name>` / `ip:<addr>`)
 * so every node shares the backoff.
 */
import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes, StoreKind } from './column-types.js';

export function migration0005Admins(types: ColumnTypes, _kind: StoreKind): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('admins')
        .addColumn('username', 'text', (col) => col.primaryKey())
        .addColumn('role', 'text', (col) => col.notNull())
        .addColumn('password_hash', 'text', (col) => col.notNull())
        .addColumn('totp_secret', types.bytes, (col) => col.notNull())
        .addColumn('totp_last_step', types.millis, (col) => col.notNull().defaultTo(0))
        .addColumn('status', 'text', (col) => col.notNull())
        .addColumn('created_at', types.millis, (col) => col.notNull())
        .addColumn('updated_at', types.millis, (col) => col.notNull())
        .execute();
      await db.schema
        .createTable('admin_sessions')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('token_hash', types.bytes, (col) => col.notNull().unique())
        .addColumn('username', 'text', (col) => col.notNull().references('admins.username'))
        .addColumn('role', 'text', (col) => col.notNull())
        .addColumn('kind', 'text', (col) => col.notNull())
        .addColumn('created_at', types.millis, (col) => col.notNull())
        .addColumn('expires_at', types.millis, (col) => col.notNull())
        .addColumn('revoked_at', types.millis)
        .execute();
      await db.schema.createIndex('admin_sessions_username').on('admin_sessions').column('username').execute();
      await db.schema
        .createTable('login_throttle')
        .addColumn('key', 'text', (col) => col.primaryKey())
        .addColumn('failures', 'integer', (col) => col.notNull())
        .addColumn('locked_until', types.millis, (col) => col.notNull())
        .addColumn('updated_at', types.millis, (col) => col.notNull())
        .execute();
    },
  };
}
