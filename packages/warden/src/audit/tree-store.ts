/**
 * The Merkle tree as stored: perfect subtree hashes come from `audit_entries.leaf_hash` (level 0) and
 * `audit_nodes` (level >= 1), fetched for a list of NodeIds in ONE query. Roots, inclusion and
 * consistency proofs and frontiers are computed by `merkle.ts` over those lookups: `nodesFor` records
 * which O(log n) subtrees a computation reads, one query fetches them, and the computation runs again.
 * Callers validate sizes against the committed log size first; a missing node is a corrupt store.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/database.js';
import {
  consistencyProof,
  frontierNodes,
  inclusionProof,
  nodesFor,
  rootHash,
  type NodeId,
  type PerfectHash,
} from './merkle.js';

/** Every NodeId as `level/index`. */
const keyOf = (level: number, index: number): string => `${level}/${index}`;

/**
 * Reads the given perfect subtrees in one query and returns a lookup over them. Asking the lookup for a
 * subtree that was not stored throws (the tree is incomplete: a corrupt or foreign store).
 */
export async function readPerfect(db: Kysely<Database>, ids: readonly NodeId[]): Promise<PerfectHash> {
  const found = new Map<string, Buffer>();
  const leaves = ids.filter((id) => id.level === 0).map((id) => id.index);
  const inner = ids.filter((id) => id.level > 0);
  const parts = [];
  if (leaves.length > 0) {
    parts.push(sql`select 0 as level, idx, leaf_hash as hash from audit_entries where idx in (${sql.join(leaves)})`);
  }
  if (inner.length > 0) {
    const terms = inner.map((id) => sql`(level = ${id.level} and idx = ${id.index})`);
    parts.push(sql`select level, idx, hash from audit_nodes where ${sql.join(terms, sql` or `)}`);
  }
  if (parts.length > 0) {
    const { rows } = await sql<{ level: number | string; idx: number | string; hash: Buffer }>`${sql.join(
      parts,
      sql` union all `,
    )}`.execute(db);
    for (const row of rows) found.set(keyOf(Number(row.level), Number(row.idx)), row.hash);
  }
  return (level, index) => {
    const hash = found.get(keyOf(level, index));
    if (hash === undefined) throw new Error(`audit tree node ${keyOf(level, index)} is missing from the store`);
    return hash;
  };
}

/** Runs `fn` over the stored tree: records the subtrees it reads, fetches them in one query, runs it again. */
export async function withStoredTree<T>(db: Kysely<Database>, fn: (perfect: PerfectHash) => T): Promise<T> {
  return fn(await readPerfect(db, nodesFor(fn)));
}

export interface TreeStore {
  /** MTH of the first `size` entries. */
  rootAt(size: number): Promise<Buffer>;
  /** RFC 9162 inclusion proof of entry `index` in the tree of `size` entries. */
  inclusionProof(index: number, size: number): Promise<Buffer[]>;
  /** RFC 9162 consistency proof from the tree of `from` entries to the tree of `to` (0 < from <= to). */
  consistencyProof(from: number, to: number): Promise<Buffer[]>;
  /** The frontier (compact range) hashes of the tree of `size` entries, matching `frontierNodes(size)`. */
  frontier(size: number): Promise<Buffer[]>;
}

export function createTreeStore(db: Kysely<Database>): TreeStore {
  return {
    rootAt: (size) => withStoredTree(db, (perfect) => rootHash(size, perfect)),
    inclusionProof: (index, size) => withStoredTree(db, (perfect) => inclusionProof(index, size, perfect)),
    consistencyProof: (from, to) => withStoredTree(db, (perfect) => consistencyProof(from, to, perfect)),
    async frontier(size) {
      const ids = frontierNodes(size);
      const perfect = await readPerfect(db, ids);
      return ids.map((id) => Buffer.from(perfect(id.level, id.index)));
    },
  };
}
