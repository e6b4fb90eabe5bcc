/**
 * The database schema as Kysely sees it: one interface per table, keyed by table name in `Database`.
 * Column names are the SQL names (snake_case). Timestamps are integers of milliseconds since the epoch;
 * byte columns come back as Buffer on both backends. Columns that hold barrier ciphertext are listed in
 * `protected-columns.ts`.
 */
import type { AdminTables } from './tables-admins.js';
import type { AgentTables } from './tables-agents.js';
import type { PolicyTables } from './tables-policies.js';
import type { KmsTables } from './tables-kms.js';
import type { TokenTables } from './tables-tokens.js';
import type { ToolPinTables } from './tables-tool-pins.js';
import type { ApprovalTables } from './tables-approvals.js';
import type { UpstreamTables } from './tables-upstreams.js';
import type { ScreenTables } from './tables-screen.js';

/** One barrier key version, wrapped (encrypted) by the root key. */
export interface BarrierKeysTable {
  version: number;
  wrapped: Buffer;
  created_at: number;
}

/** A named secret; `value` is barrier ciphertext, never plaintext. */
export interface SecretsTable {
  name: string;
  value: Buffer;
  created_at: number;
  updated_at: number;
}

/** One audit log entry; `body` (canonical JSON) is NULL once retention moved it to a bundle. */
export interface AuditEntriesTable {
  idx: number;
  leaf_hash: Buffer;
  body: string | null;
  created_at: number;
}

/** A completed perfect subtree of the audit Merkle tree, level >= 1 (level 0 is the leaf hash). */
export interface AuditNodesTable {
  level: number;
  idx: number;
  hash: Buffer;
}

/** A signed checkpoint (a signed note over origin, size and root). */
export interface AuditCheckpointsTable {
  size: number;
  root: Buffer;
  note: string;
  created_at: number;
}

/** How far an export sink has delivered: the next index it will read. */
export interface AuditSinkCursorsTable {
  name: string;
  next_index: number;
  updated_at: number;
}

/** Keys Warden generates for itself (audit signing/HMAC keys, the log origin); `value` is barrier ciphertext. */
export interface SystemKeysTable {
  name: string;
  value: Buffer;
  created_at: number;
}

/** Every table, by name: the core tables here, the identity tables in tables-*.ts. */
export interface Database extends AgentTables, TokenTables, AdminTables, PolicyTables, KmsTables, UpstreamTables, ToolPinTables, ApprovalTables, ScreenTables {
  barrier_keys: BarrierKeysTable;
  secrets: SecretsTable;
  audit_entries: AuditEntriesTable;
  audit_nodes: AuditNodesTable;
  audit_checkpoints: AuditCheckpointsTable;
  audit_sink_cursors: AuditSinkCursorsTable;
  system_keys: SystemKeysTable;
}
