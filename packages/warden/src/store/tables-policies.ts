/** Row types of the tables for versioned policy sets (migrations 0006, 0007). */

/** One applied policy set; never updated. `files` is JSON `[{name, text}]`, `policy_ids` JSON `string[]`. */
export interface PolicySetsTable {
  version: number;
  files: string;
  policy_ids: string;
  created_at: number;
  created_by: string;
  comment: string | null;
  /** JSON `PolicyLink[]`: the set's template links (migration 0007). */
  links: string;
}

/** The single row (id 1) naming the active policy set version. */
export interface PolicyActiveTable {
  id: number;
  version: number;
  updated_at: number;
  updated_by: string;
}

export interface PolicyTables {
  policy_sets: PolicySetsTable;
  policy_active: PolicyActiveTable;
}
