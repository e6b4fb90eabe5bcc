/**
 * Migration 0011: human approval of risky tool calls. One row per held call, bound to the agent, the
 * tool and the SHA-256 digest of the call's arguments; single-use and expiring.
 */
import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes, StoreKind } from './column-types.js';

export function migration0011Approvals(types: ColumnTypes, _kind: StoreKind): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('mcp_approvals')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('agent', 'text', (col) => col.notNull())
        .addColumn('tool', 'text', (col) => col.notNull())
        .addColumn('args_digest', 'text', (col) => col.notNull())
        .addColumn('status', 'text', (col) => col.notNull())
        .addColumn('decided_by', 'text')
        .addColumn('created_at', types.millis, (col) => col.notNull())
        .addColumn('decided_at', types.millis)
        .addColumn('expires_at', types.millis, (col) => col.notNull())
        .execute();
      await db.schema.createIndex('mcp_approvals_call').on('mcp_approvals').columns(['agent', 'tool', 'args_digest']).execute();
      await db.schema.createIndex('mcp_approvals_status').on('mcp_approvals').columns(['status']).execute();
    },
  };
}
