/**
 * Group commit, on both backends: concurrent appends share transactions (bounded by maxBatch), appends
 * queued during a commit go to the next one, a second writer on the same database invalidates the
 * cached frontier (no fork), and a failed batch rejects all of its callers.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isWardenError } from '../errors/index.js';
import { createLogger } from '../log/index.js';
import { checkStoredTree, sampleEvent } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { createAppender, type Appender } from './appender.js';

const logger = createLogger({ level: 'silent' });
const hmac = (value: string) => `hmac-sha256:${Buffer.from(value).toString('base64')}`;

describe.each(storeBackends)('appender on $name', (backend) => {
  let opened: OpenedTestStore;
  let clock: number;
  /** A distinct entry time per commit, so created_at identifies the transaction of each entry. */
  const open = (maxBatch: number): Appender =>
    createAppender({ db: opened.store.db, kind: opened.store.kind, hmac, maxBatch, logger, now: () => new Date(++clock) });
  beforeEach(async () => {
    opened = await backend.openMigrated();
    clock = Date.UTC(2030, 0, 1);
  });
  afterEach(async () => {
    await opened.cleanup();
  });

  const commitSizes = async (): Promise<number[]> => {
    const rows = await opened.store.db.selectFrom('audit_entries').select('created_at').orderBy('idx').execute();
    const sizes = new Map<number, number>();
    for (const { created_at } of rows) sizes.set(created_at, (sizes.get(created_at) ?? 0) + 1);
    return [...sizes.values()];
  };

  it('commits concurrent appends together, at most maxBatch per transaction', async () => {
    const appender = open(64);
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => appender.append(sampleEvent(i))));
    expect(results.map((r) => r.index)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(await commitSizes()).toEqual([64, 64, 64, 64, 44]);
    await appender.close();
  });

  it('queues appends made during a commit for the next transaction', async () => {
    const appender = open(1000);
    const first = appender.append(sampleEvent(0));
    const during = first.then(() => Promise.all([appender.append(sampleEvent(1)), appender.append(sampleEvent(2))]));
    const late = Promise.all([1, 2, 3].map((i) => appender.append(sampleEvent(10 + i))));
    await Promise.all([first, during, late]);
    // The first transaction took everything queued before it started; the two later ones went together.
    expect(await commitSizes()).toEqual([4, 2]);
  });

  it('rereads the frontier when another writer appended (no fork)', async () => {
    const a = open(100);
    const b = open(100);
    for (let round = 0; round < 5; round++) {
      await Promise.all([0, 1, 2].map((i) => a.append(sampleEvent(round * 10 + i))));
      await b.append(sampleEvent(round * 10 + 5));
    }
    expect(await checkStoredTree(opened.store)).toMatchObject({ size: 20 });
  });

  it('rejects every caller of a failed batch and reports unhealthy until a commit succeeds', async () => {
    const appender = open(100);
    await opened.store.db.schema.alterTable('audit_entries').renameTo('audit_entries_away').execute();
    const settled = await Promise.allSettled([1, 2, 3].map((i) => appender.append(sampleEvent(i))));
    expect(settled.every((s) => s.status === 'rejected' && isWardenError(s.reason, 'WARDEN_AUDIT_UNAVAILABLE'))).toBe(true);
    expect(appender.healthy()).toBe(false);
    await opened.store.db.schema.alterTable('audit_entries_away').renameTo('audit_entries').execute();
    await expect(appender.append(sampleEvent(4))).resolves.toMatchObject({ index: 0 });
    expect(appender.healthy()).toBe(true);
  });

  it('fails closed after the store is closed', async () => {
    const appender = open(100);
    await appender.append(sampleEvent(0));
    await opened.store.close();
    await expect(appender.append(sampleEvent(1))).rejects.toSatisfy((e) => isWardenError(e, 'WARDEN_AUDIT_UNAVAILABLE'));
    expect(appender.healthy()).toBe(false);
  });
});
