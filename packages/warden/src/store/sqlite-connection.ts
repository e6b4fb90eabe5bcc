/**
 * A raw SQLite connection with Warden's pragmas, without Kysely (the audit writer's worker thread opens
 * one, and loading Kysely would triple its start-up time). The database file is created with mode 0600
 * (SQLite gives its -wal and -shm files the same mode) and every connection runs in WAL mode with
 * synchronous=FULL (nothing acknowledged is lost on power failure), foreign keys on and a 5 s busy
 * timeout.
 */
import { closeSync, openSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import type { SqliteStoreConfig } from '../config/schema.js';
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
