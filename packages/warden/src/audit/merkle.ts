/**
 * RFC 9162 §2.1 Merkle tree hashing for the audit log: leaf and node hashes, the tree head (MTH),
 * inclusion proofs (PATH) and consistency proofs (PROOF/SUBPROOF) with their verifiers, and the
 * frontier (compact range) that appends leaves in O(log n). Everything here is a pure function over
 * a `PerfectHash` lookup: every hash the RFC recursion needs is computed from perfect (complete)
 * subtrees, so a store that keeps every perfect subtree (level 0 = the entries' leaf hashes, level
 * >= 1 = a node table) answers any proof with O(log n) lookups, and `nodesFor` tells it which ones
 * to fetch in a single query. Indices and sizes are JS numbers, exact up to 2^53 - 1.
 */
import { createHash, hash } from 'node:crypto';

export const HASH_BYTES = 32;

/**
 * Hot path: one-shot `crypto.hash` over a reused scratch buffer, taking the digest as a latin1 ('binary') string
 * and copying it into a pooled Buffer, is about 2x faster on Node 20 than createHash or a 'buffer'
 * digest (which allocates a fresh backing store per hash).
 */
const SCRATCH_MAX = 1 << 20;
let scratch = Buffer.alloc(4096);
const nodeInput = Buffer.alloc(1 + 2 * HASH_BYTES);
nodeInput[0] = 0x01;

/** RFC 9162 leaf hash: SHA-256(0x00 || entry). */
export function leafHash(entry: Uint8Array): Buffer {
  return prefixed(0x00, entry);
}

/** RFC 9162 interior node hash: SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== HASH_BYTES || right.length !== HASH_BYTES) return prefixed(0x01, left, right);
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_BYTES);
  return sha256(nodeInput);
}

function prefixed(prefix: number, first: Uint8Array, second?: Uint8Array): Buffer {
  const length = 1 + first.length + (second?.length ?? 0);
  if (length > SCRATCH_MAX) {
    const h = createHash('sha256').update(Buffer.from([prefix])).update(first);
    if (second) h.update(second);
    return h.digest();
  }
  if (length > scratch.length) scratch = Buffer.alloc(2 ** Math.ceil(Math.log2(length)));
  scratch[0] = prefix;
  scratch.set(first, 1);
  if (second) scratch.set(second, 1 + first.length);
  return sha256(scratch.subarray(0, length));
}

function sha256(input: Uint8Array): Buffer {
  return Buffer.from(hash('sha256', input, 'binary'), 'binary');
}

/** Root of the empty tree: SHA-256 of the empty string. */
export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

export interface NodeId {
  level: number;
  index: number;
}

/** Hash of the perfect subtree at `level` covering leaves [index·2^level, (index+1)·2^level); level 0 = a leaf hash. */
export type PerfectHash = (level: number, index: number) => Uint8Array;

/** MTH(D[0:size]): the root hash of the first `size` leaves (EMPTY_ROOT for 0). */
export function rootHash(size: number, perfect: PerfectHash): Buffer {
  checkSize('size', size);
  if (size === 0) return EMPTY_ROOT;
  return rangeHash(0, size, perfect);
}

/**
 * RFC 9162 §2.1.3.1 PATH(leafIndex, D[0:size]): the inclusion proof of leaf `leafIndex` in the tree
 * of `size` leaves, deepest sibling first. Throws RangeError unless 0 <= leafIndex < size.
 */
export function inclusionProof(leafIndex: number, size: number, perfect: PerfectHash): Buffer[] {
  checkSize('leafIndex', leafIndex);
  checkSize('size', size);
  if (leafIndex >= size) throw new RangeError(`leafIndex ${leafIndex} is not below tree size ${size}`);
  const out: Buffer[] = [];
  path(leafIndex, 0, size, perfect, out);
  return out;
}

/**
 * RFC 9162 §2.1.4.1 PROOF(oldSize, D[0:newSize]): the consistency proof between the trees of
 * `oldSize` and `newSize` leaves. Empty when the sizes are equal. Throws RangeError unless
 * 0 < oldSize <= newSize.
 */
export function consistencyProof(oldSize: number, newSize: number, perfect: PerfectHash): Buffer[] {
  checkSize('oldSize', oldSize);
  checkSize('newSize', newSize);
  if (oldSize === 0) throw new RangeError('oldSize must be at least 1');
  if (oldSize > newSize) throw new RangeError(`oldSize ${oldSize} is larger than newSize ${newSize}`);
  const out: Buffer[] = [];
  subproof(oldSize, 0, newSize, true, perfect, out);
  return out;
}

/**
 * Which perfect subtrees `fn` reads: runs fn with a recording PerfectHash (returns zero hashes),
 * returns the distinct NodeIds in first-read order, so storage can fetch them in ONE query and run fn
 * again. Sound because no function here branches on hash values.
 */
export function nodesFor(fn: (perfect: PerfectHash) => unknown): NodeId[] {
  const zero = Buffer.alloc(HASH_BYTES);
  const seen = new Set<string>();
  const ids: NodeId[] = [];
  fn((level, index) => {
    const key = `${level}/${index}`;
    if (!seen.has(key)) {
      seen.add(key);
      ids.push({ level, index });
    }
    return zero;
  });
  return ids;
}

/**
 * RFC 9162 §2.1.3.2: true when `proof` shows that the leaf whose leaf hash is `leaf` (the output of
 * `leafHash`, not the entry) is at `leafIndex` in the tree of `size` leaves with root `root`. Returns
 * false for any inconsistent input (including leafIndex >= size); throws RangeError only when an
 * index or size is not a non-negative safe integer.
 */
export function verifyInclusion(
  leaf: Uint8Array,
  leafIndex: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  checkSize('leafIndex', leafIndex);
  checkSize('size', size);
  if (leafIndex >= size) return false;
  if (leaf.length !== HASH_BYTES || root.length !== HASH_BYTES) return false;
  let fn = leafIndex;
  let sn = size - 1;
  let r: Uint8Array = leaf;
  for (const p of proof) {
    if (p.length !== HASH_BYTES || sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && Buffer.compare(r, root) === 0;
}

/**
 * RFC 9162 §2.1.4.2: true when `proof` shows that the tree of `newSize` leaves with root `newRoot`
 * extends the tree of `oldSize` leaves with root `oldRoot`. Equal sizes need an empty proof and
 * equal roots; oldSize 0 needs an empty proof and oldRoot = EMPTY_ROOT. Returns false for any
 * inconsistent input (including oldSize > newSize); throws RangeError only when a size is not a
 * non-negative safe integer.
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  checkSize('oldSize', oldSize);
  checkSize('newSize', newSize);
  if (oldSize > newSize) return false;
  if (oldRoot.length !== HASH_BYTES || newRoot.length !== HASH_BYTES) return false;
  if (oldSize === newSize) return proof.length === 0 && Buffer.compare(oldRoot, newRoot) === 0;
  if (oldSize === 0) return proof.length === 0 && Buffer.compare(oldRoot, EMPTY_ROOT) === 0;
  if (proof.length === 0) return false;
  if (proof.some((p) => p.length !== HASH_BYTES)) return false;
  const path: readonly Uint8Array[] = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : proof;
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  const first = path[0];
  if (first === undefined) return false;
  let fr: Uint8Array = first;
  let sr: Uint8Array = first;
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Uint8Array;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && Buffer.compare(fr, oldRoot) === 0 && Buffer.compare(sr, newRoot) === 0;
}

/** The right edge of the tree (compact range): perfect subtrees of size's binary decomposition, left to right (largest first). */
export function frontierNodes(size: number): NodeId[] {
  checkSize('size', size);
  const ids: NodeId[] = [];
  let level = topLevel(size);
  let width = 2 ** level;
  let start = 0;
  while (start < size) {
    if (size - start >= width) {
      ids.push({ level, index: start / width });
      start += width;
    }
    width /= 2;
    level -= 1;
  }
  return ids;
}

export interface Frontier {
  readonly size: number;
  /**
   * Add the next leaf, given as its leaf hash (the output of `leafHash`); returns the perfect
   * subtrees of level >= 1 that this leaf completed (with hashes), lowest level first.
   */
  append(leaf: Uint8Array): Array<NodeId & { hash: Buffer }>;
  root(): Buffer;
  /** Current frontier hashes, matching frontierNodes(size). */
  hashes(): Buffer[];
}

/**
 * A frontier for a tree of `size` leaves (default empty), resumed from its stored `hashes` (one per
 * entry of frontierNodes(size), largest first). Throws RangeError when the count or a length does
 * not match.
 */
export function createFrontier(size = 0, hashes: readonly Uint8Array[] = []): Frontier {
  checkSize('size', size);
  const expected = frontierNodes(size).length;
  if (hashes.length !== expected) {
    throw new RangeError(`a frontier of size ${size} has ${expected} hashes, got ${hashes.length}`);
  }
  const stack: Buffer[] = hashes.map((h, i) => {
    if (h.length !== HASH_BYTES) throw new RangeError(`frontier hash ${i} is ${h.length} bytes, not ${HASH_BYTES}`);
    return Buffer.from(h);
  });
  let count = size;
  return {
    get size() {
      return count;
    },
    append(leaf) {
      if (leaf.length !== HASH_BYTES) throw new RangeError(`a leaf hash is ${HASH_BYTES} bytes, got ${leaf.length}`);
      if (count >= Number.MAX_SAFE_INTEGER) throw new RangeError('the tree is full');
      const completed: Array<NodeId & { hash: Buffer }> = [];
      let hash: Buffer = Buffer.from(leaf);
      let rest = count;
      let index = count;
      let level = 0;
      while (rest % 2 === 1) {
        const left = stack.pop() as Buffer;
        hash = nodeHash(left, hash);
        rest = (rest - 1) / 2;
        index = Math.floor(index / 2);
        level += 1;
        completed.push({ level, index, hash });
      }
      stack.push(hash);
      count += 1;
      return completed;
    },
    root() {
      let i = stack.length - 1;
      let hash = stack[i];
      if (hash === undefined) return EMPTY_ROOT;
      for (i -= 1; i >= 0; i--) hash = nodeHash(stack[i] as Buffer, hash);
      return hash;
    },
    hashes() {
      return [...stack];
    },
  };
}

/** MTH(D[start:end]) from perfect subtrees; start is a multiple of the largest power of two <= end - start. */
function rangeHash(start: number, end: number, perfect: PerfectHash): Buffer {
  const parts: Uint8Array[] = [];
  let level = topLevel(end - start);
  let width = 2 ** level;
  let pos = start;
  while (pos < end) {
    if (end - pos >= width) {
      parts.push(lookup(perfect, level, pos / width));
      pos += width;
    }
    width /= 2;
    level -= 1;
  }
  let i = parts.length - 1;
  let hash = parts[i] as Uint8Array;
  for (i -= 1; i >= 0; i--) hash = nodeHash(parts[i] as Uint8Array, hash);
  return Buffer.from(hash);
}

function lookup(perfect: PerfectHash, level: number, index: number): Uint8Array {
  const hash = perfect(level, index);
  if (hash.length !== HASH_BYTES) {
    throw new RangeError(`perfect subtree ${level}/${index} is ${hash.length} bytes, not ${HASH_BYTES}`);
  }
  return hash;
}

/** PATH(m, D[start:end]) appended to `out`, deepest first. */
function path(m: number, start: number, end: number, perfect: PerfectHash, out: Buffer[]): void {
  const n = end - start;
  if (n === 1) return;
  const k = largestPowerOfTwoBelow(n);
  if (m < start + k) {
    path(m, start, start + k, perfect, out);
    out.push(rangeHash(start + k, end, perfect));
  } else {
    path(m, start + k, end, perfect, out);
    out.push(rangeHash(start, start + k, perfect));
  }
}

/** SUBPROOF(m, D[start:end], b) appended to `out`, deepest first; m is relative to start. */
function subproof(m: number, start: number, end: number, complete: boolean, perfect: PerfectHash, out: Buffer[]): void {
  const n = end - start;
  if (m === n) {
    if (!complete) out.push(rangeHash(start, end, perfect));
    return;
  }
  const k = largestPowerOfTwoBelow(n);
  if (m <= k) {
    subproof(m, start, start + k, complete, perfect, out);
    out.push(rangeHash(start + k, end, perfect));
  } else {
    subproof(m - k, start + k, end, false, perfect, out);
    out.push(rangeHash(start, start + k, perfect));
  }
}

/** The largest power of two strictly below n (n >= 2). */
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** log2 of the largest power of two <= n (0 for n <= 1). */
function topLevel(n: number): number {
  let level = 0;
  let width = 1;
  while (width * 2 <= n) {
    width *= 2;
    level += 1;
  }
  return level;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && 2 ** topLevel(n) === n;
}

function checkSize(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${String(value)}`);
  }
}
