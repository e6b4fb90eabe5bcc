/**
 * Benchmark: single-row insert and select-by-primary-key through the store (Kysely) on SQLite and on
 * PostgreSQL, each against the raw driver in the same run — a better-sqlite3 prepared statement on a
 * database opened with the same pragmas, and pg `query` on a pool with the same settings. PostgreSQL
 * runs in a fresh schema that is dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import type { PostgresStoreConfig } from '../src/config/schema.js';
import { createPostgresPool, openSqliteDatabase, openStore } from '../src/store/index.js';
import { dropPostgresSchema, testPostgresUrl } from '../src/testing/stores.js';

const options = { time: 1000, warmupTime: 200 };
const value = randomBytes(256);
const PRELOADED = 1000;
let seq = 0;
const nextName = (prefix: string) => `${prefix}-${seq++}`;
const preloadedName = (i: number) => `pre-${i % PRELOADED}`;

// SQLite: the store and a raw handle on the same file (WAL allows both).
const dir = await mkdtemp(join(tmpdir(), 'warden-bench-'));
const sqliteConfig = { kind: 'sqlite', path: join(dir, 'warden.db') } as const;
const sqliteStore = await openStore(sqliteConfig);
await sqliteStore.migrate();
const rawSqlite = openSqliteDatabase(sqliteConfig);
const rawSqliteInsert = rawSqlite.prepare('insert into secrets (name, value, created_at, updated_at) values (?, ?, ?, ?)');
const rawSqliteSelect = rawSqlite.prepare('select * from secrets where name = ?');

// PostgreSQL: the store and a raw pool with the same settings, in a fresh schema.
const pgConfig: PostgresStoreConfig = {
  kind: 'postgres',
  url: testPostgresUrl,
  schema: `warden_bench_${randomBytes(6).toString('hex')}`,
  poolSize: 10,
};
const pgStore = await openStore(pgConfig);
await pgStore.migrate();
const rawPool = createPostgresPool(pgConfig);

for (let i = 0; i < PRELOADED; i++) {
  const now = Date.now();
  rawSqliteInsert.run(preloadedName(i), value, now, now);
  await rawPool.query('insert into secrets (name, value, created_at, updated_at) values ($1, $2, $3, $4)', [preloadedName(i), value, now, now]);
}

afterAll(async () => {
  rawSqlite.close();
  await sqliteStore.close();
  await rm(dir, { recursive: true, force: true });
  await rawPool.end();
  await pgStore.close();
  await dropPostgresSchema(pgConfig.schema);
});

describe('sqlite: insert one row', () => {
  bench('baseline: better-sqlite3 prepared statement', () => {
    const now = Date.now();
    rawSqliteInsert.run(nextName('raw'), value, now, now);
  }, options);
  bench('warden: store (Kysely)', async () => {
    const now = Date.now();
    await sqliteStore.db.insertInto('secrets').values({ name: nextName('kysely'), value, created_at: now, updated_at: now }).execute();
  }, options);
});

describe('sqlite: select by primary key', () => {
  bench('baseline: better-sqlite3 prepared statement', () => {
    rawSqliteSelect.get(preloadedName(seq++));
  }, options);
  bench('warden: store (Kysely)', async () => {
    await sqliteStore.db.selectFrom('secrets').selectAll().where('name', '=', preloadedName(seq++)).executeTakeFirst();
  }, options);
});

describe('postgres: insert one row', () => {
  bench('baseline: pg pool.query', async () => {
    const now = Date.now();
    await rawPool.query('insert into secrets (name, value, created_at, updated_at) values ($1, $2, $3, $4)', [nextName('raw'), value, now, now]);
  }, options);
  bench('warden: store (Kysely)', async () => {
    const now = Date.now();
    await pgStore.db.insertInto('secrets').values({ name: nextName('kysely'), value, created_at: now, updated_at: now }).execute();
  }, options);
});

describe('postgres: select by primary key', () => {
  bench('baseline: pg pool.query', async () => {
    await rawPool.query('select * from secrets where name = $1', [preloadedName(seq++)]);
  }, options);
  bench('warden: store (Kysely)', async () => {
    await pgStore.db.selectFrom('secrets').selectAll().where('name', '=', preloadedName(seq++)).executeTakeFirst();
  }, options);
});
