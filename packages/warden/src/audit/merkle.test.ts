/**
 * Tests for the RFC 9162 Merkle tree: the published transparency-dev/merkle known answers (leaf
 * inputs, roots, node hashes, inclusion and consistency proofs), an independent naive implementation
 * written here straight from the RFC's recursive definitions compared at every size 1..70, tampered
 * proofs refused, argument validation, and the frontier (append, completed subtrees, resume).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_ROOT,
  HASH_BYTES,
  consistencyProof,
  createFrontier,
  frontierNodes,
  inclusionProof,
  leafHash,
  nodeHash,
  nodesFor,
  rootHash,
  verifyConsistency,
  verifyInclusion,
  type PerfectHash,
} from './merkle.js';

const hd = (hex: string): Buffer => Buffer.from(hex, 'hex');
const hex = (list: readonly Uint8Array[]): string[] => list.map((b) => Buffer.from(b).toString('hex'));

// transparency-dev/merkle testonly/constants.go (LeafInputs, RootHashes, NodeHashes).
const LEAF_INPUTS = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(hd);
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const NODE_HASHES = [
  [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
    '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
    '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
    'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
    '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
  ],
  [
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
    'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
  ],
  [
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
  ],
  ['5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'],
];
// transparency-dev/merkle proof/verify_test.go and testonly/reference_test.go (0-based indices here).
const INCLUSION_VECTORS: Array<{ index: number; size: number; proof: string[] }> = [
  { index: 0, size: 1, proof: [] },
  { index: 0, size: 2, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7'] },
  { index: 1, size: 2, proof: ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d'] },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    index: 1,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
  {
    index: 0,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];
const CONSISTENCY_VECTORS: Array<{ oldSize: number; newSize: number; proof: string[] }> = [
  { oldSize: 1, newSize: 1, proof: [] },
  {
    oldSize: 1,
    newSize: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    oldSize: 6,
    newSize: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    oldSize: 2,
    newSize: 5,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
  {
    oldSize: 6,
    newSize: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

// --- An independent naive implementation, straight from RFC 9162 §2.1 over an array of entries. ---

function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const part of parts) h.update(part);
  return h.digest();
}
function naiveK(n: number): number {
  let k = 1;
  while (k < n) k <<= 1;
  return k >> 1; // the largest power of two smaller than n (n > 1)
}
function naiveMth(d: readonly Buffer[]): Buffer {
  const n = d.length;
  if (n === 0) return sha256();
  if (n === 1) return sha256(Buffer.from([0]), d[0]!);
  const k = naiveK(n);
  return sha256(Buffer.from([1]), naiveMth(d.slice(0, k)), naiveMth(d.slice(k)));
}
function naivePath(m: number, d: readonly Buffer[]): Buffer[] {
  const n = d.length;
  if (n === 1) return [];
  const k = naiveK(n);
  if (m < k) return [...naivePath(m, d.slice(0, k)), naiveMth(d.slice(k))];
  return [...naivePath(m - k, d.slice(k)), naiveMth(d.slice(0, k))];
}
function naiveSubproof(m: number, d: readonly Buffer[], b: boolean): Buffer[] {
  const n = d.length;
  if (m === n) return b ? [] : [naiveMth(d)];
  const k = naiveK(n);
  if (m <= k) return [...naiveSubproof(m, d.slice(0, k), b), naiveMth(d.slice(k))];
  return [...naiveSubproof(m - k, d.slice(k), false), naiveMth(d.slice(0, k))];
}
const naiveProof = (m: number, d: readonly Buffer[]): Buffer[] => naiveSubproof(m, d, true);

/** An in-memory store of every perfect subtree, filled through a frontier (as the log does). */
function memoryTree(entries: readonly Uint8Array[]): { perfect: PerfectHash; reads: () => number } {
  const levels: Buffer[][] = [[]];
  const frontier = createFrontier();
  for (const entry of entries) {
    const leaf = leafHash(entry);
    levels[0]!.push(leaf);
    for (const node of frontier.append(leaf)) (levels[node.level] ??= [])[node.index] = node.hash;
  }
  let count = 0;
  return {
    perfect: (level, index) => {
      count += 1;
      const hash = levels[level]?.[index];
      if (hash === undefined) throw new Error(`no perfect subtree ${level}/${index}`);
      return hash;
    },
    reads: () => count,
  };
}

function entriesOf(n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => Buffer.from(`entry-${i}`));
}

describe('hashing', () => {
  it('hashes leaves and nodes with the RFC 9162 prefixes', () => {
    expect(HASH_BYTES).toBe(32);
    expect(EMPTY_ROOT.toString('hex')).toBe(ROOTS[0]);
    expect(leafHash(LEAF_INPUTS[0]!).toString('hex')).toBe(NODE_HASHES[0]![0]);
    LEAF_INPUTS.forEach((input, i) => expect(leafHash(input).toString('hex')).toBe(NODE_HASHES[0]![i]));
    expect(nodeHash(hd(NODE_HASHES[0]![0]!), hd(NODE_HASHES[0]![1]!)).toString('hex')).toBe(NODE_HASHES[1]![0]);
  });
});

describe('known answers (transparency-dev/merkle testonly)', () => {
  const tree = memoryTree(LEAF_INPUTS);

  it('computes the root of every prefix of the 8 reference leaves', () => {
    for (let size = 0; size <= 8; size++) expect(rootHash(size, tree.perfect).toString('hex')).toBe(ROOTS[size]);
  });

  it('stores exactly the reference node hashes', () => {
    NODE_HASHES.forEach((level, l) => level.forEach((h, i) => expect(Buffer.from(tree.perfect(l, i)).toString('hex')).toBe(h)));
  });

  it.each(INCLUSION_VECTORS)('inclusion proof of $index in $size', ({ index, size, proof }) => {
    expect(hex(inclusionProof(index, size, tree.perfect))).toEqual(proof);
    const root = hd(ROOTS[size]!);
    expect(verifyInclusion(leafHash(LEAF_INPUTS[index]!), index, size, proof.map(hd), root)).toBe(true);
  });

  it.each(CONSISTENCY_VECTORS)('consistency proof $oldSize -> $newSize', ({ oldSize, newSize, proof }) => {
    expect(hex(consistencyProof(oldSize, newSize, tree.perfect))).toEqual(proof);
    expect(verifyConsistency(oldSize, newSize, hd(ROOTS[oldSize]!), hd(ROOTS[newSize]!), proof.map(hd))).toBe(true);
  });
});

describe('against a naive RFC 9162 implementation, sizes 1..70', () => {
  const MAX = 70;
  const entries = entriesOf(MAX);
  const tree = memoryTree(entries);

  it('agrees on every root', () => {
    for (let size = 0; size <= MAX; size++) {
      expect(rootHash(size, tree.perfect).equals(naiveMth(entries.slice(0, size)))).toBe(true);
    }
  });

  it('agrees on every inclusion proof, and each verifies', () => {
    for (let size = 1; size <= MAX; size++) {
      const d = entries.slice(0, size);
      const root = naiveMth(d);
      for (let index = 0; index < size; index++) {
        const proof = inclusionProof(index, size, tree.perfect);
        expect(hex(proof)).toEqual(hex(naivePath(index, d)));
        expect(verifyInclusion(leafHash(entries[index]!), index, size, proof, root)).toBe(true);
      }
    }
  });

  it('agrees on every consistency proof, and each verifies', () => {
    for (let newSize = 1; newSize <= MAX; newSize++) {
      const d = entries.slice(0, newSize);
      const newRoot = naiveMth(d);
      for (let oldSize = 1; oldSize <= newSize; oldSize++) {
        const proof = consistencyProof(oldSize, newSize, tree.perfect);
        expect(hex(proof)).toEqual(hex(naiveProof(oldSize, d)));
        expect(verifyConsistency(oldSize, newSize, naiveMth(entries.slice(0, oldSize)), newRoot, proof)).toBe(true);
      }
    }
  });

  it('reads O(log n) perfect subtrees per proof', () => {
    const big = memoryTree(entriesOf(1000));
    const before = big.reads();
    inclusionProof(617, 999, big.perfect);
    expect(big.reads() - before).toBeLessThanOrEqual(2 * 10);
    const mid = big.reads();
    consistencyProof(333, 999, big.perfect);
    expect(big.reads() - mid).toBeLessThanOrEqual(3 * 10);
  });
});

describe('nodesFor', () => {
  it('lists the distinct perfect subtrees a proof reads, and they suffice', () => {
    const entries = entriesOf(37);
    const tree = memoryTree(entries);
    const ids = nodesFor((perfect) => inclusionProof(21, 37, perfect));
    expect(new Set(ids.map((id) => `${id.level}/${id.index}`)).size).toBe(ids.length);
    const fetched = new Map(ids.map((id) => [`${id.level}/${id.index}`, tree.perfect(id.level, id.index)]));
    const fromFetched: PerfectHash = (level, index) => {
      const hash = fetched.get(`${level}/${index}`);
      if (hash === undefined) throw new Error('not fetched');
      return hash;
    };
    expect(hex(inclusionProof(21, 37, fromFetched))).toEqual(hex(naivePath(21, entries)));
    const cids = nodesFor((perfect) => [consistencyProof(13, 37, perfect), rootHash(37, perfect)]);
    expect(cids.length).toBeGreaterThan(0);
    expect(cids.every((id) => Number.isInteger(id.level) && Number.isInteger(id.index))).toBe(true);
  });

  it('dedupes repeated reads', () => {
    const ids = nodesFor((perfect) => {
      perfect(0, 1);
      perfect(0, 1);
      perfect(2, 0);
    });
    expect(ids).toEqual([
      { level: 0, index: 1 },
      { level: 2, index: 0 },
    ]);
  });
});

describe('verification refuses tampering', () => {
  const entries = entriesOf(23);
  const tree = memoryTree(entries);
  const flip = (list: readonly Buffer[], i: number): Buffer[] =>
    list.map((b, j) => (j === i ? Buffer.from(b.map((x, k) => (k === 0 ? x ^ 8 : x))) : b));

  it('refuses tampered inclusion proofs', () => {
    const size = 23;
    const root = rootHash(size, tree.perfect);
    for (let index = 0; index < size; index++) {
      const leaf = leafHash(entries[index]!);
      const proof = inclusionProof(index, size, tree.perfect);
      expect(verifyInclusion(leaf, index, size, proof, root)).toBe(true);
      for (let i = 0; i < proof.length; i++) expect(verifyInclusion(leaf, index, size, flip(proof, i), root)).toBe(false);
      if (proof.length > 0) expect(verifyInclusion(leaf, index, size, proof.slice(0, -1), root)).toBe(false);
      expect(verifyInclusion(leaf, index, size, [...proof, root], root)).toBe(false);
      expect(verifyInclusion(leaf, index, size, [root, ...proof], root)).toBe(false);
      expect(verifyInclusion(leaf, index, size, [...proof, Buffer.alloc(0)], root)).toBe(false);
      if (index > 0) expect(verifyInclusion(leaf, index - 1, size, proof, root)).toBe(false);
      if (index + 1 < size) expect(verifyInclusion(leaf, index + 1, size, proof, root)).toBe(false);
      expect(verifyInclusion(leaf, index, size * 2, proof, root)).toBe(false);
      expect(verifyInclusion(leaf, index, Math.floor(size / 2), proof, root)).toBe(false);
      expect(verifyInclusion(leaf, index, size, proof, EMPTY_ROOT)).toBe(false);
      expect(verifyInclusion(leafHash(Buffer.from('other')), index, size, proof, root)).toBe(false);
      expect(verifyInclusion(Buffer.from('short'), index, size, proof, root)).toBe(false);
    }
    expect(verifyInclusion(leafHash(entries[0]!), 0, 0, [], EMPTY_ROOT)).toBe(false);
    expect(verifyInclusion(leafHash(entries[0]!), 5, 5, [], EMPTY_ROOT)).toBe(false);
  });

  it('refuses tampered consistency proofs', () => {
    const newSize = 23;
    const newRoot = rootHash(newSize, tree.perfect);
    for (let oldSize = 1; oldSize < newSize; oldSize++) {
      const oldRoot = rootHash(oldSize, tree.perfect);
      const proof = consistencyProof(oldSize, newSize, tree.perfect);
      expect(verifyConsistency(oldSize, newSize, oldRoot, newRoot, proof)).toBe(true);
      for (let i = 0; i < proof.length; i++) expect(verifyConsistency(oldSize, newSize, oldRoot, newRoot, flip(proof, i))).toBe(false);
      expect(verifyConsistency(oldSize, newSize, oldRoot, newRoot, proof.slice(0, -1))).toBe(false);
      expect(verifyConsistency(oldSize, newSize, oldRoot, newRoot, [])).toBe(false);
      expect(verifyConsistency(oldSize, newSize, oldRoot, newRoot, [...proof, oldRoot])).toBe(false);
      expect(verifyConsistency(oldSize, newSize, oldRoot, newRoot, [newRoot, ...proof])).toBe(false);
      expect(verifyConsistency(oldSize, newSize, oldRoot, newRoot, [proof[0]!, ...proof])).toBe(false);
      expect(verifyConsistency(oldSize - 1, newSize, oldRoot, newRoot, proof)).toBe(false);
      expect(verifyConsistency(oldSize + 1, newSize, oldRoot, newRoot, proof)).toBe(false);
      expect(verifyConsistency(oldSize, newSize * 2, oldRoot, newRoot, proof)).toBe(false);
      expect(verifyConsistency(oldSize, Math.floor(newSize / 2), oldRoot, newRoot, proof)).toBe(false);
      expect(verifyConsistency(oldSize, newSize, newRoot, oldRoot, proof)).toBe(false);
      expect(verifyConsistency(oldSize, newSize, EMPTY_ROOT, newRoot, proof)).toBe(false);
      expect(verifyConsistency(oldSize, newSize, oldRoot, EMPTY_ROOT, proof)).toBe(false);
    }
  });

  it('handles the trivial sizes', () => {
    const root = rootHash(5, tree.perfect);
    expect(verifyConsistency(5, 5, root, root, [])).toBe(true);
    expect(verifyConsistency(5, 5, root, EMPTY_ROOT, [])).toBe(false);
    expect(verifyConsistency(5, 5, root, root, [root])).toBe(false);
    expect(verifyConsistency(0, 5, EMPTY_ROOT, root, [])).toBe(true);
    expect(verifyConsistency(0, 5, root, root, [])).toBe(false);
    expect(verifyConsistency(0, 5, EMPTY_ROOT, root, [root])).toBe(false);
    expect(verifyConsistency(6, 5, root, root, [root])).toBe(false);
  });
});

describe('argument validation', () => {
  const tree = memoryTree(entriesOf(8));
  it('throws RangeError on bad indices and sizes', () => {
    expect(() => inclusionProof(8, 8, tree.perfect)).toThrow(RangeError);
    expect(() => inclusionProof(0, 0, tree.perfect)).toThrow(RangeError);
    expect(() => inclusionProof(-1, 8, tree.perfect)).toThrow(RangeError);
    expect(() => inclusionProof(1.5, 8, tree.perfect)).toThrow(RangeError);
    expect(() => inclusionProof(0, Number.NaN, tree.perfect)).toThrow(RangeError);
    expect(() => rootHash(2 ** 53, tree.perfect)).toThrow(RangeError);
    expect(() => rootHash(-1, tree.perfect)).toThrow(RangeError);
    expect(() => consistencyProof(0, 8, tree.perfect)).toThrow(RangeError);
    expect(() => consistencyProof(5, 4, tree.perfect)).toThrow(RangeError);
    expect(() => consistencyProof(2, 8.5, tree.perfect)).toThrow(RangeError);
    expect(() => verifyInclusion(Buffer.alloc(32), 0.5, 8, [], EMPTY_ROOT)).toThrow(RangeError);
    expect(() => verifyConsistency(-1, 8, EMPTY_ROOT, EMPTY_ROOT, [])).toThrow(RangeError);
    expect(() => frontierNodes(1.5)).toThrow(RangeError);
  });

  it('refuses a PerfectHash that returns the wrong length', () => {
    expect(() => rootHash(3, () => Buffer.alloc(31))).toThrow(RangeError);
  });

  it('works near 2^53 without losing precision', () => {
    const size = Number.MAX_SAFE_INTEGER; // 2^53 - 1: 53 perfect subtrees on the right edge
    const ids = nodesFor((perfect) => inclusionProof(size - 1, size, perfect));
    expect(ids.length).toBe(52); // the other 52 subtrees of the right edge
    expect(ids.every((id) => Number.isSafeInteger(id.index))).toBe(true);
    expect(frontierNodes(size).length).toBe(53);
    expect(frontierNodes(size).at(-1)).toEqual({ level: 0, index: size - 1 });
  });
});

describe('frontier', () => {
  it('lists the right edge largest first', () => {
    expect(frontierNodes(0)).toEqual([]);
    expect(frontierNodes(1)).toEqual([{ level: 0, index: 0 }]);
    expect(frontierNodes(6)).toEqual([
      { level: 2, index: 0 },
      { level: 1, index: 2 },
    ]);
    expect(frontierNodes(13)).toEqual([
      { level: 3, index: 0 },
      { level: 2, index: 2 },
      { level: 0, index: 12 },
    ]);
  });

  it('matches the reference compact trees', () => {
    const frontier = createFrontier();
    expect(frontier.root().equals(EMPTY_ROOT)).toBe(true);
    LEAF_INPUTS.forEach((input, i) => {
      frontier.append(leafHash(input));
      expect(frontier.size).toBe(i + 1);
      expect(frontier.root().toString('hex')).toBe(ROOTS[i + 1]);
    });
    expect(hex(frontier.hashes())).toEqual([NODE_HASHES[3]![0]]);
  });

  it('gives the same roots as rootHash and yields exactly the perfect subtrees', () => {
    const entries = entriesOf(130);
    const frontier = createFrontier();
    const seen = new Map<string, Buffer>();
    const leaves: Buffer[] = [];
    for (const entry of entries) {
      const leaf = leafHash(entry);
      leaves.push(leaf);
      const completed = frontier.append(leaf);
      for (let i = 1; i < completed.length; i++) expect(completed[i]!.level).toBe(completed[i - 1]!.level + 1);
      for (const node of completed) {
        expect(node.level).toBeGreaterThanOrEqual(1);
        const key = `${node.level}/${node.index}`;
        expect(seen.has(key)).toBe(false);
        const width = 2 ** node.level;
        expect(node.hash.equals(naiveMth(entries.slice(node.index * width, (node.index + 1) * width)))).toBe(true);
        seen.set(key, node.hash);
      }
      const perfect: PerfectHash = (level, index) => (level === 0 ? leaves[index]! : seen.get(`${level}/${index}`)!);
      expect(frontier.root().equals(rootHash(frontier.size, perfect))).toBe(true);
      expect(frontier.hashes().length).toBe(frontierNodes(frontier.size).length);
    }
    // Every perfect subtree of level >= 1 inside 130 leaves: 65 + 32 + 16 + 8 + 4 + 2 + 1.
    expect(seen.size).toBe(65 + 32 + 16 + 8 + 4 + 2 + 1);
  });

  it('resumes from stored hashes', () => {
    const entries = entriesOf(100);
    const whole = createFrontier();
    for (const entry of entries) whole.append(leafHash(entry));
    for (const cut of [0, 1, 2, 3, 31, 32, 33, 64, 99]) {
      const first = createFrontier();
      for (const entry of entries.slice(0, cut)) first.append(leafHash(entry));
      const resumed = createFrontier(cut, first.hashes());
      expect(resumed.size).toBe(cut);
      for (const entry of entries.slice(cut)) resumed.append(leafHash(entry));
      expect(resumed.root().equals(whole.root())).toBe(true);
      expect(hex(resumed.hashes())).toEqual(hex(whole.hashes()));
    }
  });

  it('refuses a mismatched stored frontier or leaf', () => {
    expect(() => createFrontier(3, [Buffer.alloc(32)])).toThrow(RangeError);
    expect(() => createFrontier(3, [Buffer.alloc(32), Buffer.alloc(31)])).toThrow(RangeError);
    expect(() => createFrontier(2)).toThrow(RangeError);
    expect(() => createFrontier(-1)).toThrow(RangeError);
    expect(() => createFrontier().append(Buffer.from('not a leaf hash'))).toThrow(RangeError);
  });

  it('does not alias the caller hashes', () => {
    const stored = [Buffer.alloc(32, 7)];
    const frontier = createFrontier(1, stored);
    const root = frontier.root();
    stored[0]!.fill(9);
    expect(frontier.root().equals(root)).toBe(true);
  });
});
