/**
 * Worker-thread entry of the SQLite audit writer (`sqlite-writer.ts`). Opens its own connection to the
 * log's database file with Warden's pragmas (`store/sqlite-connection.ts`: WAL, synchronous=FULL,
 * foreign keys, 5 s busy timeout) and answers each write request in one transaction: `BEGIN IMMEDIATE`, read the last
 * stored entry, and when it is the one the batch was built on, insert the entry and node rows with
 * multi-row INSERTs (at most 64 rows per statement, prepared once per row count) and COMMIT (`ok`); else
 * roll back (`stale`). SQLite errors are answered (`error`) and the transaction rolled back; the
 * connection stays open for the next request. A `close` request closes the connection and ends the thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import { openSqliteDatabase } from '../store/sqlite-connection.js';
import { HASH_BYTES } from './merkle.js';
import {
  SQLITE_ROWS_PER_INSERT,
  type SqliteWriteBatch,
  type WriterData,
  type WriterReply,
  type WriterRequest,
} from './sqlite-writer.js';

const port = parentPort;
if (port === null) throw new Error('sqlite-writer-worker must run in a worker thread');
const { path } = workerData as WriterData;
const db = openSqliteDatabase({ kind: 'sqlite', path });

const begin = db.prepare('begin immediate');
const commit = db.prepare('commit');
const rollback = db.prepare('rollback');
const lastEntry = db.prepare('select idx, leaf_hash from audit_entries order by idx desc limit 1');

/** `insert into <target> values (?, …), …` for `rows` rows, prepared once per row count. */
function inserter(target: string, columns: number): (rows: number) => BetterSqlite3.Statement {
  const tuple = `(${Array.from({ length: columns }, () => '?').join(', ')})`;
  const statements = new Map<number, BetterSqlite3.Statement>();
  return (rows) => {
    let statement = statements.get(rows);
    if (statement === undefined) {
      statement = db.prepare(`insert into ${target} values ${Array.from({ length: rows }, () => tuple).join(', ')}`);
      statements.set(rows, statement);
    }
    return statement;
  };
}
const entryInsert = inserter('audit_entries (idx, leaf_hash, body, created_at)', 4);
const nodeInsert = inserter('audit_nodes (level, idx, hash)', 3);

/** A Buffer view of hash `index` (HASH_BYTES each) in `packed`, without a copy. */
function hashAt(packed: Uint8Array, index: number): Buffer {
  return Buffer.from(packed.buffer, packed.byteOffset + index * HASH_BYTES, HASH_BYTES);
}

/** Inserts `rows` rows, `columns` values each from `row(i)`, with multi-row INSERTs of up to SQLITE_ROWS_PER_INSERT rows. */
function insertRows(insert: (rows: number) => BetterSqlite3.Statement, rows: number, row: (i: number) => unknown[]) {
  for (let start = 0; start < rows; start += SQLITE_ROWS_PER_INSERT) {
    const count = Math.min(SQLITE_ROWS_PER_INSERT, rows - start);
    const values: unknown[] = [];
    for (let i = start; i < start + count; i++) values.push(...row(i));
    insert(count).run(values);
  }
}

/** Throws unless the packed hashes match the row counts (a malformed request writes nothing). */
function checkShape(batch: SqliteWriteBatch): void {
  if (
    batch.leaves.byteLength !== batch.bodies.length * HASH_BYTES ||
    batch.nodes.length % 2 !== 0 ||
    batch.nodeHashes.byteLength !== (batch.nodes.length / 2) * HASH_BYTES
  ) {
    throw new Error('malformed audit write request');
  }
}

function sameLeaf(stored: Buffer | undefined, expected: Uint8Array | undefined): boolean {
  return stored === undefined || expected === undefined ? stored === expected : stored.equals(expected);
}

/** Rolls back the open transaction, if any; a failing rollback leaves the original error to report. */
function rollBack(): void {
  try {
    if (db.inTransaction) rollback.run();
  } catch {
    // SQLite already rolled the transaction back (e.g. after SQLITE_FULL), or the connection is gone.
  }
}

function write(id: number, batch: SqliteWriteBatch): WriterReply {
  try {
    checkShape(batch);
    begin.run();
    try {
      const last = lastEntry.get() as { idx: number; leaf_hash: Buffer } | undefined;
      const size = last === undefined ? 0 : Number(last.idx) + 1;
      if (size !== batch.expectedSize || !sameLeaf(last?.leaf_hash, batch.expectedLastLeaf)) {
        rollback.run();
        return { id, status: 'stale', size };
      }
      const { expectedSize, createdAt, bodies, leaves, nodes, nodeHashes } = batch;
      insertRows(entryInsert, bodies.length, (i) => [expectedSize + i, hashAt(leaves, i), bodies[i], createdAt]);
      insertRows(nodeInsert, nodes.length / 2, (i) => [nodes[2 * i], nodes[2 * i + 1], hashAt(nodeHashes, i)]);
      commit.run();
      return { id, status: 'ok' };
    } catch (err) {
      rollBack();
      throw err;
    }
  } catch (err) {
    const { message, code } = err as { message?: unknown; code?: unknown };
    return {
      id,
      status: 'error',
      message: typeof message === 'string' ? message : 'the audit write failed',
      ...(typeof code === 'string' ? { code } : {}),
    };
  }
}

port.on('message', (request: WriterRequest) => {
  if (request.type === 'close') {
    db.close();
    port.close();
    return;
  }
  port.postMessage(write(request.id, request));
});
