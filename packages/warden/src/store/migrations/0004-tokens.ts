/**
 * Migration 0004: the token service's tables. `token_signing_keys` holds the Ed25519 access-token
 * signing keys (private half as barrier ciphertext, public JWK in clear, `retired_at` once rotated out),
 * `token_revocations` the jti of every revoked access token until it would have expired, and
 * `token_replay_guards` single-use ids (private_key_jwt assertions, DPoP proofs) keyed by
 * (scope, jti) so a replay is a primary-key conflict on every node sharing the database.
 */
import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes, StoreKind } from './column-types.js';

export function migration0004Tokens(types: ColumnTypes, _kind: StoreKind): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('token_signing_keys')
        .addColumn('kid', 'text', (col) => col.primaryKey())
        .addColumn('private_key', types.bytes, (col) => col.notNull())
        .addColumn('public_jwk', 'text', (col) => col.notNull())
        .addColumn('created_at', types.millis, (col) => col.notNull())
        .addColumn('retired_at', types.millis)
        .execute();
      await db.schema
        .createTable('token_revocations')
        .addColumn('jti', 'text', (col) => col.primaryKey())
        .addColumn('expires_at', types.millis, (col) => col.notNull())
        .addColumn('revoked_at', types.millis, (col) => col.notNull())
        .execute();
      await db.schema.createIndex('token_revocations_revoked_at').on('token_revocations').column('revoked_at').execute();
      await db.schema
        .createTable('token_replay_guards')
        .addColumn('scope', 'text', (col) => col.notNull())
        .addColumn('jti', 'text', (col) => col.notNull())
        .addColumn('expires_at', types.millis, (col) => col.notNull())
        .addPrimaryKeyConstraint('token_replay_guards_pk', ['scope', 'jti'])
        .execute();
      await db.schema.createIndex('token_replay_guards_expires_at').on('token_replay_guards').column('expires_at').execute();
    },
  };
}
