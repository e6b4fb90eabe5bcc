/**
 * Migration 0010: MCP tool pins (rug-pull defence). `mcp_tool_pins` holds one row per tool an upstream
 * has offered, keyed by (upstream, tool): the hash and JSON text of the definition seen now and of the
 * one an admin last approved, and its status. Removing an upstream removes its pins (cascade), so a new
 * server registered under the same name starts unpinned.
 */
import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes, StoreKind } from './column-types.js';

export function migration0010ToolPins(types: ColumnTypes, _kind: StoreKind): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('mcp_tool_pins')
        .addColumn('upstream', 'text', (col) => col.notNull().references('mcp_upstreams.name').onDelete('cascade'))
        .addColumn('tool', 'text', (col) => col.notNull())
        .addColumn('status', 'text', (col) => col.notNull())
        .addColumn('hash', 'text', (col) => col.notNull())
        .addColumn('approved_hash', 'text')
        .addColumn('definition', 'text', (col) => col.notNull())
        .addColumn('approved_definition', 'text')
        .addColumn('withheld', 'text')
        .addColumn('first_seen_at', types.millis, (col) => col.notNull())
        .addColumn('updated_at', types.millis, (col) => col.notNull())
        .addPrimaryKeyConstraint('mcp_tool_pins_pk', ['upstream', 'tool'])
        .execute();
      await db.schema.createIndex('mcp_tool_pins_status').on('mcp_tool_pins').columns(['status']).execute();
    },
  };
}
