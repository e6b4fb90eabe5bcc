/**
 * The SQLite audit writer (a worker thread with its own connection) under the appender, on real SQLite
 * files: commits are contiguous and the tree verifies; another connection appending between batches
 * makes the worker answer `stale` and the batch is committed in process without a fork; a worker that
 * dies mid-commit fails its batch closed and the next batch starts a new one; worker-side SQL errors
 * reject the write and leave the worker usable; the event loop keeps turning while the worker waits on
 * the write lock; close() ends the worker and later appends are refused; a process whose only pending
 * work is an append stays alive until it is durable and then exits without close().
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqliteStoreConfig } from '../config/schema.js';
import { isWardenError } from '../errors/index.js';
import { createLogger } from '../log/index.js';
import { openSqliteDatabase, openStore } from '../store/index.js';
import { checkStoredTree, openTestAuditLog, sampleEvent } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { createAppender, type Appender } from './appender.js';
import type { AuditLog } from './log.js';
import { createSqliteWriter, type SqliteWriteOutcome, type SqliteWriter } from './sqlite-writer.js';
import { verifyLog } from './verify.js';

const logger = createLogger({ level: 'silent' });
const hmac = (value: string) => `hmac-sha256:${Buffer.from(value).toString('base64')}`;
const sqlite = storeBackends.find((b) => b.name === 'sqlite');
if (sqlite === undefined) throw new Error('no sqlite test backend');
const exitScript = fileURLToPath(new URL('../testing/audit-writer-exit.ts', import.meta.url));

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const isUnavailable = (s: PromiseSettledResult<unknown>) =>
  s.status === 'rejected' && isWardenError(s.reason, 'WARDEN_AUDIT_UNAVAILABLE');

async function* allEntries(log: AuditLog) {
  for (let start = 0; ; start += 1000) {
    const page = await log.entries(start, 1000);
    yield* page;
    if (page.length < 1000) return;
  }
}

describe('SQLite audit writer (worker thread)', () => {
  let opened: OpenedTestStore;
  let path: string;
  let workers: Worker[];
  let closers: Array<() => Promise<void>>;

  /** An appender committing through a new writer; `record` wraps the writer (e.g. to see its outcomes). */
  const open = (maxBatch: number, record?: (writer: SqliteWriter) => SqliteWriter): Appender => {
    const writer = createSqliteWriter({ path, onStart: (w) => workers.push(w) });
    const appender = createAppender({
      db: opened.store.db,
      kind: 'sqlite',
      hmac,
      maxBatch,
      logger,
      sqliteWriter: record === undefined ? writer : record(writer),
    });
    closers.push(() => appender.close());
    return appender;
  };
  /** A second connection to the log's file that holds the write lock until `release()`. */
  const holdWriteLock = () => {
    const raw = openSqliteDatabase({ kind: 'sqlite', path });
    raw.exec('begin immediate');
    return {
      release() {
        raw.exec('commit');
        raw.close();
      },
    };
  };

  beforeEach(async () => {
    opened = await sqlite.openMigrated();
    path = (opened.config as SqliteStoreConfig).path;
    workers = [];
    closers = [];
  });
  afterEach(async () => {
    for (const close of closers) await close();
    await opened.cleanup();
  });

  it('commits concurrent appends through one worker: contiguous indexes, the tree verifies', async () => {
    const appender = open(500);
    const results = await Promise.all(Array.from({ length: 2000 }, (_, i) => appender.append(sampleEvent(i))));
    expect(results.map((r) => r.index)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(await checkStoredTree(opened.store)).toMatchObject({ size: 2000 });
    expect(workers).toHaveLength(1);
    expect(appender.healthy()).toBe(true);
  });

  it('answers stale when another connection appended between batches, and the batch still commits (no fork)', async () => {
    const outcomes: SqliteWriteOutcome[] = [];
    const a = open(100, (writer) => ({
      write: async (batch) => {
        const outcome = await writer.write(batch);
        outcomes.push(outcome);
        return outcome;
      },
      close: () => writer.close(),
    }));
    // b: another connection (its own store) appending in process, like the CLI would.
    const other = await openStore({ kind: 'sqlite', path });
    try {
      const b = createAppender({ db: other.db, kind: 'sqlite', hmac, maxBatch: 100, logger });
      const indexes: number[] = [];
      for (let round = 0; round < 5; round++) {
        indexes.push(...(await Promise.all([0, 1, 2].map((i) => a.append(sampleEvent(round * 10 + i))))).map((r) => r.index));
        indexes.push((await b.append(sampleEvent(round * 10 + 5))).index);
      }
      await b.close();
      expect(indexes).toEqual(Array.from({ length: 20 }, (_, i) => i));
      // The first batch was built on a fresh read; every later one on a frontier b had made stale.
      expect(outcomes.map((o) => o.status)).toEqual(['ok', 'stale', 'stale', 'stale', 'stale']);
      expect(outcomes[1]).toEqual({ status: 'stale', size: 4 });
      expect(await checkStoredTree(opened.store)).toMatchObject({ size: 20 });
      expect(a.healthy()).toBe(true);
      // b appended last: a's next batch is stale once more, then its frontier is current and the worker commits.
      await a.append(sampleEvent(99));
      await a.append(sampleEvent(100));
      expect(outcomes.slice(-2)).toEqual([{ status: 'stale', size: 20 }, { status: 'ok' }]);
      expect(await checkStoredTree(opened.store)).toMatchObject({ size: 22 });
    } finally {
      await other.close();
    }
  });

  it('two audit logs on one file, each with its own worker, never fork, and the log verifies offline', async () => {
    const rootKey = randomBytes(32);
    const first = await openTestAuditLog(opened.store, { rootKey });
    const otherStore = await openStore({ kind: 'sqlite', path });
    const second = await openTestAuditLog(otherStore, { rootKey });
    try {
      const acknowledged = await Promise.all(
        [first.log, second.log].map(async (log, w) => {
          const indexes: number[] = [];
          for (let burst = 0; burst < 8; burst++) {
            const results = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(sampleEvent(w * 1000 + burst * 50 + i))));
            indexes.push(...results.map((r) => r.index));
          }
          return indexes;
        }),
      );
      expect(acknowledged.flat().sort((x, y) => x - y)).toEqual(Array.from({ length: 800 }, (_, i) => i));
      await first.log.signCheckpoint();
      expect(await checkStoredTree(opened.store)).toMatchObject({ size: 800 });
      const notes = (await first.log.checkpoints()).map((c) => c.note);
      const verified = await verifyLog({ verifierKey: first.log.verifierKey, entries: allEntries(first.log), checkpoints: notes });
      expect(verified).toMatchObject({ ok: true, size: 800, signedSize: 800 });
    } finally {
      for (const { log, barrier } of [first, second]) {
        await log.close();
        barrier.close();
      }
      await otherStore.close();
    }
  });

  it('fails the batch closed when the worker dies mid-commit; the next batch starts a new worker', async () => {
    let written = 0;
    const appender = open(100, (writer) => ({
      write: (batch) => {
        written += 1;
        return writer.write(batch);
      },
      close: () => writer.close(),
    }));
    await appender.append(sampleEvent(0));
    expect(workers).toHaveLength(1);
    const lock = holdWriteLock();
    const settled = Promise.allSettled([1, 2, 3].map((i) => appender.append(sampleEvent(i))));
    // Once the batch is posted, the worker blocks in BEGIN IMMEDIATE behind the held lock: it is in flight.
    while (written < 2) await tick();
    const terminated = workers[0]!.terminate();
    lock.release();
    await terminated;
    const results = await settled;
    expect(results.every(isUnavailable)).toBe(true);
    expect(appender.healthy()).toBe(false);

    await expect(appender.append(sampleEvent(4))).resolves.toMatchObject({ index: 1 });
    expect(appender.healthy()).toBe(true);
    expect(workers).toHaveLength(2);
    expect(await checkStoredTree(opened.store)).toMatchObject({ size: 2 });
  });

  it('a worker that exited while idle is replaced on the next batch', async () => {
    const appender = open(100);
    await appender.append(sampleEvent(0));
    await workers[0]!.terminate();
    await expect(appender.append(sampleEvent(1))).resolves.toMatchObject({ index: 1 });
    expect(workers).toHaveLength(2);
    expect(appender.healthy()).toBe(true);
  });

  it('keeps the event loop turning while a large batch waits on the write lock in the worker', async () => {
    const appender = open(5000);
    await appender.append(sampleEvent(0)); // the worker is up
    const lock = holdWriteLock();
    let settled = false;
    const large = Promise.all(Array.from({ length: 2000 }, (_, i) => appender.append(sampleEvent(1 + i)))).finally(() => {
      settled = true;
    });
    // In process, this commit would hold the main thread in SQLite's busy handler until the lock is released.
    let ticks = 0;
    for (; ticks < 50; ticks++) await tick();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBe(false);
    // Appends made meanwhile queue for the next batch.
    const next = appender.append(sampleEvent(5000));
    await tick();
    expect(settled).toBe(false);
    lock.release();
    const results = await large;
    expect(results.map((r) => r.index)).toEqual(Array.from({ length: 2000 }, (_, i) => 1 + i));
    await expect(next).resolves.toMatchObject({ index: 2001 });
    expect(ticks).toBe(50);
    expect(await checkStoredTree(opened.store)).toMatchObject({ size: 2002 });
  });

  it('close() flushes, ends the worker, and later appends are refused', async () => {
    const appender = open(100);
    const pending = Promise.all([0, 1, 2].map((i) => appender.append(sampleEvent(i))));
    const exited = new Promise<number>((resolve) => {
      const wait = () => (workers[0] === undefined ? setImmediate(wait) : workers[0].once('exit', resolve));
      wait();
    });
    await appender.close();
    await expect(pending).resolves.toHaveLength(3);
    expect(await exited).toBe(0);
    await expect(appender.append(sampleEvent(3))).rejects.toSatisfy((e) => isWardenError(e, 'WARDEN_AUDIT_UNAVAILABLE'));
    expect(await checkStoredTree(opened.store)).toMatchObject({ size: 3 });
  });

  it('rejects a malformed or failing write, rolls it back, and keeps the worker for the next one', async () => {
    const writer = createSqliteWriter({ path, onStart: (w) => workers.push(w) });
    closers.push(() => writer.close());
    const leaf = randomBytes(32);
    const batch = (expectedSize: number, expectedLastLeaf: Uint8Array | undefined, bodies: string[], leaves: Buffer[]) => ({
      expectedSize,
      expectedLastLeaf,
      createdAt: 1,
      bodies,
      leaves: new Uint8Array(Buffer.concat(leaves)),
      nodes: [],
      nodeHashes: new Uint8Array(0),
    });
    // A request that cannot be posted (not cloneable): refused, and the writer is not left waiting for it.
    await expect(writer.write({ ...batch(0, undefined, [], []), bodies: [(() => '{}') as unknown as string] })).rejects.toThrow(/could not be cloned/);
    // Hashes that do not match the row counts: refused before anything is written.
    await expect(writer.write(batch(0, undefined, ['{}', '{}'], [leaf]))).rejects.toThrow(/malformed/);
    // A node row repeating another's key fails after the entry was inserted: the whole transaction is rolled back.
    await expect(
      writer.write({ ...batch(0, undefined, ['{}'], [leaf]), nodes: [1, 0, 1, 0], nodeHashes: new Uint8Array(64) }),
    ).rejects.toThrow(/UNIQUE/);
    await expect(writer.write(batch(3, leaf, [], []))).resolves.toEqual({ status: 'stale', size: 0 });
    await expect(writer.write(batch(0, undefined, ['{}'], [leaf]))).resolves.toEqual({ status: 'ok' });
    // The last leaf is part of the expectation, not only the size.
    await expect(writer.write(batch(1, randomBytes(32), [], []))).resolves.toEqual({ status: 'stale', size: 1 });
    expect(workers).toHaveLength(1);
    const rows = await opened.store.db.selectFrom('audit_entries').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.leaf_hash.equals(leaf)).toBe(true);
    await writer.close();
    await expect(writer.write(batch(1, leaf, [], []))).rejects.toThrow(/closed/);
  });

  /** Runs testing/audit-writer-exit.ts on the log's file; resolves with its exit and output. */
  const runChild = async (args: string[]) => {
    const child = spawn(process.execPath, ['--import', 'tsx', exitScript, path, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('exit', (c, s) => resolve([c, s])),
    );
    clearTimeout(timer);
    return { code, signal, stderr, stdout: stdout.trim().split('\n') };
  };

  it('a process awaiting only an append stays up until it is durable, then exits without close()', async () => {
    // Exit code 13 would mean the process ended with the append (its top-level await) unsettled.
    expect(await runChild([])).toEqual({ code: 0, signal: null, stderr: '', stdout: ['0'] });
    expect(await checkStoredTree(opened.store)).toMatchObject({ size: 1 });
  });

  it('a process awaiting only close() stays up until the worker has exited', async () => {
    expect(await runChild(['close'])).toEqual({ code: 0, signal: null, stderr: '', stdout: ['0', 'closed'] });
    expect(await checkStoredTree(opened.store)).toMatchObject({ size: 1 });
  });
});
