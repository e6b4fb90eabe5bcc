/**
 * The SQLite backend: better-sqlite3 under Kysely. The database file is created with mode 0600 (SQLite
 * gives its -wal and -shm files the same mode) and every connection runs in WAL mode with
 * synchronous=FULL (nothing acknowledged is lost on power failure), foreign keys on and a 5 s busy
 * timeout. `sqliteFilePath` names the file behind an open store, for a second connection to it.
 */
import { closeSync, openSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { SqliteStoreConfig } from '../config/schema.js';
import type { Database } from './database.js';
import { storeUnavailable } from './store-errors.js';

/** Opens the SQLite file at `config.path` (absolute) with Warden's pragmas, as a raw driver handle. */
export function openSqliteDatabase(config: SqliteStoreConfig): BetterSqlite3.Database {
  let raw: BetterSqlite3.Database | undefined;
  try {
    // 'a' creates the file if missing (with 0600) and never truncates an existing one.
    closeSync(openSync(config.path, 'a', 0o600));
    raw = new BetterSqlite3(config.path, { fileMustExist: true });
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = FULL');
    raw.pragma('foreign_keys = ON');
    raw.pragma('busy_timeout = 5000');
    return raw;
  } catch (err) {
    raw?.close();
    throw storeUnavailable(err);
  }
}

/** Prepared statements kept per connection. */
const STATEMENT_CACHE = 512;

/**
 * `db` with a bounded LRU cache of prepared statements. Kysely prepares every query it runs, and
 * preparing costs more than running most of Warden's queries. A statement that is still iterating
 * (`busy`) is never handed out again; a fresh one is prepared instead.
 */
export function withStatementCache(db: BetterSqlite3.Database, max = STATEMENT_CACHE): BetterSqlite3.Database {
  const cache = new Map<string, BetterSqlite3.Statement>();
  const prepare = (source: string): BetterSqlite3.Statement => {
    const cached = cache.get(source);
    if (cached !== undefined && !cached.busy) {
      cache.delete(source);
      cache.set(source, cached);
      return cached;
    }
    const statement = db.prepare(source);
    if (cached === undefined) {
      if (cache.size >= max) cache.delete(cache.keys().next().value as string);
      cache.set(source, statement);
    }
    return statement;
  };
  return new Proxy(db, {
    get(target, property) {
      if (property === 'prepare') return prepare;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

export function openSqliteKysely(config: SqliteStoreConfig): Kysely<Database> {
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(openSqliteDatabase(config)) }) });
}

/**
 * The file of the main database behind `db` (a SQLite Kysely), or undefined for an in-memory or
 * temporary database: what a second connection (e.g. the audit writer's worker thread) would open.
 */
export async function sqliteFilePath(db: Kysely<Database>): Promise<string | undefined> {
  const { rows } = await sql<{ file: string }>`select file from pragma_database_list where name = 'main'`.execute(db);
  const file = rows[0]?.file;
  return file === undefined || file === '' ? undefined : file;
}
