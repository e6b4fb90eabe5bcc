/**
 * The SQLite backend: better-sqlite3 under Kysely, over a connection opened with Warden's pragmas
 * (`sqlite-connection.ts`), with a cache of prepared statements. `sqliteFilePath` names the file behind
 * an open store, for a second connection to it.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { SqliteStoreConfig } from '../config/schema.js';
import type { Database } from './database.js';
import { openSqliteDatabase } from './sqlite-connection.js';

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
