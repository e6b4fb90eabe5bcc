/**
 * Tests of `openStore` on both backends: pragmas and file mode on SQLite, schema isolation on
 * PostgreSQL, idempotent migrations, ping/close, and unreachable-database errors that leak nothing.
 */
import { statSync } from 'node:fs';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isWardenError } from '../errors/index.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { openStore } from './index.js';

describe.each(storeBackends)('store on $name', (backend) => {
  let opened: OpenedTestStore;
  beforeEach(async () => {
    opened = await backend.open();
  });
  afterEach(async () => {
    await opened.cleanup();
  });

  it('reports its kind and answers ping', async () => {
    expect(opened.store.kind).toBe(backend.name);
    await expect(opened.store.ping()).resolves.toBeUndefined();
  });

  it('migrates idempotently and creates the tables', async () => {
    await opened.store.migrate();
    await opened.store.migrate();
    const tables = (await opened.store.db.introspection.getTables()).map((t) => t.name);
    expect(tables).toEqual(expect.arrayContaining(['barrier_keys', 'secrets']));
  });

  it('returns int8 millisecond timestamps as numbers and bytes as Buffer', async () => {
    await opened.store.migrate();
    const at = Date.UTC(2030, 0, 1);
    await opened.store.db
      .insertInto('secrets')
      .values({ name: 'n', value: Buffer.from([0, 1, 255]), created_at: at, updated_at: at })
      .execute();
    const row = await opened.store.db.selectFrom('secrets').selectAll().executeTakeFirstOrThrow();
    expect(row.created_at).toBe(at);
    expect(Buffer.isBuffer(row.value)).toBe(true);
    expect([...row.value]).toEqual([0, 1, 255]);
  });

  it('throws WARDEN_STORE_UNAVAILABLE from ping after close', async () => {
    await opened.store.close();
    await expect(opened.store.ping()).rejects.toSatisfy((e) => isWardenError(e, 'WARDEN_STORE_UNAVAILABLE'));
  });

  if (backend.name === 'sqlite') {
    it('creates the file with mode 0600 and sets the pragmas', async () => {
      await opened.store.migrate();
      const path = (opened.config as { path: string }).path;
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(statSync(`${path}-wal`).mode & 0o777).toBe(0o600);
      const pragma = async (name: string) =>
        Object.values((await sql.raw<Record<string, unknown>>(`pragma ${name}`).execute(opened.store.db)).rows[0]!)[0];
      expect(await pragma('journal_mode')).toBe('wal');
      expect(await pragma('synchronous')).toBe(2); // FULL
      expect(await pragma('foreign_keys')).toBe(1);
      expect(await pragma('busy_timeout')).toBe(5000);
    });
  } else {
    it('keeps its tables in its own schema via search_path', async () => {
      await opened.store.migrate();
      const schema = (opened.config as { schema: string }).schema;
      const { rows } = await sql<{ table_name: string }>`
        select table_name from information_schema.tables where table_schema = ${schema} order by table_name`.execute(
        opened.store.db,
      );
      expect(rows.map((r) => r.table_name)).toEqual(
        expect.arrayContaining(['barrier_keys', 'secrets', 'kysely_migration', 'kysely_migration_lock']),
      );
    });

    it('migrates concurrently from two nodes', async () => {
      const other = await openStore(opened.config);
      try {
        await Promise.all([opened.store.migrate(), other.migrate()]);
      } finally {
        await other.close();
      }
    });
  }
});

describe('unreachable store', () => {
  it('PostgreSQL: WARDEN_STORE_UNAVAILABLE without the password', async () => {
    const password = 'hunter2-very-secret';
    const err: unknown = await openStore({
      kind: 'postgres',
      url: `postgres://warden:${password}@127.0.0.1:1/warden`,
      schema: 'warden',
      poolSize: 1,
    }).catch((e: unknown) => e);
    expect(isWardenError(err, 'WARDEN_STORE_UNAVAILABLE')).toBe(true);
    const { message } = err as Error;
    expect(message).not.toContain(password);
    expect(message).not.toContain('postgres://');
    expect(JSON.stringify(err)).not.toContain(password);
  });

  it('SQLite: WARDEN_STORE_UNAVAILABLE when the directory does not exist', async () => {
    const err: unknown = await openStore({ kind: 'sqlite', path: '/nonexistent-warden-dir/x/warden.db' }).catch(
      (e: unknown) => e,
    );
    expect(isWardenError(err, 'WARDEN_STORE_UNAVAILABLE')).toBe(true);
  });
});

describe('migrations on a shared PostgreSQL database', () => {
  const postgres = storeBackends.find((b) => b.name === 'postgres')!;

  it('are not disturbed by other schemas being dropped at the same time', async () => {
    // Other Warden deployments (or test runs) in the same database come and go while this one migrates.
    for (let round = 0; round < 3; round++) {
      const others = await Promise.all(Array.from({ length: 4 }, () => postgres.openMigrated()));
      const migrating = Promise.all(Array.from({ length: 4 }, () => postgres.openMigrated()));
      await Promise.all(others.map((o) => o.cleanup()));
      const migrated = await migrating;
      for (const m of migrated) {
        const tables = await m.store.db.introspection.getTables();
        expect(tables.map((t) => t.name)).toContain('audit_entries');
      }
      await Promise.all(migrated.map((m) => m.cleanup()));
    }
  });
});
