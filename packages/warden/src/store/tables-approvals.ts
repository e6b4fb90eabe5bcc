/**
 * Row type of `mcp_approvals` (migration 0011): a held tool call waiting for, or carrying, a human
 * decision. `args_digest` is the SHA-256 of the call's canonical arguments; never the arguments.
 */
export interface McpApprovalsTable {
  id: string;
  agent: string;
  tool: string;
  args_digest: string;
  /** pending | approved | denied | used */
  status: string;
  decided_by: string | null;
  created_at: number;
  decided_at: number | null;
  expires_at: number;
}

export interface ApprovalTables {
  mcp_approvals: McpApprovalsTable;
}
