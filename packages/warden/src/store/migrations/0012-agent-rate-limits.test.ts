/**
 * Migration 0012 on both backends: an `agents` row written before it keeps working (its
 * `rate_limits` reads as NULL), and the new column holds JSON text and NULL.
 */
import { Migrator } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storeBackends, type OpenedTestStore } from '../../testing/stores.js';
import { createMigrationProvider } from './index.js';

describe.each(storeBackends)('migration 0012 on $name', (backend) => {
  let opened: OpenedTestStore;
  beforeEach(async () => {
    opened = await backend.open();
  });
  afterEach(async () => {
    await opened.cleanup();
  });

  it('adds a nullable rate_limits column to existing agents', async () => {
    const schema = opened.config.kind === 'postgres' ? opened.config.schema : undefined;
    const migrator = new Migrator({ db: opened.store.db, provider: createMigrationProvider(opened.store.kind), ...(schema === undefined ? {} : { migrationTableSchema: schema }) });
    expect((await migrator.migrateTo('0011-approvals')).error).toBeUndefined();
    const before = { name: 'old-bot', owner: 'o', roles: '[]', labels: '{}', clearance: 0, status: 'active', require_dpop: 0, created_at: 1, updated_at: 1 };
    // Written as before 0012: there is no rate_limits column yet.
    await opened.store.db.insertInto('agents').values(before).execute();

    await opened.store.migrate();
    expect(await opened.store.db.selectFrom('agents').select(['name', 'rate_limits']).execute()).toEqual([{ name: 'old-bot', rate_limits: null }]);
    await opened.store.db.insertInto('agents').values({ ...before, name: 'new-bot', rate_limits: null }).execute();

    const limits = JSON.stringify({ perAgent: { rate: 0.5, burst: 2 } });
    await opened.store.db.updateTable('agents').set({ rate_limits: limits }).where('name', '=', 'old-bot').execute();
    expect(await opened.store.db.selectFrom('agents').select(['name', 'rate_limits']).orderBy('name').execute()).toEqual([
      { name: 'new-bot', rate_limits: null },
      { name: 'old-bot', rate_limits: limits },
    ]);
  });
});
