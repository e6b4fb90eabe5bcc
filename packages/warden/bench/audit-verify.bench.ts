/**
 * Benchmark: offline audit verification. `verifyLog` over 100,000 generated entries (canonical OCSF
 * bodies, one signed checkpoint at the end) against a baseline of plain SHA-256 (createHash per
 * entry) over the same body bytes, in the same run; entries/s = ops/s × 100,000. And an inclusion
 * proof built and verified at tree size 1,000,000, from an in-memory PerfectHash backed by one
 * contiguous Buffer per level, against a baseline of the direct leaf-hash lookup it starts from.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { bench, describe } from 'vitest';
import { canonicalize } from '../src/audit/canonical-json.js';
import { signCheckpoint, verifierKey } from '../src/audit/checkpoint.js';
import { entryBody, type AuditEntry } from '../src/audit/event.js';
import { HASH_BYTES, createFrontier, inclusionProof, leafHash, nodeHash, rootHash, verifyInclusion, type PerfectHash } from '../src/audit/merkle.js';
import { verifyLog } from '../src/audit/verify.js';

const options = { time: 1000, warmupTime: 200 };

// --- verifyLog over 100,000 entries ---------------------------------------------------------------

const ENTRIES = 100_000;
const ORIGIN = 'warden.bench/audit';
const { privateKey } = generateKeyPairSync('ed25519');
const entries: AuditEntry[] = [];
const frontier = createFrontier();
for (let i = 0; i < ENTRIES; i++) {
  const text = canonicalize(
    entryBody(
      i,
      new Date(1_700_000_000_000 + i * 10),
      {
        class: 'api_activity',
        activityId: 1,
        action: 'mcp.call_tool',
        actor: { type: 'agent', id: `agent-${i % 50}` },
        source: { ip: '10.1.2.3', requestId: `req-${i}` },
        resource: { type: 'tool', id: `github/create_issue` },
        decision: { id: `dec-${i}`, effect: 'allow', policyIds: ['policy-1', 'policy-7'], policySetVersion: 'v12' },
        outcome: 'success',
        details: { latency_ms: i % 300, upstream: 'github' },
        sensitive: { arguments: `{"title":"issue ${i}"}` },
      },
      (value) => `hmac-sha256:${createHash('sha256').update(value).digest('base64')}`,
    ),
  );
  // Flatten the concatenated string, as a body read from a file or a database is.
  const body = Buffer.from(text, 'utf8').toString('utf8');
  const hash = leafHash(Buffer.from(body, 'utf8'));
  entries.push({ index: i, leafHash: hash, body });
  frontier.append(hash);
}
const checkpoints = [signCheckpoint({ origin: ORIGIN, size: ENTRIES, root: frontier.root() }, { name: ORIGIN, privateKey })];
const key = verifierKey(ORIGIN, privateKey);

describe(`verifyLog, ${ENTRIES.toLocaleString('en')} entries (entries/s = ops/s × ${ENTRIES})`, () => {
  bench(
    'warden verifyLog',
    async () => {
      const report = await verifyLog({ verifierKey: key, entries, checkpoints });
      if (!report.ok) throw new Error('verification failed');
    },
    options,
  );
  bench(
    'baseline: createHash(sha256) per body',
    () => {
      for (const entry of entries) createHash('sha256').update(entry.body as string, 'utf8').digest();
    },
    options,
  );
});

// --- inclusion proofs at size 1,000,000 ------------------------------------------------------------

const SIZE = 1_000_000;
/** levels[l] holds the perfect subtrees of level l back to back, 32 bytes each. */
const levels: Buffer[] = [];
{
  const leaves = Buffer.alloc(SIZE * HASH_BYTES);
  for (let i = 0; i < SIZE; i++) leafHash(Buffer.from(`leaf-${i}`)).copy(leaves, i * HASH_BYTES);
  levels.push(leaves);
  for (let below = leaves, count = SIZE; count >= 2; ) {
    const next = Math.floor(count / 2);
    const level = Buffer.alloc(next * HASH_BYTES);
    for (let i = 0; i < next; i++) {
      const left = below.subarray(2 * i * HASH_BYTES, (2 * i + 1) * HASH_BYTES);
      const right = below.subarray((2 * i + 1) * HASH_BYTES, (2 * i + 2) * HASH_BYTES);
      nodeHash(left, right).copy(level, i * HASH_BYTES);
    }
    levels.push(level);
    below = level;
    count = next;
  }
}
const perfect: PerfectHash = (level, index) => {
  const buffer = levels[level];
  if (buffer === undefined) throw new RangeError(`no level ${level}`);
  return buffer.subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES);
};
const root = rootHash(SIZE, perfect);
let seed = 12345;
/** A deterministic spread of leaf indices (LCG), so each op proves a different leaf. */
function nextIndex(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed % SIZE;
}

describe(`inclusion proof at size ${SIZE.toLocaleString('en')}`, () => {
  bench(
    'warden inclusionProof + verifyInclusion',
    () => {
      const index = nextIndex();
      const proof = inclusionProof(index, SIZE, perfect);
      if (!verifyInclusion(perfect(0, index), index, SIZE, proof, root)) throw new Error('proof failed');
    },
    options,
  );
  bench(
    'warden inclusionProof only',
    () => {
      inclusionProof(nextIndex(), SIZE, perfect);
    },
    options,
  );
  bench(
    'baseline: direct leaf-hash lookup',
    () => {
      if (perfect(0, nextIndex()).length !== HASH_BYTES) throw new Error('bad lookup');
    },
    options,
  );
});
