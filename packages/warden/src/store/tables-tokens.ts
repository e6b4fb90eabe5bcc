/** Row types of the tables for token signing keys, revoked tokens and replay guards (migration 0004). */

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in with the migration's tables
export interface TokenTables {}
