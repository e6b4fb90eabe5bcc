/**
 * Column types that differ between the two dialects. A migration asks for `bytes` or `millis` and
 * gets the right SQL type for the backend it runs on, so the same migration code serves both.
 */
export type StoreKind = 'sqlite' | 'postgres';

export interface ColumnTypes {
  /** Arbitrary bytes: `blob` on SQLite, `bytea` on PostgreSQL. */
  readonly bytes: 'blob' | 'bytea';
  /** Milliseconds since the epoch: `integer` (64-bit) on SQLite, `bigint` on PostgreSQL. */
  readonly millis: 'integer' | 'bigint';
}

export function columnTypes(kind: StoreKind): ColumnTypes {
  return kind === 'sqlite' ? { bytes: 'blob', millis: 'integer' } : { bytes: 'bytea', millis: 'bigint' };
}
