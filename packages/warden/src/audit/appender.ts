/**
 * Group commit for the audit log. `append(event)` queues the event and resolves only once the
 * transaction holding its entry has committed; every append queued while a commit is in flight shares
 * the next transaction (up to `maxBatch`); one commit is in flight at a time. Every transaction takes the
 * log's write lock (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: a transaction-scoped advisory lock) and checks
 * the stored size and last leaf inside it, so processes and nodes sharing one database never fork the
 * log; entries get contiguous indexes and are inserted with every newly completed perfect subtree by
 * multi-row inserts.
 *
 * Two ways to commit. In process (PostgreSQL, in-memory SQLite, or without a writer): the transaction
 * reads the last entry, resumes the frontier (from the in-memory copy when the stored size and last leaf
 * prove it current, else from the stored nodes) and inserts. Through a `SqliteWriter` (a file-backed
 * SQLite store): the batch is built on the cached frontier (read from the store outside any transaction
 * when there is none) and a worker thread with its own connection commits it, so the COMMIT's fsync
 * never blocks the event loop and appends arriving meanwhile form the next batch. The worker commits only
 * if the log is still at the size and last leaf the batch was built on; when another connection appended
 * first (`stale`) the batch is rebuilt and committed once more in process. Batches are built on a copy of
 * the cached frontier, which a commit replaces only once it is durable.
 *
 * Any failure (including the worker's error, crash or exit) rejects every caller of the batch with
 * WARDEN_AUDIT_UNAVAILABLE, drops the cached frontier and marks the log unhealthy until a later commit
 * succeeds; the next batch starts a new worker. An event that cannot be serialized is refused alone
 * (WARDEN_VALIDATION_FAILED) and takes no index. `close()` flushes, then closes the writer.
 */
import { CompiledQuery, sql, type Kysely } from 'kysely';
import { WardenError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { Database } from '../store/database.js';
import type { StoreKind } from '../store/migrations/index.js';
import { entryBody, entryBytes, type AuditEvent } from './event.js';
import { HASH_BYTES, createFrontier, frontierNodes, leafHash, type Frontier } from './merkle.js';
import { SQLITE_ROWS_PER_INSERT, type SqliteWriter } from './sqlite-writer.js';
import { readPerfect } from './tree-store.js';

/** pg_advisory_xact_lock key of the audit log writer (an arbitrary constant shared by every node). */
export const AUDIT_WRITE_LOCK = '6287652542838440277';
/** Rows per multi-row INSERT: PostgreSQL prefers fewer round trips (500 rows × 4 columns stays far below its 65,535 parameters). */
const ROWS_PER_INSERT: Record<StoreKind, number> = { sqlite: SQLITE_ROWS_PER_INSERT, postgres: 500 };

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
  /**
   * Commits SQLite batches off the event loop (a file-backed SQLite store only). The appender owns it:
   * `close()` closes it. Without one, every commit runs in process.
   */
  readonly sqliteWriter?: SqliteWriter;
  /** The entry time source (tests). */
  readonly now?: () => Date;
}

interface Pending {
  event: AuditEvent;
  resolve(result: AppendResult): void;
  reject(err: unknown): void;
}

/** A log state: enough to prove the in-memory frontier is still current. */
interface Cached {
  size: number;
  lastLeaf: Buffer | undefined;
  frontier: Frontier;
}

/** A batch built on a log state: the rows to insert (entry i gets index `base.size + i`) and the state they lead to. */
interface Built {
  base: Cached;
  accepted: Array<{ pending: Pending; result: AppendResult }>;
  createdAt: number;
  bodies: string[];
  leaves: Buffer[];
  /** `level, idx` per completed perfect subtree. */
  nodes: number[];
  nodeHashes: Buffer[];
  next: Cached;
}

export function createAppender(options: AppenderOptions): Appender {
  const { db, kind, hmac, maxBatch, logger, sqliteWriter, now = () => new Date() } = options;
  let queue: Pending[] = [];
  let draining: Promise<void> | undefined;
  let cached: Cached | undefined;
  let isHealthy = true;
  let closed = false;
  let closing: Promise<void> | undefined;

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

  /** The stored log state read through `from`; its frontier from the cache when the size and last leaf match it. */
  const storedState = async (from: Kysely<Database>): Promise<Cached> => {
    const last = await from
      .selectFrom('audit_entries')
      .select(['idx', 'leaf_hash'])
      .orderBy('idx', 'desc')
      .limit(1)
      .executeTakeFirst();
    const size = last === undefined ? 0 : Number(last.idx) + 1;
    const lastLeaf = last?.leaf_hash;
    const current = cached;
    if (current !== undefined && current.size === size && sameLeaf(current.lastLeaf, lastLeaf)) return current;
    const ids = frontierNodes(size);
    const perfect = await readPerfect(from, ids);
    return { size, lastLeaf, frontier: createFrontier(size, ids.map((id) => perfect(id.level, id.index))) };
  };

  /** Entries and completed nodes of `batch` appended to `base`, on a copy of its frontier. Refuses events that cannot be serialized. */
  const build = (batch: readonly Pending[], base: Cached): Built => {
    const frontier = createFrontier(base.size, base.frontier.hashes());
    const time = now();
    const createdAt = time.getTime();
    const accepted: Built['accepted'] = [];
    const bodies: string[] = [];
    const leaves: Buffer[] = [];
    const nodes: number[] = [];
    const nodeHashes: Buffer[] = [];
    let leaf = base.lastLeaf;
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
      bodies.push(bytes.toString('utf8'));
      leaves.push(leaf);
      for (const node of frontier.append(leaf)) {
        nodes.push(node.level, node.index);
        nodeHashes.push(node.hash);
      }
      accepted.push({ pending, result: { index, leafHash: leaf } });
    }
    return { base, accepted, createdAt, bodies, leaves, nodes, nodeHashes, next: { size: frontier.size, lastLeaf: leaf, frontier } };
  };

  const failed = (batch: readonly Pending[], err: unknown) => {
    cached = undefined;
    if (isHealthy) logger.error({ err }, 'audit log commit failed; the log is unavailable');
    isHealthy = false;
    // Rejecting an event already refused as invalid is a no-op.
    const failure = unavailable(err);
    for (const pending of batch) pending.reject(failure);
  };

  const committed = ({ accepted, next }: Built) => {
    cached = next;
    if (!isHealthy) logger.info('audit log commit succeeded; the log is available again');
    isHealthy = true;
    for (const { pending, result } of accepted) pending.resolve(result);
  };

  /** Reads, builds and inserts in one write transaction on the main connection. */
  const commitInProcess = async (batch: readonly Pending[]): Promise<void> => {
    let built: Built | undefined;
    try {
      await inWriteTransaction(async (trx) => {
        const { base, createdAt, bodies, leaves, nodes, nodeHashes } = (built = build(batch, await storedState(trx)));
        const entryRows = bodies.flatMap((body, i) => [base.size + i, leaves[i], body, createdAt]);
        const nodeRows = nodeHashes.flatMap((hash, i) => [nodes[2 * i], nodes[2 * i + 1], hash]);
        await insertRows(trx, kind, 'audit_entries (idx, leaf_hash, body, created_at)', 4, entryRows);
        await insertRows(trx, kind, 'audit_nodes (level, idx, hash)', 3, nodeRows);
      });
    } catch (err) {
      failed(batch, err);
      return;
    }
    if (built !== undefined) committed(built);
  };

  /** Builds on the cached (or freshly read) state and lets the worker commit; a stale state is retried in process. */
  const commitThroughWriter = async (batch: readonly Pending[], writer: SqliteWriter): Promise<void> => {
    let built: Built;
    try {
      const base = cached ?? (await storedState(db));
      built = build(batch, base);
      if (built.accepted.length === 0) return;
      const outcome = await writer.write({
        expectedSize: base.size,
        expectedLastLeaf: base.lastLeaf,
        createdAt: built.createdAt,
        bodies: built.bodies,
        leaves: packHashes(built.leaves),
        nodes: built.nodes,
        nodeHashes: packHashes(built.nodeHashes),
      });
      if (outcome.status === 'stale') {
        // Another connection appended since: nothing was written; rebuild under the main connection's write lock.
        cached = undefined;
        await commitInProcess(built.accepted.map((a) => a.pending));
        return;
      }
    } catch (err) {
      failed(batch, err);
      return;
    }
    committed(built);
  };

  const commit = (batch: readonly Pending[]): Promise<void> =>
    sqliteWriter === undefined ? commitInProcess(batch) : commitThroughWriter(batch, sqliteWriter);

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
    close() {
      closed = true;
      closing ??= (async () => {
        while (draining !== undefined) await draining;
        await sqliteWriter?.close();
      })();
      return closing;
    },
  };
}

/** `hashes` concatenated into a Uint8Array with its own ArrayBuffer, which postMessage can transfer instead of copying. */
function packHashes(hashes: readonly Buffer[]): Uint8Array {
  const packed = new Uint8Array(hashes.length * HASH_BYTES);
  hashes.forEach((hash, i) => packed.set(hash, i * HASH_BYTES));
  return packed;
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
