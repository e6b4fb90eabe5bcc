import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { createRevocations } from './revocations.js';

describe.each(storeBackends)('revocations and replay guards on $name', (backend) => {
  let opened: OpenedTestStore;
  let clock = 1_000_000;
  beforeAll(async () => {
    opened = await backend.openMigrated();
  });
  afterAll(async () => {
    await opened.cleanup();
  });

  it('accepts a single-use id once per scope, on every node sharing the database', async () => {
    const a = createRevocations({ db: opened.store.db, now: () => clock });
    const b = createRevocations({ db: opened.store.db, now: () => clock });
    expect(await a.useOnce('dpop', 'j1', clock + 1000)).toBe(true);
    expect(await b.useOnce('dpop', 'j1', clock + 1000)).toBe(false);
    expect(await a.useOnce('dpop', 'j1', clock + 1000)).toBe(false);
    expect(await b.useOnce('assertion', 'j1', clock + 1000)).toBe(true);
  });

  it('revokes locally at once, on other nodes after a refresh, and prunes expired rows', async () => {
    const a = createRevocations({ db: opened.store.db, now: () => clock });
    const b = createRevocations({ db: opened.store.db, now: () => clock });
    await b.refresh();
    await a.revoke('t1', clock + 5000);
    await a.revoke('t1', clock + 5000);
    expect(a.isRevoked('t1')).toBe(true);
    expect(b.isRevoked('t1')).toBe(false);
    await b.refresh();
    expect(b.isRevoked('t1')).toBe(true);
    // A fresh node loads existing revocations on its first refresh.
    const c = createRevocations({ db: opened.store.db, now: () => clock });
    await c.refresh();
    expect(c.isRevoked('t1')).toBe(true);
    clock += 10_000;
    await a.prune();
    expect(a.isRevoked('t1')).toBe(false);
    expect(await opened.store.db.selectFrom('token_revocations').selectAll().execute()).toEqual([]);
    expect(await opened.store.db.selectFrom('token_replay_guards').selectAll().execute()).toEqual([]);
    expect(await a.useOnce('dpop', 'j1', clock + 1000)).toBe(true);
  });
});
