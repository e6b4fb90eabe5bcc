/**
 * Retention on both backends: a pass archives exactly the old entries up to a signed checkpoint into a
 * bundle that verifies (with the pinned key only), removes their bodies and nothing else, records itself
 * in the log, and leaves the live log, its proofs and its stored tree valid; later passes continue where
 * the last one stopped. A young entry, a missing checkpoint, an unwritable archive, a bundle that does
 * not verify, a failed audit append or a foreign file under the bundle's name remove nothing; a lock
 * held by another PostgreSQL session skips the pass; the timer logs failures instead of throwing.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isWardenError } from '../errors/index.js';
import { createLogger } from '../log/index.js';
import { checkStoredTree, openTestAuditLog, sampleEvent, type TestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { readBundle, verifyBundle } from './bundle.js';
import { openCheckpoint, verifierKey } from './checkpoint.js';
import type { AuditEntry } from './event.js';
import type { AuditLog } from './log.js';
import { verifyInclusion } from './merkle.js';
import { RETENTION_LOCK_CLASS, createRetention, type RetentionOptions } from './retention.js';
import { verifyLog } from './verify.js';

const DAY = 86_400_000;
const code = (c: Parameters<typeof isWardenError>[1]) => (e: unknown) => isWardenError(e, c);

/** Appends `n` entries (one group commit), then signs a checkpoint unless told not to. */
async function grow(log: AuditLog, n: number, checkpoint = true): Promise<void> {
  const size = await log.size();
  await Promise.all(Array.from({ length: n }, (_, i) => log.append(sampleEvent(size + i))));
  if (checkpoint) await log.signCheckpoint();
}

async function allEntries(log: AuditLog): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for (let page = await log.entries(0, 1000); page.length > 0; page = await log.entries(out.length, 1000)) out.push(...page);
  return out;
}

const removed = (entries: readonly AuditEntry[]) => entries.filter((e) => e.body === null).map((e) => e.index);

describe.each(storeBackends)('audit retention on $name', (backend) => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let dir: string;
  let archiveDir: string;
  let lines: string[];
  const retention = (overrides: Partial<RetentionOptions> & { horizon?: number } = {}) => {
    const { horizon = DAY, ...rest } = overrides;
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString('utf8'));
        callback();
      },
    });
    return createRetention({
      log: audit.log,
      db: opened.store.db,
      kind: opened.store.kind,
      config: { horizon, archiveDir, interval: 60_000 },
      logger: createLogger({ level: 'info', destination }),
      now: () => Date.now() + 2 * DAY,
      ...rest,
    });
  };

  beforeEach(async () => {
    opened = await backend.openMigrated();
    audit = await openTestAuditLog(opened.store);
    dir = await mkdtemp(join(tmpdir(), 'warden-retention-'));
    archiveDir = join(dir, 'archive', 'audit');
    lines = [];
    await grow(audit.log, 100);
    await grow(audit.log, 150);
    await grow(audit.log, 50);
    await grow(audit.log, 20, false); // 320 entries, checkpoints at 100, 250 and 300
  });
  afterEach(async () => {
    await audit.log.close();
    audit.barrier.close();
    await opened.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('archives the old entries up to the last checkpoint and leaves the log verifiable', async () => {
    const { log } = audit;
    const before = await allEntries(log);
    const result = await retention().runOnce();
    const bundle = join(archiveDir, 'audit-0-299.bundle');
    expect(result).toEqual({ archived: 300, from: 0, to: 299, bundle });
    expect((await stat(bundle)).mode & 0o777).toBe(0o600);
    expect((await stat(archiveDir)).mode & 0o777).toBe(0o700);
    expect(await readdir(archiveDir)).toEqual(['audit-0-299.bundle']);

    const after = await allEntries(log);
    expect(after).toHaveLength(321);
    expect(removed(after)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    after.slice(300, 320).forEach((e, i) => expect(e).toEqual(before[300 + i]));
    after.forEach((e, i) => expect(e.leafHash.equals(before[i]?.leafHash ?? after[i]!.leafHash)).toBe(true));

    const record = JSON.parse(after[320]!.body!) as Record<string, unknown>;
    const sha256 = createHash('sha256').update(await readFile(bundle)).digest('hex');
    expect(record).toMatchObject({
      action: 'audit.retention',
      class_uid: 3004,
      activity_id: 4,
      actor: { type: 'system', id: 'warden' },
      resource: { type: 'audit_entries', id: '0-299' },
      details: { from: 0, to: 299, bundle: 'audit-0-299.bundle', sha256 },
    });

    const read = await readBundle(bundle);
    expect(read.header).toMatchObject({ from: 0, size: 300, origin: log.origin });
    expect(read.checkpoints.map((note) => openCheckpoint(note, log.verifierKey).size)).toEqual([100, 250, 300]);
    const archived: AuditEntry[] = [];
    for await (const entry of read.entries) archived.push(entry);
    expect(archived).toEqual(before.slice(0, 300));
    expect(await verifyBundle(bundle, { verifierKey: log.verifierKey })).toMatchObject({ ok: true, size: 300, signedSize: 300 });
    const other = verifierKey(log.origin, generateKeyPairSync('ed25519').publicKey);
    expect(await verifyBundle(bundle, { verifierKey: other })).toMatchObject({ ok: false, problem: { kind: 'checkpoint_forged' } });

    await log.signCheckpoint();
    const checkpoints = (await log.checkpoints()).map((c) => c.note);
    const report = await verifyLog({ verifierKey: log.verifierKey, entries: after, checkpoints });
    expect(report).toMatchObject({ ok: true, size: 321, signedSize: 321 });
    const latest = (await log.latestCheckpoint())!;
    for (const index of [0, 1, 99, 150, 299]) {
      const proof = await log.inclusionProof(index, latest.size);
      expect(verifyInclusion(before[index]!.leafHash, index, latest.size, proof, latest.root)).toBe(true);
    }
    expect(await checkStoredTree(opened.store)).toMatchObject({ size: 321, checkpoints: 4 });
  });

  it('continues from where the last pass stopped, with a bundle that starts mid-log', async () => {
    const { log } = audit;
    const run = retention();
    await run.runOnce();
    await grow(log, 30); // 351 entries, checkpoint at 351
    const second = await run.runOnce();
    expect(second).toEqual({ archived: 51, from: 300, to: 350, bundle: join(archiveDir, 'audit-300-350.bundle') });
    expect(await verifyBundle(second.bundle!, { verifierKey: log.verifierKey })).toMatchObject({ ok: true, size: 351 });
    const entries = await allEntries(log);
    expect(removed(entries)).toEqual(Array.from({ length: 351 }, (_, i) => i));
    expect(entries).toHaveLength(352);
    const checkpoints = (await log.checkpoints()).map((c) => c.note);
    expect(await verifyLog({ verifierKey: log.verifierKey, entries, checkpoints })).toMatchObject({ ok: true, signedSize: 351 });
    expect(await run.runOnce()).toEqual({ archived: 0 }); // only the new retention record is left, not yet checkpointed
    expect((await readdir(archiveDir)).sort()).toEqual(['audit-0-299.bundle', 'audit-300-350.bundle']);
  });

  it('archives nothing when no entry is older than the horizon', async () => {
    expect(await retention({ now: Date.now }).runOnce()).toEqual({ archived: 0 });
    expect(removed(await allEntries(audit.log))).toEqual([]);
    expect(await audit.log.size()).toBe(320);
  });

  it('stops at the first young entry and at a checkpoint before it', async () => {
    const old = Date.now() - 2 * DAY;
    await opened.store.db.updateTable('audit_entries').set({ created_at: old }).where('idx', '<', 260).execute();
    await opened.store.db.updateTable('audit_entries').set({ created_at: old }).where('idx', '=', 270).execute();
    expect(await retention({ now: Date.now }).runOnce()).toMatchObject({ archived: 250, from: 0, to: 249 });
    expect(removed(await allEntries(audit.log))).toEqual(Array.from({ length: 250 }, (_, i) => i));
  });

  it('archives nothing that no checkpoint covers', async () => {
    const run = retention();
    await run.runOnce();
    await grow(audit.log, 40, false);
    expect(await run.runOnce()).toEqual({ archived: 0 });
    expect(removed(await allEntries(audit.log))).toHaveLength(300);
  });

  it('removes nothing when the archive directory cannot be created', async () => {
    archiveDir = join(dir, 'not-a-dir');
    await writeFile(archiveDir, 'x');
    await expect(retention().runOnce()).rejects.toSatisfy(code('WARDEN_AUDIT_UNAVAILABLE'));
    expect(removed(await allEntries(audit.log))).toEqual([]);
    expect(await audit.log.size()).toBe(320);
  });

  it('removes nothing and keeps no file when the bundle does not verify', async () => {
    const [entry] = await audit.log.entries(7, 1);
    const altered = entry!.body!.replace('"search"', '"s3arch"');
    await opened.store.db.updateTable('audit_entries').set({ body: altered }).where('idx', '=', 7).execute();
    await expect(retention().runOnce()).rejects.toSatisfy(code('WARDEN_AUDIT_VERIFY_FAILED'));
    expect(await readdir(archiveDir)).toEqual([]);
    expect(removed(await allEntries(audit.log))).toEqual([]);
    expect(await audit.log.size()).toBe(320);
  });

  it('removes nothing when the pass cannot be recorded, and reuses the identical bundle later', async () => {
    await audit.log.close(); // signs a final checkpoint at 320
    await expect(retention().runOnce()).rejects.toSatisfy(code('WARDEN_AUDIT_UNAVAILABLE'));
    expect(removed(await allEntries(audit.log))).toEqual([]);
    expect(await readdir(archiveDir)).toEqual(['audit-0-319.bundle']);
    audit = await openTestAuditLog(opened.store, { barrier: audit.barrier });
    expect(await retention().runOnce()).toMatchObject({ archived: 320, from: 0, to: 319 });
    expect(await readdir(archiveDir)).toEqual(['audit-0-319.bundle']);
  });

  it('never overwrites a different file of the same name', async () => {
    const path = join(archiveDir, 'audit-0-299.bundle');
    await mkdir(archiveDir, { recursive: true });
    await writeFile(path, 'someone else\n');
    await expect(retention().runOnce()).rejects.toSatisfy(code('WARDEN_AUDIT_UNAVAILABLE'));
    expect(await readFile(path, 'utf8')).toBe('someone else\n');
    expect(await readdir(archiveDir)).toEqual(['audit-0-299.bundle']);
    expect(removed(await allEntries(audit.log))).toEqual([]);
  });

  it('runs overlapping calls as one pass', async () => {
    const run = retention();
    const [first, second] = await Promise.all([run.runOnce(), run.runOnce()]);
    expect(second).toBe(first);
    expect(await audit.log.size()).toBe(321);
  });

  it('stop() waits for a running pass', async () => {
    const run = retention();
    const pending = run.runOnce();
    await run.stop();
    expect(removed(await allEntries(audit.log))).toHaveLength(300);
    await expect(pending).resolves.toMatchObject({ archived: 300 });
  });

  it.runIf(backend.name === 'postgres')('skips the pass while another session holds the lock', async () => {
    const key = sql`${sql.lit(RETENTION_LOCK_CLASS)}::int4, hashtext(current_schema())`;
    await opened.store.db.connection().execute(async (conn) => {
      await sql`select pg_advisory_lock(${key})`.execute(conn);
      try {
        expect(await retention().runOnce()).toEqual({ archived: 0 });
      } finally {
        await sql`select pg_advisory_unlock(${key})`.execute(conn);
      }
    });
    expect(removed(await allEntries(audit.log))).toEqual([]);
    expect(await retention().runOnce()).toMatchObject({ archived: 300 });
  });

  it('runs on a timer, logs failures, and stop() waits for the pass', async () => {
    const run = retention({ config: { horizon: DAY, archiveDir, interval: 20 } });
    run.start();
    run.start();
    await vi.waitFor(async () => expect(removed(await allEntries(audit.log))).toHaveLength(300), { timeout: 5000 });
    await run.stop();

    await rm(archiveDir, { recursive: true, force: true });
    await writeFile(archiveDir, 'x');
    await grow(audit.log, 10);
    const failing = retention({ config: { horizon: DAY, archiveDir, interval: 20 } });
    failing.start();
    await vi.waitFor(() => expect(lines.join('')).toContain('audit retention failed'), { timeout: 5000 });
    await failing.stop();
    expect(removed(await allEntries(audit.log))).toHaveLength(300);
  });
});
