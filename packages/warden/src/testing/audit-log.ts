/**
 * Test helpers for the audit log: open a barrier and an `AuditLog` over a test store with a logger that
 * captures its lines, a sample event, and `checkStoredTree`, which recomputes the whole Merkle tree from
 * the stored leaf hashes and compares every stored node and checkpoint root with it (no gaps, no
 * duplicates, no torn state).
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { AuditLog } from '../audit/log.js';
import { openAuditLog } from '../audit/log.js';
import type { AuditEvent } from '../audit/event.js';
import { createFrontier, rootHash } from '../audit/merkle.js';
import { openBarrier, type Barrier } from '../barrier/index.js';
import type { AuditConfig } from '../config/schema.js';
import { createLogger } from '../log/index.js';
import { createBarrierKeyringRepository, type Store } from '../store/index.js';

export interface TestAuditLog {
  readonly log: AuditLog;
  readonly barrier: Barrier;
  /** Every log line written so far (JSON). */
  readonly lines: string[];
}

export const testAuditConfig: Pick<AuditConfig, 'checkpointInterval' | 'maxBatch'> = {
  checkpointInterval: 0,
  maxBatch: 5000,
};

/** Opens a barrier (new or existing keyring, under `rootKey`) unless one is given, and an audit log over `store`. */
export async function openTestAuditLog(
  store: Store,
  options: {
    rootKey?: Uint8Array;
    /** Reuse an open barrier instead of opening one (another log over the same keyring). */
    barrier?: Barrier;
    config?: Partial<Pick<AuditConfig, 'checkpointInterval' | 'maxBatch'>>;
  } = {},
): Promise<TestAuditLog> {
  const barrier =
    options.barrier ??
    (await openBarrier({
      rootKey: options.rootKey ?? randomBytes(32),
      keyring: createBarrierKeyringRepository(store.db),
    }));
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  const log = await openAuditLog({
    store,
    barrier,
    config: { ...testAuditConfig, ...options.config },
    logger,
  });
  return { log, barrier, lines };
}

/** A representative event; `n` goes into the details so entries differ. */
export function sampleEvent(n: number, sensitive?: Record<string, string>): AuditEvent {
  return {
    class: 'api_activity',
    activityId: 1,
    action: 'mcp.call_tool',
    actor: { type: 'agent', id: `agent-${n % 7}` },
    source: { ip: '10.0.0.1', requestId: `req-${n}` },
    outcome: 'success',
    details: { n, tool: 'search' },
    ...(sensitive === undefined ? {} : { sensitive }),
  };
}

export interface StoredTreeReport {
  size: number;
  nodes: number;
  checkpoints: number;
}

/**
 * Recomputes the tree from every stored leaf hash (indexes must be exactly 0..n-1) and checks every
 * stored node and checkpoint root against it. Throws with a description of the first mismatch.
 */
export async function checkStoredTree(store: Store): Promise<StoredTreeReport> {
  const leaves = await store.db.selectFrom('audit_entries').select(['idx', 'leaf_hash']).orderBy('idx').execute();
  const expected = new Map<string, Buffer>();
  const frontier = createFrontier();
  const roots: Buffer[] = [];
  leaves.forEach((row, i) => {
    if (Number(row.idx) !== i) throw new Error(`entry index ${String(row.idx)} found where ${i} was expected`);
    for (const node of frontier.append(row.leaf_hash)) expected.set(`${node.level}/${node.index}`, node.hash);
    roots.push(frontier.root());
  });
  const nodes = await store.db.selectFrom('audit_nodes').selectAll().execute();
  if (nodes.length !== expected.size) throw new Error(`${nodes.length} stored nodes, ${expected.size} expected`);
  for (const node of nodes) {
    const hash = expected.get(`${node.level}/${Number(node.idx)}`);
    if (hash === undefined || !hash.equals(node.hash)) throw new Error(`stored node ${node.level}/${node.idx} is wrong`);
  }
  const checkpoints = await store.db.selectFrom('audit_checkpoints').selectAll().execute();
  for (const cp of checkpoints) {
    const size = Number(cp.size);
    const root = size === 0 ? rootHash(0, () => Buffer.alloc(0)) : roots[size - 1];
    if (root === undefined || !root.equals(cp.root)) throw new Error(`checkpoint at size ${size} has the wrong root`);
  }
  return { size: leaves.length, nodes: nodes.length, checkpoints: checkpoints.length };
}
