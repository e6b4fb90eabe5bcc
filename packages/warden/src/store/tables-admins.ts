/** Row types of the tables for admins, sessions and login throttling (migration 0005). */

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in with the migration's tables
export interface AdminTables {}
