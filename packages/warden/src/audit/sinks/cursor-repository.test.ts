/**
 * The cursor repository on both backends: 0 when absent, upsert, never backwards, one cursor per sink.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storeBackends, type OpenedTestStore } from '../../testing/stores.js';
import { createSinkCursorRepository } from './cursor-repository.js';

describe.each(storeBackends)('sink cursors on $name', (backend) => {
  let opened: OpenedTestStore;
  beforeEach(async () => {
    opened = await backend.openMigrated();
  });
  afterEach(async () => {
    await opened.cleanup();
  });

  it('starts at 0, moves forward, never backwards', async () => {
    let now = 1_000;
    const cursors = createSinkCursorRepository(opened.store.db, () => now);
    expect(await cursors.get('siem')).toBe(0);
    await cursors.set('siem', 10);
    expect(await cursors.get('siem')).toBe(10);
    now = 2_000;
    await cursors.set('siem', 2 ** 40);
    expect(await cursors.get('siem')).toBe(2 ** 40);
    now = 3_000;
    await cursors.set('siem', 5);
    expect(await cursors.get('siem')).toBe(2 ** 40);
    const row = await opened.store.db.selectFrom('audit_sink_cursors').selectAll().executeTakeFirstOrThrow();
    expect([row.name, Number(row.next_index), Number(row.updated_at)]).toEqual(['siem', 2 ** 40, 2_000]);
  });

  it('keeps one cursor per sink name', async () => {
    const cursors = createSinkCursorRepository(opened.store.db);
    await cursors.set('a', 3);
    await cursors.set('b', 7);
    expect([await cursors.get('a'), await cursors.get('b'), await cursors.get('c')]).toEqual([3, 7, 0]);
  });

  it('refuses a negative or fractional index', async () => {
    const cursors = createSinkCursorRepository(opened.store.db);
    await expect(cursors.set('a', -1)).rejects.toThrow(RangeError);
    await expect(cursors.set('a', 1.5)).rejects.toThrow(RangeError);
  });
});
