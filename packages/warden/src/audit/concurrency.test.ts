/**
 * Several writers on one database never fork the log: 4 AuditLog instances, each over its OWN store
 * (its own pg pool / its own SQLite connection) on one schema or file, append concurrently. The stored
 * indexes are exactly 0..n-1, every writer's acknowledged indexes are distinct, the whole tree
 * recomputes to the stored nodes, and checkpoints signed by different instances are consistent.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../store/index.js';
import { checkStoredTree, openTestAuditLog, sampleEvent, type TestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { openCheckpoint } from './checkpoint.js';
import { verifyConsistency } from './merkle.js';

const WRITERS = 4;
const PER_WRITER = 500;

describe.each(storeBackends)('concurrent writers on $name', (backend) => {
  let opened: OpenedTestStore;
  let stores: Store[];
  let logs: TestAuditLog[];
  beforeEach(async () => {
    opened = await backend.openMigrated();
    const rootKey = randomBytes(32);
    // The first log creates the keyring and the audit keys; the others load them.
    const first = await openTestAuditLog(opened.store, { rootKey });
    stores = await Promise.all(Array.from({ length: WRITERS - 1 }, () => openStore(opened.config)));
    logs = [first, ...(await Promise.all(stores.map((store) => openTestAuditLog(store, { rootKey }))))];
  });
  afterEach(async () => {
    for (const { log, barrier } of logs) {
      await log.close();
      barrier.close();
    }
    for (const store of stores) await store.close();
    await opened.cleanup();
  });

  it(`${WRITERS} instances × ${PER_WRITER} appends: contiguous, no duplicates, one consistent tree`, async () => {
    expect(new Set(logs.map(({ log }) => log.origin)).size).toBe(1);
    const acknowledged = await Promise.all(
      logs.map(async ({ log }, w) => {
        const indexes: number[] = [];
        // Bursts, so each instance commits many batches interleaved with the others.
        for (let burst = 0; burst < 10; burst++) {
          const results = await Promise.all(
            Array.from({ length: PER_WRITER / 10 }, (_, i) => log.append(sampleEvent(w * PER_WRITER + burst * 100 + i))),
          );
          indexes.push(...results.map((r) => r.index));
          if (burst % 3 === w % 3) await log.signCheckpoint();
        }
        return indexes;
      }),
    );
    const all = acknowledged.flat().sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: WRITERS * PER_WRITER }, (_, i) => i));
    await Promise.all(logs.map(({ log }) => log.signCheckpoint()));

    const report = await checkStoredTree(opened.store);
    expect(report.size).toBe(WRITERS * PER_WRITER);
    const checkpoints = await logs[0]!.log.checkpoints();
    expect(checkpoints.length).toBeGreaterThan(1);
    expect(checkpoints.at(-1)?.size).toBe(WRITERS * PER_WRITER);
    for (let i = 0; i < checkpoints.length; i++) {
      const c = checkpoints[i]!;
      expect(openCheckpoint(c.note, logs[0]!.log.verifierKey).root.equals(c.root)).toBe(true);
      const previous = checkpoints[i - 1];
      if (previous) {
        const proof = await logs[i % WRITERS]!.log.consistencyProof(previous.size, c.size);
        expect(verifyConsistency(previous.size, c.size, previous.root, c.root, proof)).toBe(true);
      }
    }
    for (const { log } of logs) expect(log.healthy()).toBe(true);
  });

  it('instances opening a fresh database at once agree on one set of keys', async () => {
    const fresh = await backend.openMigrated();
    const others = await Promise.all(Array.from({ length: 3 }, () => openStore(fresh.config)));
    const rootKey = randomBytes(32);
    const first = await openTestAuditLog(fresh.store, { rootKey });
    await first.log.close();
    // The keyring exists; now open 4 logs at once against an empty system_keys table.
    await fresh.store.db.deleteFrom('system_keys').execute();
    const opened4 = await Promise.all([fresh.store, ...others].map((store) => openTestAuditLog(store, { rootKey })));
    try {
      expect(new Set(opened4.map(({ log }) => log.verifierKey)).size).toBe(1);
      expect(new Set(opened4.map(({ log }) => log.hmac('v'))).size).toBe(1);
      expect(await fresh.store.db.selectFrom('system_keys').select('name').execute()).toHaveLength(3);
    } finally {
      for (const { log, barrier: b } of [...opened4, first]) {
        await log.close();
        b.close();
      }
      for (const store of others) await store.close();
      await fresh.cleanup();
    }
  });
});
