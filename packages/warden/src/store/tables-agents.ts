/** Row types of the tables for agents and their credentials (migration 0003). */

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in with the migration's tables
export interface AgentTables {}
