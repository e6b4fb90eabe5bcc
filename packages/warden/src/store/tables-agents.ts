/**
 * Row types of the tables for agents and their credentials (migrations 0003, 0012). Timestamps are
 * milliseconds since the epoch; `roles`, `labels` and `rate_limits` are JSON text; `require_dpop` is 0 or 1.
 */

/** One agent; `name` is its slug and OAuth client id. */
export interface AgentsTable {
  name: string;
  owner: string;
  /** JSON array of role names. */
  roles: string;
  /** JSON object of label key -> value. */
  labels: string;
  environment: string | null;
  region: string | null;
  clearance: number;
  status: string;
  require_dpop: number;
  /** JSON `{"perAgent"?: {rate, burst}, "perAgentTool"?: {rate, burst}}`; NULL: the config's defaults. */
  rate_limits: string | null;
  created_at: number;
  updated_at: number;
}

/** One credential of an agent: a client secret (stored only as its HMAC) or a public JWK. */
export interface AgentCredentialsTable {
  id: string;
  agent: string;
  kind: string;
  /** HMAC-SHA256 of the client secret under the barrier-held secret-hash key; never the secret. */
  secret_hash: Buffer | null;
  /** The public JWK (JSON text) of a `public_key` credential. */
  public_jwk: string | null;
  kid: string;
  label: string | null;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
  created_at: number;
}

export interface AgentTables {
  agents: AgentsTable;
  agent_credentials: AgentCredentialsTable;
}
