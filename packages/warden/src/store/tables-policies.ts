/** Row types of the tables for versioned policy sets (migration 0006). */

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in with the migration's tables
export interface PolicyTables {}
