/**
 * The audit export bundle (`warden-audit-bundle/v1`): UTF-8 JSON lines, a header line, one line per
 * entry in index order, then one line per signed checkpoint. A bundle may start mid-log (`from` > 0):
 * its header then carries the frontier of the first `from` leaves, which the checkpoints authenticate
 * together with the entries. Reading makes two passes so entries can stream in constant memory: the
 * first pass only splits lines (checking each line's first bytes) to parse the header and the trailing
 * checkpoints; the second streams the entry lines, which must all precede the checkpoint lines. A
 * malformed bundle is refused with WARDEN_AUDIT_BUNDLE_INVALID naming the line number; a well-formed
 * but tampered one is reported by verifyLog with the first bad index.
 */
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { WardenError, isWardenError } from '../errors/index.js';
import { parseVerifierKey } from './checkpoint.js';
import type { AuditEntry } from './event.js';
import { HASH_BYTES, frontierNodes } from './merkle.js';
import { verifyLog, type VerifyReport } from './verify.js';

export const BUNDLE_FORMAT = 'warden-audit-bundle/v1';

export interface BundleHeader {
  format: typeof BUNDLE_FORMAT;
  /** The log origin (the checkpoint key name). */
  origin: string;
  /** The verifier key the bundle names. Unauthenticated: an auditor should pin their own (verifyBundle's option). */
  verifierKey: string;
  /** Index of the first entry in the bundle. */
  from: number;
  /** Tree size after the last entry in the bundle. */
  size: number;
  /** Frontier hashes of the first `from` leaves (frontierNodes(from), largest first). */
  prefix: { size: number; frontier: Buffer[] };
}

export interface BundleHeaderInput {
  origin: string;
  verifierKey: string;
  from: number;
  size: number;
  prefix: { size: number; frontier: readonly Uint8Array[] };
}

export interface Bundle {
  header: BundleHeader;
  /** The entries, streamed from the file; each iteration reads the file again. */
  entries: AsyncIterable<AuditEntry>;
  /** The signed checkpoint notes. */
  checkpoints: string[];
}

export interface VerifyBundleOptions {
  /** The verifier key the auditor trusts. Defaults to the key the bundle names (which proves only self-consistency). */
  verifierKey?: string;
  onProgress?: (entriesDone: number) => void;
}

const WRITE_BATCH = 256 * 1024;
const READ_CHUNK = 1 << 20;
const MAX_LINE = 64 * 1024 * 1024;
const CHECKPOINT_LINE = Buffer.from('{"checkpoint":');

/**
 * Writes a bundle to `stream`: the header, `entries` (which must be exactly indices from..size-1 in
 * order), then `checkpoints`. Respects backpressure; does not end the stream (the caller owns it).
 * Throws RangeError when the header or the entries are inconsistent.
 */
export async function writeBundle(
  stream: Writable,
  header: BundleHeaderInput,
  entries: AsyncIterable<AuditEntry> | Iterable<AuditEntry>,
  checkpoints: readonly string[],
): Promise<void> {
  const problem = headerProblem(header);
  if (problem) throw new RangeError(`bundle header: ${problem}`);
  let pending = `${JSON.stringify({
    format: BUNDLE_FORMAT,
    origin: header.origin,
    verifierKey: header.verifierKey,
    from: header.from,
    size: header.size,
    prefix: { size: header.prefix.size, frontier: header.prefix.frontier.map((h) => Buffer.from(h).toString('base64')) },
  })}\n`;
  const flush = async (): Promise<void> => {
    const chunk = pending;
    pending = '';
    if (!stream.write(chunk)) await once(stream, 'drain');
  };
  let next = header.from;
  for await (const entry of entries) {
    if (entry.index !== next) throw new RangeError(`bundle entries must be contiguous: expected ${next}, got ${entry.index}`);
    if (next >= header.size) throw new RangeError(`bundle has more entries than its size ${header.size}`);
    if (entry.leafHash.length !== HASH_BYTES) throw new RangeError(`entry ${entry.index} has a bad leaf hash`);
    pending += `{"index":${entry.index},"leafHash":"${entry.leafHash.toString('base64')}","body":${
      entry.body === null ? 'null' : JSON.stringify(entry.body)
    }}\n`;
    next += 1;
    if (pending.length >= WRITE_BATCH) await flush();
  }
  if (next !== header.size) throw new RangeError(`bundle ends at ${next}, its header says ${header.size}`);
  for (const note of checkpoints) pending += `${JSON.stringify({ checkpoint: note })}\n`;
  await flush();
}

/**
 * Opens a bundle file: parses the header and the checkpoint lines now (first pass) and returns the
 * entries as a stream over the entry lines (second pass). Throws WARDEN_AUDIT_BUNDLE_INVALID, naming
 * the line, when the file is not a bundle; the entries stream throws the same for a bad entry line.
 */
export async function readBundle(path: string): Promise<Bundle> {
  let header: BundleHeader | undefined;
  let entriesStart = 0;
  let entriesEnd: number | undefined;
  const checkpoints: string[] = [];
  let lineNo = 0;
  for await (const { line, offset, end } of lines(path, 0, undefined, () => lineNo + 1)) {
    lineNo += 1;
    if (lineNo === 1) {
      header = parseHeader(line);
      entriesStart = end;
      continue;
    }
    if (startsWith(line, CHECKPOINT_LINE)) {
      entriesEnd ??= offset;
      checkpoints.push(parseCheckpointLine(line, lineNo));
    } else if (entriesEnd !== undefined) {
      throw invalid(lineNo, 'entry lines must precede the checkpoint lines');
    }
  }
  if (!header) throw invalid(1, 'the file is empty');
  const start = entriesStart;
  const stop = entriesEnd;
  return {
    header,
    checkpoints,
    entries: { [Symbol.asyncIterator]: () => readEntries(path, start, stop) },
  };
}

/** readBundle + verifyLog; also checks the entries reach the size the header declares. */
export async function verifyBundle(path: string, options: VerifyBundleOptions = {}): Promise<VerifyReport> {
  const bundle = await readBundle(path);
  const { header } = bundle;
  const report = await verifyLog({
    verifierKey: options.verifierKey ?? header.verifierKey,
    prefix: header.prefix,
    entries: bundle.entries,
    checkpoints: bundle.checkpoints,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  if (!report.ok) return report;
  if (report.size < header.size) {
    return {
      ...report,
      ok: false,
      problem: { kind: 'entry_missing', index: report.size, message: `the bundle ends at ${report.size}, its header says ${header.size}` },
    };
  }
  if (report.size > header.size) {
    return {
      ...report,
      ok: false,
      problem: { kind: 'entry_inserted', index: header.size, message: `the bundle has entries beyond its declared size ${header.size}` },
    };
  }
  return report;
}

/** The entry lines, which start at line 2 (after the header). */
async function* readEntries(path: string, start: number, end: number | undefined): AsyncGenerator<AuditEntry> {
  let lineNo = 1;
  for await (const { line } of lines(path, start, end, () => lineNo + 1)) {
    lineNo += 1;
    yield parseEntryLine(line, lineNo);
  }
}

interface Line {
  line: Buffer;
  /** Byte offset of the line's first byte. */
  offset: number;
  /** Byte offset just after the line's newline. */
  end: number;
}

/** The lines of bytes [start, end) of a file, without their newline; a final line may lack one. */
async function* lines(path: string, start: number, end: number | undefined, nextLine: () => number): AsyncGenerator<Line> {
  if (end !== undefined && end <= start) return;
  const stream = createReadStream(path, { start, ...(end === undefined ? {} : { end: end - 1 }), highWaterMark: READ_CHUNK });
  let carry: Buffer | undefined;
  let base = start; // file offset of buf[0]
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
      let pos = 0;
      for (let nl = buf.indexOf(0x0a, pos); nl >= 0; nl = buf.indexOf(0x0a, pos)) {
        yield { line: buf.subarray(pos, nl), offset: base + pos, end: base + nl + 1 };
        pos = nl + 1;
      }
      base += pos;
      carry = pos < buf.length ? buf.subarray(pos) : undefined;
      if (carry && carry.length > MAX_LINE) throw invalid(nextLine(), 'the line is too long');
    }
  } catch (err) {
    if (isWardenError(err)) throw err;
    throw new WardenError('WARDEN_AUDIT_BUNDLE_INVALID', 'the bundle cannot be read', { cause: err });
  } finally {
    stream.destroy();
  }
  if (carry && carry.length > 0) yield { line: carry, offset: base, end: base + carry.length };
}

function startsWith(line: Buffer, prefix: Buffer): boolean {
  return line.length >= prefix.length && line.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

function parseJsonLine(line: Buffer, lineNo: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line.toString('utf8'));
  } catch (cause) {
    throw invalid(lineNo, 'not JSON', cause);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(lineNo, 'not a JSON object');
  return value as Record<string, unknown>;
}

function parseHeader(line: Buffer): BundleHeader {
  const raw = parseJsonLine(line, 1);
  if (raw.format !== BUNDLE_FORMAT) throw invalid(1, `not a ${BUNDLE_FORMAT} header`);
  const prefix = raw.prefix as { size?: unknown; frontier?: unknown } | null | undefined;
  const frontier = prefix && Array.isArray(prefix.frontier) ? prefix.frontier.map((h) => decodeHash(h)) : undefined;
  if (
    !hasOnlyKeys(raw, ['format', 'origin', 'verifierKey', 'from', 'size', 'prefix']) ||
    typeof raw.origin !== 'string' ||
    typeof raw.verifierKey !== 'string' ||
    typeof raw.from !== 'number' ||
    typeof raw.size !== 'number' ||
    !prefix ||
    typeof prefix !== 'object' ||
    !hasOnlyKeys(prefix, ['size', 'frontier']) ||
    typeof prefix.size !== 'number' ||
    !frontier ||
    frontier.some((h) => h === undefined)
  ) {
    throw invalid(1, 'malformed header');
  }
  const header: BundleHeader = {
    format: BUNDLE_FORMAT,
    origin: raw.origin,
    verifierKey: raw.verifierKey,
    from: raw.from,
    size: raw.size,
    prefix: { size: prefix.size, frontier: frontier as Buffer[] },
  };
  const problem = headerProblem(header);
  if (problem) throw invalid(1, problem);
  try {
    if (parseVerifierKey(header.verifierKey).name !== header.origin) throw invalid(1, 'the verifier key is not for the origin');
  } catch (err) {
    if (isWardenError(err, 'WARDEN_AUDIT_BUNDLE_INVALID')) throw err;
    throw invalid(1, 'malformed verifier key', err);
  }
  return header;
}

function headerProblem(header: BundleHeaderInput): string | undefined {
  if (header.origin.length === 0) return 'empty origin';
  if (!isSize(header.from) || !isSize(header.size) || header.from > header.size) return 'bad from/size';
  if (header.prefix.size !== header.from) return 'the prefix size must equal from';
  if (header.prefix.frontier.length !== frontierNodes(header.from).length) return 'the prefix frontier does not fit its size';
  if (header.prefix.frontier.some((h) => h.length !== HASH_BYTES)) return 'bad prefix frontier hash';
  return undefined;
}

function parseEntryLine(line: Buffer, lineNo: number): AuditEntry {
  const raw = parseJsonLine(line, lineNo);
  const leafHash = decodeHash(raw.leafHash);
  if (
    !hasOnlyKeys(raw, ['index', 'leafHash', 'body']) ||
    !isSize(raw.index) ||
    leafHash === undefined ||
    (raw.body !== null && typeof raw.body !== 'string')
  ) {
    throw invalid(lineNo, 'malformed entry');
  }
  return { index: raw.index, leafHash, body: raw.body };
}

function parseCheckpointLine(line: Buffer, lineNo: number): string {
  const raw = parseJsonLine(line, lineNo);
  if (!hasOnlyKeys(raw, ['checkpoint']) || typeof raw.checkpoint !== 'string') throw invalid(lineNo, 'malformed checkpoint line');
  return raw.checkpoint;
}

function hasOnlyKeys(value: object, keys: readonly string[]): boolean {
  const own = Object.keys(value);
  return own.length === keys.length && keys.every((key) => Object.hasOwn(value, key));
}

function decodeHash(value: unknown): Buffer | undefined {
  if (typeof value !== 'string' || value.length !== 44) return undefined;
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === HASH_BYTES && bytes.toString('base64') === value ? bytes : undefined;
}

function isSize(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function invalid(lineNo: number, reason: string, cause?: unknown): WardenError {
  return new WardenError('WARDEN_AUDIT_BUNDLE_INVALID', `audit bundle line ${lineNo}: ${reason}`, {
    details: { line: lineNo },
    ...(cause === undefined ? {} : { cause }),
  });
}
