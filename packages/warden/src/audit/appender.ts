/**
 * Group commit for the audit log. `append(event)` queues the event and resolves only once the
 * transaction holding its entry has committed; every append queued while a commit is in flight shares
 * the next transaction (up to `maxBatch`). Each transaction takes the log's write lock (SQLite:
 * `BEGIN IMMEDIATE`; PostgreSQL: a transaction-scoped advisory lock), reads the stored size and last
 * leaf, so processes and nodes sharing one database never fork the log, resumes the frontier (from the
 * in-memory copy when the stored size and last leaf prove it current, else from the stored nodes),
 * assigns contiguous indexes, and inserts the entries and every newly completed perfect subtree with
 * multi-row inserts. Any failure rejects every caller of the batch with WARDEN_AUDIT_UNAVAILABLE and
 * marks the log unhealthy until a later commit succeeds. An event that cannot be serialized is refused
 * alone (WARDEN_VALIDATION_FAILED) and takes no index.
 */
import { CompiledQuery, sql, type Kysely } from 'kysely';
import { WardenError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { Database } from '../store/database.js';
import type { StoreKind } from '../store/migrations/index.js';
import { entryBody, entryBytes, type AuditEvent } from './event.js';
import { createFrontier, frontierNodes, leafHash, type Frontier } from './merkle.js';
import { readPerfect } from './tree-store.js';

/** pg_advisory_xact_lock key of the audit log writer (an arbitrary constant shared by every node). */
export const AUDIT_WRITE_LOCK = '6287652542838440277';
/**
 * Rows per multi-row INSERT. SQLite's statement preparation grows much faster than linearly past ~64
 * rows (a 500-row VALUES list takes ~2.6 ms to prepare, a 64-row one ~30 µs); PostgreSQL prefers fewer
 * round trips (500 rows × 4 columns stays far below its 65,535 parameters).
 */
const ROWS_PER_INSERT: Record<StoreKind, number> = { sqlite: 64, postgres: 500 };

export interface AppendResult {
  index: number;
  leafHash: Buffer;
}

export interface Appender {
  append(event: AuditEvent): Promise<AppendResult>;
  /** False after a failed commit, until a later commit succeeds. */
  healthy(): boolean;
  /** Resolves once everything queued before the call has been committed or rejected. */
  flush(): Promise<void>;
  /** Flushes, then refuses further appends with WARDEN_AUDIT_UNAVAILABLE. */
  close(): Promise<void>;
}

export interface AppenderOptions {
  readonly db: Kysely<Database>;
  readonly kind: StoreKind;
  readonly hmac: (value: string) => string;
  readonly maxBatch: number;
  readonly logger: Pick<Logger, 'error' | 'info'>;
  /** The entry time source (tests). */
  readonly now?: () => Date;
}

interface Pending {
  event: AuditEvent;
  resolve(result: AppendResult): void;
  reject(err: unknown): void;
}

/** What the last successful commit left: enough to prove the in-memory frontier is still current. */
interface Cached {
  size: number;
  lastLeaf: Buffer | undefined;
  frontier: Frontier;
}

export function createAppender(options: AppenderOptions): Appender {
  const { db, kind, hmac, maxBatch, logger, now = () => new Date() } = options;
  let queue: Pending[] = [];
  let draining: Promise<void> | undefined;
  let cached: Cached | undefined;
  let isHealthy = true;
  let closed = false;

  const unavailable = (cause: unknown) =>
    new WardenError('WARDEN_AUDIT_UNAVAILABLE', 'the audit log could not record the entry', { cause });

  /** Runs `work` inside the log's write lock, in one transaction. */
  const inWriteTransaction = async <T>(work: (trx: Kysely<Database>) => Promise<T>): Promise<T> => {
    if (kind === 'postgres') {
      return db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(${sql.lit(AUDIT_WRITE_LOCK)}::bigint)`.execute(trx);
        return work(trx);
      });
    }
    // Kysely's SQLite transactions start with a deferred BEGIN; the writer needs the write lock up front.
    return db.connection().execute(async (conn) => {
      await conn.executeQuery(CompiledQuery.raw('begin immediate'));
      try {
        const result = await work(conn);
        await conn.executeQuery(CompiledQuery.raw('commit'));
        return result;
      } catch (err) {
        await conn.executeQuery(CompiledQuery.raw('rollback')).catch(() => undefined);
        throw err;
      }
    });
  };

  /** The frontier at the stored size, from the cache when the stored size and last leaf match it. */
  const currentFrontier = async (trx: Kysely<Database>): Promise<Cached> => {
    const last = await trx
      .selectFrom('audit_entries')
      .select(['idx', 'leaf_hash'])
      .orderBy('idx', 'desc')
      .limit(1)
      .executeTakeFirst();
    const size = last === undefined ? 0 : Number(last.idx) + 1;
    const lastLeaf = last?.leaf_hash;
    const current = cached;
    cached = undefined; // the frontier is mutated by the caller; only a commit makes it current again
    if (current !== undefined && current.size === size && sameLeaf(current.lastLeaf, lastLeaf)) return current;
    const ids = frontierNodes(size);
    const perfect = await readPerfect(trx, ids);
    return { size, lastLeaf, frontier: createFrontier(size, ids.map((id) => perfect(id.level, id.index))) };
  };

  const commit = async (batch: Pending[]): Promise<void> => {
    const accepted: Array<{ pending: Pending; result: AppendResult }> = [];
    let next: Cached | undefined;
    try {
      await inWriteTransaction(async (trx) => {
        const { frontier, lastLeaf } = await currentFrontier(trx);
        const time = now();
        const createdAt = time.getTime();
        const entries: unknown[] = [];
        const nodes: unknown[] = [];
        let leaf = lastLeaf;
        for (const pending of batch) {
          const index = frontier.size;
          let bytes: Buffer;
          try {
            bytes = entryBytes(entryBody(index, time, pending.event, hmac));
          } catch (err) {
            pending.reject(new WardenError('WARDEN_VALIDATION_FAILED', 'the audit event cannot be serialized', { cause: err }));
            continue;
          }
          leaf = leafHash(bytes);
          entries.push(index, leaf, bytes.toString('utf8'), createdAt);
          for (const node of frontier.append(leaf)) nodes.push(node.level, node.index, node.hash);
          accepted.push({ pending, result: { index, leafHash: leaf } });
        }
        await insertRows(trx, kind, 'audit_entries (idx, leaf_hash, body, created_at)', 4, entries);
        await insertRows(trx, kind, 'audit_nodes (level, idx, hash)', 3, nodes);
        next = { size: frontier.size, lastLeaf: leaf, frontier };
      });
    } catch (err) {
      cached = undefined;
      if (isHealthy) logger.error({ err }, 'audit log commit failed; the log is unavailable');
      isHealthy = false;
      // Rejecting an event already refused as invalid is a no-op.
      const failure = unavailable(err);
      for (const pending of batch) pending.reject(failure);
      return;
    }
    cached = next;
    if (!isHealthy) logger.info('audit log commit succeeded; the log is available again');
    isHealthy = true;
    for (const { pending, result } of accepted) pending.resolve(result);
  };

  const drain = async (): Promise<void> => {
    try {
      for (;;) {
        // Yield to I/O first, so every append that arrives meanwhile joins this batch.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (queue.length === 0) return;
        const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
        queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
        await commit(batch);
      }
    } finally {
      draining = undefined;
    }
  };

  return {
    append(event) {
      if (closed) return Promise.reject(unavailable(new Error('the audit log is closed')));
      return new Promise<AppendResult>((resolve, reject) => {
        queue.push({ event, resolve, reject });
        draining ??= drain();
      });
    },
    healthy: () => isHealthy,
    async flush() {
      while (draining !== undefined) await draining;
    },
    async close() {
      closed = true;
      while (draining !== undefined) await draining;
    },
  };
}

function sameLeaf(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}

/** Inserts `values` (`columns` per row) with multi-row INSERTs of up to ROWS_PER_INSERT rows. */
async function insertRows(
  trx: Kysely<Database>,
  kind: StoreKind,
  target: string,
  columns: number,
  values: readonly unknown[],
): Promise<void> {
  const rows = values.length / columns;
  const chunk = ROWS_PER_INSERT[kind];
  for (let start = 0; start < rows; start += chunk) {
    const count = Math.min(chunk, rows - start);
    const tuples: string[] = [];
    for (let r = 0; r < count; r++) {
      const marks: string[] = [];
      for (let c = 1; c <= columns; c++) marks.push(kind === 'postgres' ? `$${r * columns + c}` : '?');
      tuples.push(`(${marks.join(', ')})`);
    }
    const parameters = values.slice(start * columns, (start + count) * columns);
    await trx.executeQuery(CompiledQuery.raw(`insert into ${target} values ${tuples.join(', ')}`, parameters));
  }
}
