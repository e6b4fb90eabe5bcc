/**
 * Test helper: run the same tests against both store backends in one run. Each backend opens a fresh,
 * isolated store — SQLite in a new temp directory, PostgreSQL in a new `warden_test_<hex>` schema that
 * is dropped (CASCADE) at cleanup — so concurrent runs never collide. PostgreSQL comes from
 * WARDEN_TEST_POSTGRES_URL (default: local trust auth); when it is unreachable the tests fail, never skip.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { PostgresStoreConfig, SqliteStoreConfig } from '../config/schema.js';
import { openStore, type Store } from '../store/index.js';

export const testPostgresUrl = process.env.WARDEN_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface OpenedTestStore {
  readonly store: Store;
  /** The config the store was opened with (the SQLite file path, or the PostgreSQL schema). */
  readonly config: SqliteStoreConfig | PostgresStoreConfig;
  /** Closes the store and removes its data (temp dir / schema). */
  cleanup(): Promise<void>;
}

export interface StoreBackend {
  readonly name: 'sqlite' | 'postgres';
  /** A fresh store, not yet migrated. */
  open(): Promise<OpenedTestStore>;
  /** A fresh store, migrated. */
  openMigrated(): Promise<OpenedTestStore>;
}

async function openSqlite(): Promise<OpenedTestStore> {
  const dir = await mkdtemp(join(tmpdir(), 'warden-store-'));
  const config: SqliteStoreConfig = { kind: 'sqlite', path: join(dir, 'warden.db') };
  const store = await openStore(config);
  return {
    store,
    config,
    async cleanup() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Drops a test schema through a separate client (the store's pool may already be closed). */
export async function dropPostgresSchema(schema: string, url = testPostgresUrl): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}

async function openPostgres(): Promise<OpenedTestStore> {
  const schema = `warden_test_${randomBytes(8).toString('hex')}`;
  const config: PostgresStoreConfig = { kind: 'postgres', url: testPostgresUrl, schema, poolSize: 4 };
  const store = await openStore(config);
  return {
    store,
    config,
    async cleanup() {
      await store.close();
      await dropPostgresSchema(schema);
    },
  };
}

function backend(name: StoreBackend['name'], open: () => Promise<OpenedTestStore>): StoreBackend {
  return {
    name,
    open,
    async openMigrated() {
      const opened = await open();
      try {
        await opened.store.migrate();
      } catch (err) {
        await opened.cleanup();
        throw err;
      }
      return opened;
    },
  };
}

/** Use with `describe.each(storeBackends)('store on $name', (backend) => { ... })`. */
export const storeBackends: readonly StoreBackend[] = [backend('sqlite', openSqlite), backend('postgres', openPostgres)];
