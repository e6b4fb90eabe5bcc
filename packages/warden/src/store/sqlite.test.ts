import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database } from './database.js';
import { openSqliteDatabase } from './sqlite-connection.js';
import { openSqliteKysely, sqliteFilePath, withStatementCache } from './sqlite.js';

describe('SQLite statement cache', () => {
  let dir: string;
  let raw: BetterSqlite3.Database;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'warden-sqlite-'));
    raw = openSqliteDatabase({ kind: 'sqlite', path: join(dir, 'db') });
    raw.exec('create table t (n integer)');
  });
  afterEach(() => {
    raw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('returns the same prepared statement for the same SQL, and a fresh one while it is iterating', () => {
    const db = withStatementCache(raw, 2);
    const insert = db.prepare('insert into t (n) values (?)');
    expect(db.prepare('insert into t (n) values (?)')).toBe(insert);
    for (const n of [1, 2, 3]) insert.run(n);
    const select = db.prepare('select n from t order by n');
    const iterator = select.iterate();
    iterator.next();
    const other = db.prepare('select n from t order by n');
    expect(other).not.toBe(select);
    expect(other.all()).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    iterator.return?.();
    expect(db.prepare('select n from t order by n')).toBe(select);
  });

  it('evicts the least recently used statement beyond its bound; other members pass through', () => {
    const db = withStatementCache(raw, 2);
    const a = db.prepare('select 1');
    db.prepare('select 2');
    db.prepare('select 1');
    db.prepare('select 3');
    expect(db.prepare('select 1')).toBe(a);
    expect(db.prepare('select 2')).not.toBe(a);
    expect(db.open).toBe(true);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
  });
});

describe('sqliteFilePath', () => {
  it('names the file behind a file-backed database and nothing for an in-memory one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-sqlite-'));
    const path = join(dir, 'warden.db');
    const file = openSqliteKysely({ kind: 'sqlite', path });
    const memory = new Kysely<Database>({ dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }) });
    try {
      expect(await sqliteFilePath(file)).toBe(path);
      expect(await sqliteFilePath(memory)).toBeUndefined();
    } finally {
      await file.destroy();
      await memory.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
