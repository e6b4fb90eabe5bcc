/**
 * Migration 0009: the MCP gateway's upstreams. `mcp_upstreams` holds one row per registered MCP server,
 * keyed by its name; the transport (stdio command or Streamable HTTP URL, with env or headers that may
 * refer to secrets) is JSON text, validated by `gateway/upstreams.ts` before it is stored.
 */
import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes, StoreKind } from './column-types.js';

export function migration0009Upstreams(types: ColumnTypes, _kind: StoreKind): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('mcp_upstreams')
        .addColumn('name', 'text', (col) => col.primaryKey())
        .addColumn('transport', 'text', (col) => col.notNull())
        .addColumn('timeout_ms', 'integer', (col) => col.notNull())
        .addColumn('restart_backoff_ms', 'integer', (col) => col.notNull())
        .addColumn('isolation', 'text', (col) => col.notNull())
        .addColumn('tool_policy', 'text', (col) => col.notNull())
        .addColumn('created_at', types.millis, (col) => col.notNull())
        .addColumn('updated_at', types.millis, (col) => col.notNull())
        .execute();
    },
  };
}
