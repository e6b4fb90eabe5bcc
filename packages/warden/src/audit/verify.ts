/**
 * Offline verification of the audit log: checks every signed checkpoint, then streams the entries in
 * index order through a Merkle frontier and checks, for each entry, its index, the index embedded in
 * its body, and its leaf hash, and at each checkpoint size, the signed root. It stops at the first
 * problem and names the first bad index, so an auditor can tell "entry 5812 was altered" from "the
 * log was truncated at 9000". Entries after the last checkpoint are checked for internal consistency
 * only: `signedSize` in the report says how far the signatures reach. Bodies are authenticated by
 * their leaf hash; verification does not re-validate their JSON grammar, it only extracts the
 * embedded index (cheaply, without parsing the whole body).
 */
import { createHash, hash } from 'node:crypto';
import { isWardenError } from '../errors/index.js';
import { openCheckpoint, parseVerifierKey, type Checkpoint, type VerifierKey } from './checkpoint.js';
import type { AuditEntry } from './event.js';
import { HASH_BYTES, createFrontier, type Frontier } from './merkle.js';

export interface VerifyInput {
  verifierKey: string;
  /** For a partial bundle: the frontier hashes of the first `size` leaves (perfect subtrees of size's decomposition, largest first). */
  prefix?: { size: number; frontier: readonly Uint8Array[] };
  entries: AsyncIterable<AuditEntry> | Iterable<AuditEntry>;
  /** Signed notes, any order. */
  checkpoints: readonly string[];
  /** Called every PROGRESS_EVERY entries and once at the end with the number of entries checked. */
  onProgress?: (entriesDone: number) => void;
}

export type ProblemKind =
  | 'entry_altered'
  | 'entry_missing'
  | 'entry_inserted'
  | 'entry_reordered'
  | 'checkpoint_forged'
  | 'checkpoint_mismatch'
  | 'fork'
  | 'malformed';

export type Problem = { kind: ProblemKind; index?: number; checkpointSize?: number; message: string };

export interface VerifyReport {
  /** True when no problem was found. */
  ok: boolean;
  /** Tree size reached: the prefix plus every entry accepted before the first problem. */
  size: number;
  /** Entries read from `entries` (not counting the prefix). */
  entries: number;
  /** Checkpoints whose signature verified. */
  checkpoints: number;
  /** Base64 root hash at `size`. */
  root: string;
  /**
   * The largest checkpoint size whose root the entries matched (0 when none): entries at or beyond it
   * are consistent with each other but not covered by any signature.
   */
  signedSize: number;
  problem?: Problem;
}

export const PROGRESS_EVERY = 10_000;

const LEAF_PREFIX = Buffer.from([0x00]);

/** Verifies a log (or a partial bundle of it) against its signed checkpoints; resolves with a report, never rejects for bad data. */
export async function verifyLog(input: VerifyInput): Promise<VerifyReport> {
  const run = new Run(input);
  const early = run.start();
  if (early) return early;
  const entries = input.entries;
  if (isAsyncIterable(entries)) {
    for await (const entry of entries) {
      const report = run.step(entry);
      if (report) return report;
    }
  } else {
    for (const entry of entries) {
      const report = run.step(entry);
      if (report) return report;
    }
  }
  return run.finish();
}

class Run {
  private readonly input: VerifyInput;
  private frontier: Frontier = createFrontier();
  /** checkpoint size -> root, for sizes this run can check. */
  private readonly roots = new Map<number, Buffer>();
  private verified = 0;
  private read = 0;
  private signedSize = 0;
  /** First index after the last checkpoint the entries matched (or the prefix). */
  private since = 0;
  private expected = 0;

  constructor(input: VerifyInput) {
    this.input = input;
  }

  /** Checks the key, the checkpoints and the prefix; returns a report when verification ends here. */
  start(): VerifyReport | undefined {
    let key: VerifierKey;
    try {
      key = parseVerifierKey(this.input.verifierKey);
    } catch (err) {
      if (!isWardenError(err)) throw err;
      return this.fail({ kind: 'malformed', message: 'the verifier key is malformed' });
    }
    const opened: Checkpoint[] = [];
    for (const note of this.input.checkpoints) {
      try {
        opened.push(openCheckpoint(note, key));
      } catch (err) {
        if (!isWardenError(err)) throw err;
        const size = claimedSize(note);
        return this.fail({
          kind: 'checkpoint_forged',
          ...(size === undefined ? {} : { checkpointSize: size }),
          message: `the checkpoint${size === undefined ? '' : ` at size ${size}`} does not verify against the verifier key`,
        });
      }
      this.verified += 1;
    }
    for (const checkpoint of opened) {
      const seen = this.roots.get(checkpoint.size);
      if (seen && !seen.equals(checkpoint.root)) {
        return this.fail({
          kind: 'fork',
          checkpointSize: checkpoint.size,
          message: `two signed checkpoints at size ${checkpoint.size} have different roots: the log forked`,
        });
      }
      this.roots.set(checkpoint.size, checkpoint.root);
    }
    const prefix = this.input.prefix;
    if (prefix) {
      try {
        this.frontier = createFrontier(prefix.size, prefix.frontier);
      } catch (err) {
        if (!(err instanceof RangeError)) throw err;
        return this.fail({ kind: 'malformed', message: `the prefix frontier does not fit size ${String(prefix.size)}` });
      }
    }
    this.expected = this.frontier.size;
    this.since = this.frontier.size;
    const root = this.roots.get(this.frontier.size);
    if (root) {
      if (!root.equals(this.frontier.root())) {
        return this.fail({
          kind: 'checkpoint_mismatch',
          checkpointSize: this.frontier.size,
          message: `the ${prefix ? 'prefix frontier' : 'empty log'} does not match the checkpoint at size ${this.frontier.size}`,
        });
      }
      this.signedSize = this.frontier.size;
    }
    return undefined;
  }

  /** Checks one entry; returns a report when verification ends at it. */
  step(entry: AuditEntry): VerifyReport | undefined {
    const expected = this.expected;
    const index = entry.index;
    if (!Number.isSafeInteger(index) || index < 0) {
      return this.fail({ kind: 'malformed', index: expected, message: `the entry after index ${expected - 1} has no valid index` });
    }
    if (index > expected) {
      return this.fail({ kind: 'entry_missing', index: expected, message: `entry ${expected} is missing (the next entry is ${index})` });
    }
    if (index < expected) {
      return this.fail({ kind: 'entry_inserted', index, message: `a second entry claims index ${index}: an entry was inserted` });
    }
    const stored = entry.leafHash;
    if (stored.length !== HASH_BYTES) {
      return this.fail({ kind: 'malformed', index, message: `entry ${index} has a leaf hash of ${stored.length} bytes` });
    }
    const body = entry.body;
    if (body !== null) {
      const embedded = embeddedIndex(body);
      if (embedded === undefined) {
        const altered = !computeLeafHash(body).equals(stored);
        return this.fail({
          kind: altered ? 'entry_altered' : 'malformed',
          index,
          message: altered ? `entry ${index} was altered` : `entry ${index} has no embedded index`,
        });
      }
      if (embedded !== index) {
        return this.fail({ kind: 'entry_reordered', index, message: `entry ${index} holds the body of entry ${embedded}` });
      }
      if (!computeLeafHash(body).equals(stored)) {
        return this.fail({ kind: 'entry_altered', index, message: `entry ${index} was altered: its body does not match its leaf hash` });
      }
    }
    this.frontier.append(stored);
    this.read += 1;
    this.expected = index + 1;
    const root = this.roots.get(this.expected);
    if (root) {
      if (!root.equals(this.frontier.root())) {
        const from = this.since;
        return this.fail({
          kind: 'checkpoint_mismatch',
          index: from,
          checkpointSize: this.expected,
          message: `entries in [${from}, ${this.expected}) were altered or rewritten: they do not match the checkpoint at size ${this.expected}`,
        });
      }
      this.since = this.expected;
      this.signedSize = this.expected;
    }
    if (this.read % PROGRESS_EVERY === 0) this.input.onProgress?.(this.read);
    return undefined;
  }

  finish(): VerifyReport {
    const size = this.frontier.size;
    let beyond: number | undefined;
    for (const checkpointSize of this.roots.keys()) {
      if (checkpointSize > size && (beyond === undefined || checkpointSize < beyond)) beyond = checkpointSize;
    }
    if (beyond !== undefined) {
      return this.fail({
        kind: 'entry_missing',
        index: size,
        checkpointSize: beyond,
        message: `the log ends at ${size} but a checkpoint covers ${beyond} entries: it was truncated`,
      });
    }
    this.input.onProgress?.(this.read);
    return this.report();
  }

  private fail(problem: Problem): VerifyReport {
    return { ...this.report(), ok: false, problem };
  }

  private report(): VerifyReport {
    return {
      ok: true,
      size: this.frontier.size,
      entries: this.read,
      checkpoints: this.verified,
      root: this.frontier.root().toString('base64'),
      signedSize: this.signedSize,
    };
  }
}

const SCRATCH_MAX = 1 << 20;
let scratch = Buffer.alloc(16_384);

/** leafHash(utf8(body)), encoding into a reused buffer and hashing in one shot (the hot path; see merkle.ts). */
function computeLeafHash(body: string): Buffer {
  const most = 1 + 3 * body.length;
  if (most > scratch.length) {
    if (most > SCRATCH_MAX) return createHash('sha256').update(LEAF_PREFIX).update(body, 'utf8').digest();
    scratch = Buffer.alloc(2 ** Math.ceil(Math.log2(most)));
  }
  scratch[0] = 0x00;
  const written = scratch.write(body, 1, 'utf8');
  return Buffer.from(hash('sha256', scratch.subarray(0, 1 + written), 'binary'), 'binary');
}

function isAsyncIterable<T>(value: AsyncIterable<T> | Iterable<T>): value is AsyncIterable<T> {
  return typeof (value as Partial<AsyncIterable<T>>)[Symbol.asyncIterator] === 'function';
}

const INDEX_KEY = ',"index":';
const ZERO = 0x30;
const NINE = 0x39;

/**
 * The top-level `index` of a canonical entry body, without parsing the whole body. In RFC 8785 order
 * the top-level `index` follows `action`, `actor`, `details`, `hashed`..., which may contain any text,
 * and precedes only a few small members (`metadata`, `resource`, `src_endpoint`, `status`, `time`).
 * So take the last `,"index":`, read the integer after it, and scan only the rest of the body: an
 * occurrence inside a string is impossible (its quote would be escaped), and one inside a nested
 * value is followed by more closing brackets than opening ones before the end. Anything unusual
 * falls back to a full JSON.parse. Returns undefined when the body has no non-negative integer
 * top-level index.
 */
export function embeddedIndex(body: string): number | undefined {
  const at = body.lastIndexOf(INDEX_KEY);
  if (at > 0) {
    const start = at + INDEX_KEY.length;
    let end = start;
    while (end < body.length && body.charCodeAt(end) >= ZERO && body.charCodeAt(end) <= NINE) end += 1;
    const digits = end - start;
    const next = body[end];
    if (
      digits > 0 &&
      digits <= 16 &&
      (digits === 1 || body.charCodeAt(start) !== ZERO) &&
      (next === ',' || next === '}') &&
      closesTopLevel(body, end)
    ) {
      const value = Number(body.slice(start, end));
      if (isIndex(value)) return value;
    }
  }
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
    const value = (parsed as { index?: unknown }).index;
    return isIndex(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** True when, from `from`, the first unmatched closing bracket outside strings is the body's final `}`. */
function closesTopLevel(body: string, from: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = from; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i += 1; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      depth += 1;
    } else if (c === 0x7d || c === 0x5d) {
      if (depth === 0) return c === 0x7d && i === body.length - 1;
      depth -= 1;
    }
  }
  return false;
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** The size line of a note's checkpoint body, unverified (to name a forged checkpoint). */
function claimedSize(note: string): number | undefined {
  const line = note.split('\n', 2)[1];
  if (line === undefined || !/^(0|[1-9][0-9]{0,15})$/.test(line)) return undefined;
  const size = Number(line);
  return Number.isSafeInteger(size) ? size : undefined;
}
