/**
 * Migration 0003: agents and their credentials. `agents` is keyed by the agent's slug name (also its
 * OAuth client id); roles and labels are JSON text, `require_dpop` an integer 0/1 on both dialects.
 * `agent_credentials` holds several credentials per agent (rotation without downtime): client secrets
 * only as an HMAC-SHA256 (`secret_hash`), public keys as public JWK text. Deleting an agent deletes its
 * credentials (ON DELETE CASCADE).
 */
import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes, StoreKind } from './column-types.js';

export function migration0003Agents(types: ColumnTypes, _kind: StoreKind): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('agents')
        .addColumn('name', 'text', (col) => col.primaryKey())
        .addColumn('owner', 'text', (col) => col.notNull())
        .addColumn('roles', 'text', (col) => col.notNull())
        .addColumn('labels', 'text', (col) => col.notNull())
        .addColumn('environment', 'text')
        .addColumn('region', 'text')
        .addColumn('clearance', 'integer', (col) => col.notNull())
        .addColumn('status', 'text', (col) => col.notNull())
        .addColumn('require_dpop', 'integer', (col) => col.notNull())
        .addColumn('created_at', types.millis, (col) => col.notNull())
        .addColumn('updated_at', types.millis, (col) => col.notNull())
        .execute();
      await db.schema.createIndex('agents_owner_idx').on('agents').column('owner').execute();
      await db.schema
        .createTable('agent_credentials')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('agent', 'text', (col) => col.notNull().references('agents.name').onDelete('cascade'))
        .addColumn('kind', 'text', (col) => col.notNull())
        .addColumn('secret_hash', types.bytes)
        .addColumn('public_jwk', 'text')
        .addColumn('kid', 'text', (col) => col.notNull())
        .addColumn('label', 'text')
        .addColumn('expires_at', types.millis)
        .addColumn('last_used_at', types.millis)
        .addColumn('revoked_at', types.millis)
        .addColumn('created_at', types.millis, (col) => col.notNull())
        .execute();
      await db.schema.createIndex('agent_credentials_agent_idx').on('agent_credentials').column('agent').execute();
    },
  };
}
