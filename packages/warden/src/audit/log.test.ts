/**
 * The audit log on both backends: append/read round trip, contiguous indexes under 1,000 concurrent
 * appends, sensitive values only as HMACs at rest, proofs from the store equal to merkle's in-memory
 * proofs (and verifying), keys and origin kept across reopen, checkpoints only when grown, consistent
 * and verifying, parameter validation, and fail-closed behaviour with recovery.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isWardenError } from '../errors/index.js';
import { checkStoredTree, openTestAuditLog, sampleEvent, type TestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { openCheckpoint } from './checkpoint.js';
import { canonicalize } from './canonical-json.js';
import {
  consistencyProof,
  createFrontier,
  frontierNodes,
  inclusionProof,
  leafHash,
  verifyConsistency,
  verifyInclusion,
  type PerfectHash,
} from './merkle.js';

const code = (c: Parameters<typeof isWardenError>[1]) => (e: unknown) => isWardenError(e, c);

/** An in-memory PerfectHash over `leaves` (recomputed from scratch: independent of the store). */
function memoryTree(leaves: Buffer[]): PerfectHash {
  const nodes = new Map<string, Buffer>();
  const frontier = createFrontier();
  for (const leaf of leaves) for (const n of frontier.append(leaf)) nodes.set(`${n.level}/${n.index}`, n.hash);
  return (level, index) => (level === 0 ? leaves[index] : nodes.get(`${level}/${index}`)) ?? Buffer.alloc(0);
}

describe.each(storeBackends)('audit log on $name', (backend) => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  beforeEach(async () => {
    opened = await backend.openMigrated();
    audit = await openTestAuditLog(opened.store);
  });
  afterEach(async () => {
    await audit.log.close();
    audit.barrier.close();
    await opened.cleanup();
  });

  it('appends and reads entries back in order', async () => {
    const { log } = audit;
    expect(await log.size()).toBe(0);
    expect(await log.entries(0, 10)).toEqual([]);
    const first = await log.append(sampleEvent(0));
    const second = await log.append(sampleEvent(1));
    expect([first.index, second.index]).toEqual([0, 1]);
    expect(await log.size()).toBe(2);
    const entries = await log.entries(0, 10);
    expect(entries.map((e) => e.index)).toEqual([0, 1]);
    const body = JSON.parse(entries[1]!.body!) as Record<string, unknown>;
    expect(body).toMatchObject({ index: 1, action: 'mcp.call_tool', class_uid: 6003, status: 'success' });
    expect(canonicalize(body)).toBe(entries[1]!.body);
    expect(entries[1]!.leafHash.equals(leafHash(Buffer.from(entries[1]!.body!, 'utf8')))).toBe(true);
    expect(entries[1]!.leafHash.equals(second.leafHash)).toBe(true);
    expect((await log.entries(1, 1)).map((e) => e.index)).toEqual([1]);
    expect(await log.entries(5, 1)).toEqual([]);
  });

  it('gives 1,000 concurrent appends the indexes 0..999 exactly once', async () => {
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => audit.log.append(sampleEvent(i))));
    expect(results.map((r) => r.index).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    const entries = [...(await audit.log.entries(0, 1000))];
    expect(entries).toHaveLength(1000);
    expect(await checkStoredTree(opened.store)).toMatchObject({ size: 1000, nodes: 994 }); // 1000 - popcount(1000) perfect subtrees
    expect(entries.map((e) => e.index)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    await expect(audit.log.entries(0, 5000)).resolves.toHaveLength(1000);
  });

  it('caps entries() at 1,000 and validates its arguments', async () => {
    await Promise.all(Array.from({ length: 1001 }, (_, i) => audit.log.append(sampleEvent(i))));
    expect(await audit.log.entries(0, 2000)).toHaveLength(1000);
    expect(await audit.log.entries(0, 0)).toEqual([]);
    await expect(audit.log.entries(-1, 1)).rejects.toSatisfy(code('WARDEN_VALIDATION_FAILED'));
    await expect(audit.log.entries(0, 1.5)).rejects.toSatisfy(code('WARDEN_VALIDATION_FAILED'));
  });

  it('stores sensitive values only as HMACs', async () => {
    const marker = `secret-${randomBytes(8).toString('hex')}`;
    await audit.log.append(sampleEvent(0, { password: marker }));
    const [entry] = await audit.log.entries(0, 1);
    const body = JSON.parse(entry!.body!) as { hashed: Record<string, string> };
    expect(body.hashed.password).toBe(audit.log.hmac(marker));
    expect(audit.log.hmac(marker)).toMatch(/^hmac-sha256:[A-Za-z0-9+/]{43}=$/);
    const hex = Buffer.from(marker).toString('hex');
    if (opened.config.kind === 'sqlite') {
      const files = [opened.config.path, `${opened.config.path}-wal`];
      const dump = (await Promise.all(files.map((f) => readFile(f).catch(() => Buffer.alloc(0))))).map((b) => b.toString('latin1')).join('');
      expect(dump).toContain('mcp.call_tool'); // the scan sees the entries
      expect(dump).not.toContain(marker);
      expect(dump).not.toContain(hex);
    } else {
      for (const table of ['audit_entries', 'audit_nodes', 'audit_checkpoints', 'system_keys']) {
        const { rows } = await sql<{ t: string }>`select t::text as t from ${sql.table(table)} t`.execute(opened.store.db);
        for (const { t } of rows) {
          expect(t).not.toContain(marker);
          expect(t).not.toContain(hex);
        }
      }
    }
  });

  it('keeps its keys and origin across reopen; they are stored only as barrier ciphertext', async () => {
    const { log } = audit;
    expect(log.origin).toMatch(/^warden\/[0-9a-f]{16}$/);
    const again = await openTestAuditLog(opened.store, { barrier: audit.barrier });
    try {
      expect(again.log.origin).toBe(log.origin);
      expect(again.log.verifierKey).toBe(log.verifierKey);
      expect(again.log.hmac('x')).toBe(log.hmac('x'));
    } finally {
      await again.log.close();
    }
    // A different root key cannot open the keyring, hence not the keys either.
    await expect(openTestAuditLog(opened.store, { rootKey: randomBytes(32) })).rejects.toThrow();
    const rows = await opened.store.db.selectFrom('system_keys').select(['name', 'value']).execute();
    expect(rows.map((r) => r.name).sort()).toEqual(['audit.checkpoint-signing-key', 'audit.hmac-key', 'audit.origin']);
    expect(rows.every((r) => !r.value.toString('latin1').includes(log.origin))).toBe(true);
  });

  it('serves inclusion and consistency proofs equal to the in-memory ones', async () => {
    const { log } = audit;
    for (let i = 0; i < 37; i++) await log.append(sampleEvent(i)); // many small commits
    await Promise.all(Array.from({ length: 40 }, (_, i) => log.append(sampleEvent(100 + i))));
    const leaves = (await log.entries(0, 1000)).map((e) => e.leafHash);
    const memory = memoryTree(leaves);
    for (const size of [1, 2, 3, 7, 8, 33, 64, 77]) {
      const root = createFrontier(size, frontierNodes(size).map((n) => memory(n.level, n.index))).root();
      for (const index of [0, Math.floor(size / 2), size - 1]) {
        const proof = await log.inclusionProof(index, size);
        expect(proof).toEqual(inclusionProof(index, size, memory));
        expect(verifyInclusion(leaves[index]!, index, size, proof, root)).toBe(true);
      }
      for (const from of [1, Math.ceil(size / 3), size]) {
        const proof = await log.consistencyProof(from, size);
        expect(proof).toEqual(consistencyProof(from, size, memory));
        const oldRoot = createFrontier(from, frontierNodes(from).map((n) => memory(n.level, n.index))).root();
        expect(verifyConsistency(from, size, oldRoot, root, proof)).toBe(true);
      }
      expect(await log.frontier(size)).toEqual(frontierNodes(size).map((n) => memory(n.level, n.index)));
    }
    expect(await log.frontier(0)).toEqual([]);
  });

  it('refuses bad proof parameters with WARDEN_VALIDATION_FAILED', async () => {
    const { log } = audit;
    await Promise.all([0, 1, 2].map((i) => log.append(sampleEvent(i))));
    const invalid = code('WARDEN_VALIDATION_FAILED');
    await expect(log.inclusionProof(3, 3)).rejects.toSatisfy(invalid);
    await expect(log.inclusionProof(0, 4)).rejects.toSatisfy(invalid);
    await expect(log.inclusionProof(-1, 2)).rejects.toSatisfy(invalid);
    await expect(log.consistencyProof(0, 2)).rejects.toSatisfy(invalid);
    await expect(log.consistencyProof(3, 2)).rejects.toSatisfy(invalid);
    await expect(log.consistencyProof(1, 4)).rejects.toSatisfy(invalid);
    await expect(log.frontier(4)).rejects.toSatisfy(invalid);
    await expect(log.checkpoints(-1)).rejects.toSatisfy(invalid);
  });

  it('signs checkpoints only when the log grew; each is consistent with the previous and verifies', async () => {
    const { log } = audit;
    await log.signCheckpoint();
    expect(await log.latestCheckpoint()).toBeUndefined(); // nothing to sign for an empty log
    await Promise.all([0, 1, 2].map((i) => log.append(sampleEvent(i))));
    await log.signCheckpoint();
    await log.signCheckpoint(); // not grown: no new checkpoint
    await Promise.all([3, 4, 5, 6, 7].map((i) => log.append(sampleEvent(i))));
    await log.signCheckpoint();
    const checkpoints = await log.checkpoints();
    expect(checkpoints.map((c) => c.size)).toEqual([3, 8]);
    for (const c of checkpoints) {
      const openedNote = openCheckpoint(c.note, log.verifierKey);
      expect(openedNote).toMatchObject({ origin: log.origin, size: c.size });
      expect(openedNote.root.equals(c.root)).toBe(true);
    }
    const proof = await log.consistencyProof(3, 8);
    expect(verifyConsistency(3, 8, checkpoints[0]!.root, checkpoints[1]!.root, proof)).toBe(true);
    expect((await log.latestCheckpoint())?.size).toBe(8);
    expect((await log.checkpoints(4)).map((c) => c.size)).toEqual([8]);
    expect((await log.checkpoints(0, 1)).map((c) => c.size)).toEqual([3]);
  });

  it('signs on its interval only when grown', async () => {
    const { log } = await openTestAuditLog(opened.store, { barrier: audit.barrier, config: { checkpointInterval: 30 } });
    try {
      await log.append(sampleEvent(0));
      await expect.poll(async () => (await log.checkpoints()).map((c) => c.size), { timeout: 5000 }).toEqual([1]);
      await new Promise((r) => setTimeout(r, 150));
      expect((await log.checkpoints()).map((c) => c.size)).toEqual([1]);
      await log.append(sampleEvent(1));
      await expect.poll(async () => (await log.checkpoints()).map((c) => c.size), { timeout: 5000 }).toEqual([1, 2]);
    } finally {
      await log.close();
    }
  });

  it('refuses to sign a checkpoint inconsistent with the latest one', async () => {
    const { log } = audit;
    await Promise.all([0, 1, 2, 3].map((i) => log.append(sampleEvent(i))));
    await log.signCheckpoint();
    // Rewrite history: a different leaf 1 (and its parent node), as an attacker with database access might.
    const forged = leafHash(Buffer.from('forged'));
    await opened.store.db.updateTable('audit_entries').set({ leaf_hash: forged }).where('idx', '=', 1).execute();
    await opened.store.db.deleteFrom('audit_nodes').execute();
    const frontier = createFrontier();
    const leaves = (await log.entries(0, 10)).map((e) => e.leafHash);
    for (const leaf of leaves) {
      for (const n of frontier.append(leaf)) {
        await opened.store.db.insertInto('audit_nodes').values({ level: n.level, idx: n.index, hash: n.hash }).execute();
      }
    }
    await log.append(sampleEvent(4));
    await expect(log.signCheckpoint()).rejects.toSatisfy(code('WARDEN_AUDIT_VERIFY_FAILED'));
    expect((await log.checkpoints()).map((c) => c.size)).toEqual([4]);
    expect(audit.lines.join('')).toContain('audit checkpoint refused');
  });

  it('fails closed when the log cannot be written, and recovers', async () => {
    const { log } = audit;
    await log.append(sampleEvent(0));
    expect(log.healthy()).toBe(true);
    await sql`alter table audit_nodes rename to audit_nodes_away`.execute(opened.store.db);
    // Two entries complete a node: the commit needs audit_nodes and fails as a whole.
    const failed = await Promise.allSettled([log.append(sampleEvent(1)), log.append(sampleEvent(2))]);
    for (const f of failed) {
      expect(f.status).toBe('rejected');
      expect((f as PromiseRejectedResult).reason).toSatisfy(code('WARDEN_AUDIT_UNAVAILABLE'));
      expect(((f as PromiseRejectedResult).reason as Error).cause).toBeDefined();
    }
    expect(log.healthy()).toBe(false);
    expect(await log.size()).toBe(1); // nothing of the failed batch is stored
    expect(audit.lines.join('')).toContain('audit log commit failed');
    await sql`alter table audit_nodes_away rename to audit_nodes`.execute(opened.store.db);
    const next = await log.append(sampleEvent(3));
    expect(next.index).toBe(1);
    expect(log.healthy()).toBe(true);
    expect(await checkStoredTree(opened.store)).toMatchObject({ size: 2 });
  });

  it('refuses an event that cannot be serialized without failing its batch', async () => {
    const bad = { ...sampleEvent(1), details: { n: Number.NaN } };
    const [ok, refused, ok2] = await Promise.allSettled([
      audit.log.append(sampleEvent(0)),
      audit.log.append(bad),
      audit.log.append(sampleEvent(2)),
    ]);
    expect(ok).toMatchObject({ status: 'fulfilled', value: { index: 0 } });
    expect(ok2).toMatchObject({ status: 'fulfilled', value: { index: 1 } });
    expect((refused as PromiseRejectedResult).reason).toSatisfy(code('WARDEN_VALIDATION_FAILED'));
    expect(audit.log.healthy()).toBe(true);
  });

  it('flushes queued appends and signs a final checkpoint on close, then refuses appends', async () => {
    const pending = Array.from({ length: 50 }, (_, i) => audit.log.append(sampleEvent(i)));
    await audit.log.close();
    expect((await Promise.all(pending)).length).toBe(50);
    expect((await audit.log.latestCheckpoint())?.size).toBe(50);
    await expect(audit.log.append(sampleEvent(99))).rejects.toSatisfy(code('WARDEN_AUDIT_UNAVAILABLE'));
  });
});
