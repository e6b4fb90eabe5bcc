/**
 * Rewrap: move every protected value (store/protected-columns.ts) whose key version is below the
 * barrier's latest to the latest, in keyset-paginated batches. Each row is written with compare-and-set
 * (`where key = ? and column = <the ciphertext we read>`), so a value written concurrently is never
 * overwritten with an older one; such a row is simply skipped (it already has a fresh value).
 */
import { sql, type Kysely } from 'kysely';
import type { Database, ProtectedColumn } from '../store/index.js';
import { protectedColumns, toBuffer } from '../store/index.js';
import type { Barrier } from './barrier.js';

export interface RewrapOptions {
  readonly db: Kysely<Database>;
  readonly barrier: Pick<Barrier, 'latestVersion' | 'versionOf' | 'encrypt' | 'decrypt'>;
  readonly columns?: readonly ProtectedColumn[];
  /** Rows read per query (default 500). */
  readonly batchSize?: number;
  /** Called after each batch with rows examined so far and the total to examine. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface RewrapResult {
  /** Protected values examined (non-NULL, across every column). */
  readonly total: number;
  /** Values re-encrypted under the latest version. */
  readonly rewrapped: number;
}

export async function rewrap(options: RewrapOptions): Promise<RewrapResult> {
  const { db, barrier, columns = protectedColumns, batchSize = 500, onProgress } = options;
  const target = barrier.latestVersion;
  let total = 0;
  for (const column of columns) total += await countValues(db, column);
  let done = 0;
  let rewrapped = 0;
  onProgress?.(0, total);
  for (const column of columns) {
    let after: unknown;
    for (;;) {
      const rows = await readBatch(db, column, after, batchSize);
      for (const row of rows) {
        if (barrier.versionOf(row.value) < target && (await rewrapValue({ db, barrier, column, row }))) rewrapped++;
      }
      done += rows.length;
      if (rows.length > 0) onProgress?.(done, Math.max(total, done));
      if (rows.length < batchSize) break;
      after = rows[rows.length - 1]!.key;
    }
  }
  return { total: Math.max(total, done), rewrapped };
}

export interface RewrapValueOptions {
  readonly db: Kysely<Database>;
  readonly barrier: Pick<Barrier, 'encrypt' | 'decrypt'>;
  readonly column: ProtectedColumn;
  /** The row as read: its primary key and the ciphertext it held. */
  readonly row: { readonly key: unknown; readonly value: Uint8Array };
}

/**
 * Re-encrypts one value under the latest version with compare-and-set. Returns false (and writes
 * nothing) when the row no longer holds `row.value`.
 */
export async function rewrapValue({ db, barrier, column, row }: RewrapValueOptions): Promise<boolean> {
  const context = { table: column.table, column: column.column, row: String(row.key) };
  const plaintext = await barrier.decrypt(row.value, context);
  let next: Buffer;
  try {
    next = barrier.encrypt(plaintext, context);
  } finally {
    plaintext.fill(0);
  }
  const result = await sql`update ${sql.table(column.table)} set ${sql.ref(column.column)} = ${next}
    where ${sql.ref(column.key)} = ${row.key} and ${sql.ref(column.column)} = ${toBuffer(row.value)}`.execute(db);
  return (result.numAffectedRows ?? 0n) > 0n;
}

async function countValues(db: Kysely<Database>, column: ProtectedColumn): Promise<number> {
  const { rows } = await sql<{ n: number | string | bigint }>`select count(*) as n from ${sql.table(column.table)}
    where ${sql.ref(column.column)} is not null`.execute(db);
  return Number(rows[0]?.n ?? 0);
}

async function readBatch(
  db: Kysely<Database>,
  column: ProtectedColumn,
  after: unknown,
  limit: number,
): Promise<{ key: unknown; value: Buffer }[]> {
  const key = sql.ref(column.key);
  const { rows } = await sql<{ key: unknown; value: Buffer }>`select ${key} as key, ${sql.ref(column.column)} as value
    from ${sql.table(column.table)}
    where ${sql.ref(column.column)} is not null ${after === undefined ? sql`` : sql`and ${key} > ${after}`}
    order by ${key} limit ${limit}`.execute(db);
  return rows;
}
