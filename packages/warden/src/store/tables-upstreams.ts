/**
 * Row type of the MCP gateway's upstream table (migration 0009). Timestamps and durations are
 * milliseconds; `transport` is JSON text of the `UpstreamTransport` as registered (env and header values
 * hold `secret:` references, never resolved secrets).
 */

/** One MCP server Warden forwards to, keyed by its name (the `<server>` of `<server>__<tool>`). */
export interface McpUpstreamsTable {
  name: string;
  /** JSON `UpstreamTransport`: `{kind: 'stdio', command, args, env}` or `{kind: 'http', url, headers}`. */
  transport: string;
  timeout_ms: number;
  restart_backoff_ms: number;
  /** `shared` or `per-agent`. */
  isolation: string;
  /** `approve-first` or `trust-on-first-use`. */
  tool_policy: string;
  created_at: number;
  updated_at: number;
}

export interface UpstreamTables {
  mcp_upstreams: McpUpstreamsTable;
}
