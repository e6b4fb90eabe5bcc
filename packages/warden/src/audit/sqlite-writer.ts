/**
 * The SQLite audit writer: a worker thread (`sqlite-writer-worker.ts`) that owns its own better-sqlite3
 * connection to the log's database file (Warden's pragmas: WAL, synchronous=FULL) and runs the group
 * commit's write transaction, so the COMMIT's fsync never blocks the event loop. The appender builds a
 * batch (entry rows, completed node rows) against the size and last leaf it believes are stored; the
 * worker takes the write lock (`BEGIN IMMEDIATE`), checks that belief, and either inserts and commits
 * (`ok`) or rolls back (`stale`: another connection appended meanwhile). One write is in flight at a
 * time. A worker error, crash or exit rejects the write in flight; the next write starts a new worker.
 * The thread is unref'd while idle, so an idle writer never keeps the process alive; `close()` closes its
 * connection and ends it.
 */
import { Worker } from 'node:worker_threads';

/**
 * Rows per multi-row INSERT on SQLite. Statement preparation grows much faster than linearly past ~64
 * rows (a 500-row VALUES list takes ~2.6 ms to prepare, a 64-row one ~30 µs).
 */
export const SQLITE_ROWS_PER_INSERT = 64;

/** One group commit, as rows ready to insert. */
export interface SqliteWriteBatch {
  /** The log size the batch was built on: its first entry's index (entry i gets index expectedSize + i). */
  readonly expectedSize: number;
  /** The leaf hash of entry `expectedSize - 1` (undefined for an empty log). */
  readonly expectedLastLeaf: Uint8Array | undefined;
  /** `created_at` of every entry (ms since the epoch). */
  readonly createdAt: number;
  /** The entries' bodies, in index order. */
  readonly bodies: readonly string[];
  /** Their leaf hashes, HASH_BYTES each, concatenated. Transferred (detached) when it owns its whole ArrayBuffer. */
  readonly leaves: Uint8Array;
  /** `level, idx` per completed perfect subtree, flattened. */
  readonly nodes: readonly number[];
  /** Their hashes, HASH_BYTES each, concatenated. Transferred (detached) when it owns its whole ArrayBuffer. */
  readonly nodeHashes: Uint8Array;
}

/** `ok`: committed (durable). `stale`: nothing written; the stored log has `size` entries. */
export type SqliteWriteOutcome = { readonly status: 'ok' } | { readonly status: 'stale'; readonly size: number };

export interface SqliteWriter {
  /**
   * Commits `batch` if the log is still at its expected size and last leaf. Rejects (nothing is known to
   * be written) when the worker reports an error, crashes or exits, or after `close()`. One at a time.
   */
  write(batch: SqliteWriteBatch): Promise<SqliteWriteOutcome>;
  /** Closes the worker's connection and ends the thread. Idempotent; later writes reject. */
  close(): Promise<void>;
}

export interface SqliteWriterOptions {
  /** The database file (absolute), already migrated. */
  readonly path: string;
  /** Called with every worker thread started (tests, diagnostics). */
  readonly onStart?: (worker: Worker) => void;
}

/** Main thread → worker. */
export type WriterRequest = ({ readonly type: 'write'; readonly id: number } & SqliteWriteBatch) | { readonly type: 'close' };
/** Worker → main thread. */
export type WriterReply =
  | { readonly id: number; readonly status: 'ok' }
  | { readonly id: number; readonly status: 'stale'; readonly size: number }
  | { readonly id: number; readonly status: 'error'; readonly message: string; readonly code?: string };
/** `workerData` of the worker thread. */
export interface WriterData {
  readonly path: string;
}

interface InFlight {
  readonly id: number;
  resolve(outcome: SqliteWriteOutcome): void;
  reject(err: Error): void;
}

/**
 * Starts the worker entry beside this module: the compiled `.js` in dist/, or — when this module itself
 * runs from TypeScript source (vitest, tsx) — the `.ts` source through tsx's `tsImport`, because Node 20
 * worker threads do not inherit the parent's module loader hooks.
 */
function startWorker(data: WriterData): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./sqlite-writer-worker.js', here), { workerData: data });
  const entry = new URL('./sqlite-writer-worker.ts', here).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const source = `import(${JSON.stringify(tsx)}).then(({ tsImport }) => tsImport(${JSON.stringify(entry)}, ${JSON.stringify(here)}));`;
  return new Worker(source, { eval: true, workerData: data });
}

/** The ArrayBuffers that `views` own entirely (never a slice of Node's shared Buffer pool). */
function transferable(views: readonly unknown[]): ArrayBuffer[] {
  const owned: ArrayBuffer[] = [];
  for (const view of views) {
    if (!(view instanceof Uint8Array)) continue;
    const { buffer } = view;
    if (buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === buffer.byteLength) owned.push(buffer);
  }
  return owned;
}

export function createSqliteWriter(options: SqliteWriterOptions): SqliteWriter {
  const { path, onStart } = options;
  let worker: Worker | undefined;
  let inFlight: InFlight | undefined;
  let nextId = 1;
  let closed = false;

  /** Forgets `dead` and rejects the write in flight (once). */
  const lost = (dead: Worker, err: Error) => {
    if (worker !== dead) return;
    worker = undefined;
    const pending = inFlight;
    inFlight = undefined;
    pending?.reject(err);
  };

  const spawn = (): Worker => {
    const started = startWorker({ path });
    started.unref();
    started.on('message', (reply: WriterReply) => {
      const pending = inFlight;
      if (worker !== started || pending === undefined || pending.id !== reply.id) return;
      inFlight = undefined;
      started.unref();
      if (reply.status === 'ok') pending.resolve({ status: 'ok' });
      else if (reply.status === 'stale') pending.resolve({ status: 'stale', size: reply.size });
      else pending.reject(Object.assign(new Error(reply.message), reply.code === undefined ? {} : { code: reply.code }));
    });
    started.on('error', (err) => lost(started, err));
    started.on('messageerror', (err) => {
      lost(started, err);
      void started.terminate();
    });
    started.on('exit', (code) => lost(started, new Error(`the audit writer thread exited (code ${code})`)));
    onStart?.(started);
    return started;
  };

  return {
    write(batch) {
      if (closed) return Promise.reject(new Error('the audit writer is closed'));
      if (inFlight !== undefined) return Promise.reject(new Error('an audit write is already in flight'));
      let current: Worker;
      try {
        current = worker ??= spawn();
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
      const id = nextId++;
      const request: WriterRequest = { type: 'write', id, ...batch };
      return new Promise<SqliteWriteOutcome>((resolve, reject) => {
        try {
          current.postMessage(request, transferable([batch.leaves, batch.nodeHashes]));
        } catch (err) {
          // Not cloneable (a malformed batch): nothing was sent.
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        inFlight = { id, resolve, reject };
        // Referenced while a write is in flight: a process awaiting only its audit entry must not exit.
        current.ref();
      });
    },
    async close() {
      closed = true;
      const current = worker;
      if (current === undefined) return;
      const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
      const request: WriterRequest = { type: 'close' };
      // Referenced until it has exited, so a process awaiting close() does not end first.
      current.ref();
      current.postMessage(request);
      // A worker stuck in SQLite (e.g. waiting on a lock) is ended after a grace period.
      const timer = setTimeout(() => void current.terminate(), 10_000);
      timer.unref();
      await exited;
      clearTimeout(timer);
    },
  };
}
