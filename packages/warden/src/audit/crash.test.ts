/**
 * kill -9 in the middle of heavy appending: a child process (testing/audit-crash-writer.ts) appends
 * with group commit and prints every acknowledged index; the test SIGKILLs it mid-run, reopens the
 * store and checks that every acknowledged index is stored, the indexes are exactly 0..n-1, the whole
 * tree recomputes to the stored nodes and checkpoints (no torn state), and the log appends again.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../store/index.js';
import { checkStoredTree, openTestAuditLog, sampleEvent } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import type { AuditLog } from './log.js';
import { verifyLog } from './verify.js';

const writer = fileURLToPath(new URL('../testing/audit-crash-writer.ts', import.meta.url));

/** Runs the writer until it has acknowledged `atLeast` entries, then SIGKILLs it; returns the acknowledged indexes. */
async function runAndKill(args: string[], rootKey: Buffer, atLeast: number): Promise<number[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', writer, ...args], {
    env: { ...process.env, WARDEN_TEST_ROOT_KEY: rootKey.toString('hex') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acknowledged: number[] = [];
  let stderr = '';
  let partial = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (/^\d+$/.test(line)) acknowledged.push(Number(line));
      if (acknowledged.length >= atLeast && child.exitCode === null && !child.killed) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    // After the kill this is a no-op (already resolved).
    child.on('exit', () => reject(new Error(`the writer exited before it was killed: ${stderr}`)));
  });
  expect(await exited).toBe('SIGKILL');
  // Lines already in the pipe when the process died were acknowledged too.
  for (const line of partial.split('\n')) if (/^\d+$/.test(line)) acknowledged.push(Number(line));
  return acknowledged;
}

async function* allEntries(log: AuditLog) {
  for (let start = 0; ; start += 1000) {
    const page = await log.entries(start, 1000);
    yield* page;
    if (page.length < 1000) return;
  }
}

describe.each(storeBackends)('crash (kill -9) on $name', (backend) => {
  let opened: OpenedTestStore;
  beforeEach(async () => {
    opened = await backend.openMigrated();
  });
  afterEach(async () => {
    await opened.cleanup();
  });

  it('keeps every acknowledged entry and a tree without torn state', { timeout: 120_000 }, async () => {
    const rootKey = randomBytes(32);
    const args =
      opened.config.kind === 'sqlite'
        ? ['sqlite', opened.config.path.replace(/\/warden\.db$/, '')]
        : ['postgres', opened.config.url, opened.config.schema];
    await opened.store.close(); // the writer owns the database while it runs
    const acknowledged = await runAndKill(args, rootKey, 3000);
    expect(acknowledged.length).toBeGreaterThanOrEqual(3000);

    const store = await openStore(opened.config);
    try {
      const report = await checkStoredTree(store);
      const unique = new Set(acknowledged);
      expect(unique.size).toBe(acknowledged.length);
      expect(Math.max(...acknowledged)).toBeLessThan(report.size);
      expect(report.checkpoints).toBeGreaterThan(0);

      const { log, barrier } = await openTestAuditLog(store, { rootKey });
      try {
        const next = await log.append(sampleEvent(0));
        expect(next.index).toBe(report.size);
        await log.signCheckpoint();
        await expect(checkStoredTree(store)).resolves.toMatchObject({ size: report.size + 1 });
        // And an auditor's offline verification of the whole log against its signed checkpoints agrees.
        const notes = (await log.checkpoints()).map((c) => c.note);
        const verified = await verifyLog({ verifierKey: log.verifierKey, entries: allEntries(log), checkpoints: notes });
        expect(verified).toMatchObject({ ok: true, size: report.size + 1, signedSize: report.size + 1 });
      } finally {
        await log.close();
        barrier.close();
      }
    } finally {
      await store.close();
    }
  });
});
