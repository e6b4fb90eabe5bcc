/**
 * The "no plaintext at rest" invariant, on both backends: secrets written through the barrier leave no
 * trace of their plaintext in the SQLite file and its WAL, or in any row of any table of the PostgreSQL
 * schema (as text, so bytea shows as `\x<hex>`). A control row written unencrypted proves the check can
 * fail.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBarrierKeyringRepository, createSecretRepository } from '../store/index.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { openBarrier, type Barrier } from './index.js';

/** Every encoding in which a marker could show up in what we scan. */
function encodings(marker: string): string[] {
  const hex = Buffer.from(marker, 'utf8').toString('hex');
  return [marker, hex, hex.toUpperCase()];
}

describe.each(storeBackends)('no plaintext at rest on $name', (backend) => {
  let opened: OpenedTestStore;
  let barrier: Barrier;

  beforeEach(async () => {
    opened = await backend.openMigrated();
    barrier = await openBarrier({ rootKey: randomBytes(32), keyring: createBarrierKeyringRepository(opened.store.db) });
  });
  afterEach(async () => {
    barrier.close();
    await opened.cleanup();
  });

  /** Everything stored, as one string: raw file bytes (latin1 keeps every byte) or every row as text. */
  async function dumpAtRest(): Promise<string> {
    if (opened.config.kind === 'sqlite') {
      const files = [opened.config.path, `${opened.config.path}-wal`];
      const bytes = await Promise.all(files.map((f) => readFile(f)));
      expect(bytes[1]!.length).toBeGreaterThan(0); // the WAL really holds the recent writes
      return bytes.map((b) => `${b.toString('latin1')}\n${b.toString('hex')}`).join('\n');
    }
    const { rows: tables } = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = ${opened.config.schema}`.execute(
      opened.store.db,
    );
    expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(['secrets', 'barrier_keys']));
    const parts: string[] = [];
    for (const { table_name } of tables) {
      const { rows } = await sql<{ t: string }>`select t::text as t from ${sql.table(table_name)} t`.execute(
        opened.store.db,
      );
      parts.push(...rows.map((r) => r.t));
    }
    return parts.join('\n');
  }

  it('stores only ciphertext for secrets written through the barrier', async () => {
    const secrets = createSecretRepository(opened.store.db);
    const markers = Array.from({ length: 5 }, (_, i) => `PLAINTEXT-MARKER-${i}-${randomBytes(6).toString('hex')}`);
    for (const [i, marker] of markers.entries()) {
      const name = `secret-${i}`;
      await secrets.put(name, barrier.encrypt(Buffer.from(`prefix ${marker} suffix`), { table: 'secrets', column: 'value', row: name }));
    }
    await barrier.rotate();

    const control = `CONTROL-MARKER-${randomBytes(6).toString('hex')}`;
    await secrets.put('control', Buffer.from(control, 'utf8')); // deliberately unencrypted

    const dump = await dumpAtRest();
    for (const marker of markers) {
      for (const encoded of encodings(marker)) expect(dump.includes(encoded), `${marker} found at rest`).toBe(false);
    }
    expect(encodings(control).some((encoded) => dump.includes(encoded))).toBe(true);
  });
});
