import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWardenError } from '../errors/index.js';
import type { ChangeContext } from '../identity/agents.js';
import { openTestAuditLog, type TestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { MAX_SECRET_BYTES, createSecretStore, type SecretStore } from './index.js';

const anyNumber: unknown = expect.any(Number);
const ctx: ChangeContext = { actor: { type: 'admin', id: 'alice' } };

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return isWardenError(err) ? err.code : `not a WardenError: ${String(err)}`;
  }
  return 'resolved';
}

/** Every encoding in which a marker could show up in what we scan (bytea prints as hex on PostgreSQL). */
function encodings(marker: string): string[] {
  const hex = Buffer.from(marker, 'utf8').toString('hex');
  return [marker, hex, hex.toUpperCase(), Buffer.from(marker, 'utf8').toString('base64')];
}

describe.each(storeBackends)('secret store on $name', (backend) => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let store: SecretStore;

  beforeAll(async () => {
    opened = await backend.openMigrated();
    audit = await openTestAuditLog(opened.store);
    store = createSecretStore({ db: opened.store.db, barrier: audit.barrier, audit: audit.log });
  });
  afterAll(async () => {
    await audit.log.close();
    await opened.cleanup();
  });

  /** Everything stored, as one string: the SQLite file and its WAL, or every row of every table as text. */
  async function dumpAtRest(): Promise<string> {
    if (opened.config.kind === 'sqlite') {
      const files = [opened.config.path, `${opened.config.path}-wal`];
      const bytes = await Promise.all(files.map((f) => readFile(f).catch(() => Buffer.alloc(0))));
      expect(bytes[0]!.length + bytes[1]!.length).toBeGreaterThan(0);
      return bytes.map((b) => `${b.toString('latin1')}\n${b.toString('hex')}`).join('\n');
    }
    const { rows: tables } = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = ${opened.config.schema}`.execute(opened.store.db);
    const parts: string[] = [];
    for (const { table_name } of tables) {
      const { rows } = await sql<{ t: string }>`select t::text as t from ${sql.table(table_name)} t`.execute(opened.store.db);
      parts.push(...rows.map((r) => r.t));
    }
    return parts.join('\n');
  }

  it('creates, replaces, lists, reveals and deletes a secret, auditing each change first', async () => {
    const receipts: number[] = [];
    const withReceipt: ChangeContext = { ...ctx, receipt: (i) => receipts.push(i) };
    const first = await store.set('github-pat', 'ghp_first', withReceipt);
    expect(first).toMatchObject({ name: 'github-pat', created: true });
    expect(first.createdAt).toEqual(expect.any(Number));
    expect(first.updatedAt).toBe(first.createdAt);
    expect(await store.reveal('github-pat')).toBe('ghp_first');

    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await store.set('github-pat', 'ghp_second ✓', withReceipt);
    expect(second).toMatchObject({ name: 'github-pat', created: false, createdAt: first.createdAt });
    expect(second.updatedAt).toBeGreaterThan(first.updatedAt);
    expect(await store.reveal('github-pat')).toBe('ghp_second ✓');

    await store.set('api.key_2', 'k', ctx);
    const listed = await store.list();
    expect(listed).toEqual([
      { name: 'api.key_2', createdAt: anyNumber, updatedAt: anyNumber },
      { name: 'github-pat', createdAt: first.createdAt, updatedAt: second.updatedAt },
    ]);

    await store.delete('api.key_2', withReceipt);
    expect(await refusal(store.reveal('api.key_2'))).toBe('WARDEN_NOT_FOUND');
    expect(await refusal(store.delete('api.key_2', ctx))).toBe('WARDEN_NOT_FOUND');
    expect((await store.list()).map((s) => s.name)).toEqual(['github-pat']);

    expect(receipts).toHaveLength(3);
    const bodies = (await audit.log.entries(receipts[0]!, 1000)).map((e) => JSON.parse(e.body!) as { index: number });
    const byIndex = new Map(bodies.map((b) => [b.index, b]));
    expect(byIndex.get(receipts[0]!)).toMatchObject({ action: 'secret.set', activity_id: 1, resource: { type: 'secret', id: 'github-pat' }, details: { created: true }, actor: { type: 'admin', id: 'alice' } });
    expect(byIndex.get(receipts[1]!)).toMatchObject({ action: 'secret.set', activity_id: 3, details: { created: false } });
    expect(byIndex.get(receipts[2]!)).toMatchObject({ action: 'secret.delete', activity_id: 4, resource: { type: 'secret', id: 'api.key_2' } });
  });

  it('keeps the plaintext out of the store, the audit log and the log lines', async () => {
    const marker = `SECRET-MARKER-${randomBytes(8).toString('hex')}`;
    await store.set('marker', `prefix ${marker} suffix`, ctx);
    await store.set('marker', `again ${marker} again`, ctx);
    expect(await store.reveal('marker')).toBe(`again ${marker} again`);

    const raw = await opened.store.db.selectFrom('secrets').select('value').where('name', '=', 'marker').executeTakeFirstOrThrow();
    for (const encoded of encodings(marker)) expect(raw.value.toString('latin1').includes(encoded)).toBe(false);

    // A control row written unencrypted, straight into the table, proves the scan can fail.
    const control = `CONTROL-MARKER-${randomBytes(8).toString('hex')}`;
    await opened.store.db.insertInto('secrets').values({ name: 'control', value: Buffer.from(control), created_at: 1, updated_at: 1 }).execute();
    const dump = await dumpAtRest();
    for (const encoded of encodings(marker)) expect(dump.includes(encoded), `${encoded} found at rest`).toBe(false);
    expect(encodings(control).some((encoded) => dump.includes(encoded))).toBe(true);
    await opened.store.db.deleteFrom('secrets').where('name', '=', 'control').execute();

    const entries = await audit.log.entries(0, 1000);
    expect(entries.some((e) => e.body!.includes('"secret.set"'))).toBe(true);
    for (const entry of entries) expect(entry.body!.includes(marker)).toBe(false);
    for (const line of audit.lines) expect(line.includes(marker)).toBe(false);
  });

  it('binds the ciphertext to its row: a value copied to another name does not decrypt', async () => {
    await store.set('source', 'copied-value', ctx);
    await store.set('target', 'target-value', ctx);
    const { value } = await opened.store.db.selectFrom('secrets').select('value').where('name', '=', 'source').executeTakeFirstOrThrow();
    await opened.store.db.updateTable('secrets').set({ value }).where('name', '=', 'target').execute();
    expect(await refusal(store.reveal('target'))).toBe('WARDEN_BARRIER_DECRYPT_FAILED');
  });

  it('refuses bad names and values without changing anything', async () => {
    await store.set('keep', 'original', ctx);
    const before = await store.list();
    const size = await audit.log.size();
    const badNames: unknown[] = ['', 'UPPER', '-leading', '.leading', 'has space', 'a/b', 'x'.repeat(64), 'ünïcode', 7, undefined];
    for (const name of badNames) {
      expect(await refusal(store.set(name as string, 'v', ctx)), String(name)).toBe('WARDEN_VALIDATION_FAILED');
      expect(await refusal(store.delete(name as string, ctx)), String(name)).toBe('WARDEN_VALIDATION_FAILED');
      expect(await refusal(store.reveal(name as string)), String(name)).toBe('WARDEN_VALIDATION_FAILED');
    }
    const badValues: unknown[] = ['', 'a\u0000b', 'x'.repeat(MAX_SECRET_BYTES + 1), '€'.repeat(Math.floor(MAX_SECRET_BYTES / 3) + 1), 'lone \ud800 surrogate', 42, null, undefined];
    for (const value of badValues) {
      expect(await refusal(store.set('keep', value as string, ctx)), typeof value === 'string' ? `${value.length} chars` : String(value)).toBe('WARDEN_VALIDATION_FAILED');
      expect(await refusal(store.set('fresh', value as string, ctx))).toBe('WARDEN_VALIDATION_FAILED');
    }
    expect(await store.list()).toEqual(before);
    expect(await store.reveal('keep')).toBe('original');
    expect(await audit.log.size()).toBe(size);

    // The limits are inclusive: 16 KiB of UTF-8 is accepted, multi-byte characters counted as bytes.
    const largest = `${'€'.repeat(Math.floor(MAX_SECRET_BYTES / 3))}${'x'.repeat(MAX_SECRET_BYTES % 3)}`;
    expect(Buffer.byteLength(largest)).toBe(MAX_SECRET_BYTES);
    await store.set('largest', largest, ctx);
    expect(await store.reveal('largest')).toBe(largest);
    await store.set('x', 'y', ctx);
    await store.set('z'.repeat(63), 'y', ctx);
  });

  it('refuses the change when the audit log is unavailable', async () => {
    const down = createSecretStore({
      db: opened.store.db,
      barrier: audit.barrier,
      audit: { append: () => Promise.reject(new Error('disk full')) },
    });
    await store.set('steady', 'before', ctx);
    expect(await refusal(down.set('steady', 'after', ctx))).toBe('WARDEN_AUDIT_UNAVAILABLE');
    expect(await refusal(down.set('newcomer', 'v', ctx))).toBe('WARDEN_AUDIT_UNAVAILABLE');
    expect(await refusal(down.delete('steady', ctx))).toBe('WARDEN_AUDIT_UNAVAILABLE');
    expect(await store.reveal('steady')).toBe('before');
    expect((await store.list()).map((s) => s.name)).not.toContain('newcomer');
  });
});
