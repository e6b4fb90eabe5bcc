/**
 * Row type of the MCP tool pins table (migration 0010). Timestamps are milliseconds; definitions are
 * JSON text of the MCP `Tool` as the upstream sent it; hashes are lower-case hex SHA-256 of the tool's
 * canonical definition (`toolDefinitionHash` in `gateway/tool-pins.ts`).
 */

/** One tool of one upstream, keyed by (upstream, tool); removed with its upstream. */
export interface McpToolPinsTable {
  upstream: string;
  /** The upstream's own tool name (exposed as `<upstream>__<tool>`). */
  tool: string;
  /** `approved`, `pending`, `blocked` or `rejected`. */
  status: string;
  /** Hash of the definition seen last. */
  hash: string;
  /** Hash of the definition an admin (or trust-on-first-use) last approved; null if never. */
  approved_hash: string | null;
  /** JSON `Tool` seen last (a placeholder when `withheld`). */
  definition: string;
  approved_definition: string | null;
  /** Why the real definition is not stored (`too-large`, `duplicate`), or null. Such a tool stays blocked. */
  withheld: string | null;
  first_seen_at: number;
  updated_at: number;
}

export interface ToolPinTables {
  mcp_tool_pins: McpToolPinsTable;
}
