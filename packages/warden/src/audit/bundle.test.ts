/**
 * Tests for the export bundle: write -> read -> verify round trips (whole and partial bundles, with
 * retention-removed bodies), tampered lines reported with the right index, a pinned verifier key, and
 * malformed files refused with WARDEN_AUDIT_BUNDLE_INVALID naming the line.
 */
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWardenError } from '../errors/index.js';
import { BUNDLE_FORMAT, readBundle, verifyBundle, writeBundle, type BundleHeaderInput } from './bundle.js';
import { canonicalize } from './canonical-json.js';
import { signCheckpoint, verifierKey } from './checkpoint.js';
import { entryBody, type AuditEntry } from './event.js';
import { createFrontier, leafHash } from './merkle.js';

const ORIGIN = 'warden.test/bundle';
const { privateKey } = generateKeyPairSync('ed25519');
const KEY = verifierKey(ORIGIN, privateKey);
const N = 2500;

function makeEntry(index: number): AuditEntry {
  const body = canonicalize(
    entryBody(
      index,
      new Date(1_700_000_000_000 + index),
      {
        class: 'entity_management',
        activityId: 3,
        action: 'policy.update',
        actor: { type: 'admin', id: `admin-${index % 3}` },
        resource: { type: 'policy', id: `p-${index}` },
        outcome: 'success',
        details: { text: 'line\nbreak "quoted" \u2014 unicode \u{1f600}', nested: { index: -1 } },
      },
      (v) => v,
    ),
  );
  return { index, leafHash: leafHash(Buffer.from(body, 'utf8')), body };
}

const entries = Array.from({ length: N }, (_, i) => makeEntry(i));
const roots = new Map<number, Buffer>();
const frontiers = new Map<number, Buffer[]>([[0, []]]);
{
  const frontier = createFrontier();
  for (const entry of entries) {
    frontier.append(entry.leafHash);
    roots.set(frontier.size, frontier.root());
    frontiers.set(frontier.size, frontier.hashes());
  }
}
const checkpointAt = (size: number): string => signCheckpoint({ origin: ORIGIN, size, root: roots.get(size)! }, { name: ORIGIN, privateKey });
const CHECKPOINTS = [checkpointAt(1000), checkpointAt(2000), checkpointAt(2500)];

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warden-bundle-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let counter = 0;
async function write(from: number, size: number, list: readonly AuditEntry[], checkpoints: readonly string[]): Promise<string> {
  const path = join(dir, `bundle-${counter++}.jsonl`);
  const header: BundleHeaderInput = { origin: ORIGIN, verifierKey: KEY, from, size, prefix: { size: from, frontier: frontiers.get(from)! } };
  const stream = createWriteStream(path);
  async function* source(): AsyncGenerator<AuditEntry> {
    yield* list;
  }
  await writeBundle(stream, header, source(), checkpoints);
  stream.end();
  await once(stream, 'finish');
  return path;
}

async function collect(iterable: AsyncIterable<AuditEntry>): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for await (const entry of iterable) out.push(entry);
  return out;
}

/** Rewrites the file's lines (1-based line numbers in `edit`). */
async function editLines(path: string, edit: (lines: string[]) => void): Promise<string> {
  const lines = (await readFile(path, 'utf8')).split('\n');
  const last = lines.pop();
  expect(last).toBe('');
  edit(lines);
  const out = join(dir, `edited-${counter++}.jsonl`);
  await writeFile(out, `${lines.join('\n')}\n`);
  return out;
}

async function refused(promise: Promise<unknown>, line: number): Promise<void> {
  try {
    await promise;
  } catch (err) {
    expect(isWardenError(err, 'WARDEN_AUDIT_BUNDLE_INVALID')).toBe(true);
    expect((err as Error).message).toContain(`line ${line}`);
    return;
  }
  expect.fail('expected WARDEN_AUDIT_BUNDLE_INVALID');
}

describe('bundle round trip', () => {
  let path = '';
  beforeAll(async () => {
    path = await write(0, N, entries, CHECKPOINTS);
  });

  it('writes the documented line format', async () => {
    const lines = (await readFile(path, 'utf8')).split('\n');
    expect(lines.length).toBe(1 + N + 3 + 1);
    expect(JSON.parse(lines[0]!)).toEqual({ format: BUNDLE_FORMAT, origin: ORIGIN, verifierKey: KEY, from: 0, size: N, prefix: { size: 0, frontier: [] } });
    expect(lines[0]!.startsWith('{"format":"warden-audit-bundle/v1","origin":')).toBe(true);
    expect(JSON.parse(lines[1]!)).toEqual({ index: 0, leafHash: entries[0]!.leafHash.toString('base64'), body: entries[0]!.body });
    expect(JSON.parse(lines[N + 1]!)).toEqual({ checkpoint: CHECKPOINTS[0] });
  });

  it('reads back the header, entries and checkpoints', async () => {
    const bundle = await readBundle(path);
    expect(bundle.header).toMatchObject({ format: BUNDLE_FORMAT, origin: ORIGIN, verifierKey: KEY, from: 0, size: N });
    expect(bundle.checkpoints).toEqual(CHECKPOINTS);
    const read = await collect(bundle.entries);
    expect(read.length).toBe(N);
    read.forEach((entry, i) => {
      expect(entry.index).toBe(i);
      expect(entry.body).toBe(entries[i]!.body);
      expect(entry.leafHash.equals(entries[i]!.leafHash)).toBe(true);
    });
    expect((await collect(bundle.entries)).length).toBe(N); // re-iterable
  });

  it('verifies', async () => {
    const progress: number[] = [];
    const report = await verifyBundle(path, { onProgress: (n) => progress.push(n) });
    expect(report).toMatchObject({ ok: true, size: N, entries: N, checkpoints: 3, signedSize: N, root: roots.get(N)!.toString('base64') });
    expect(progress.at(-1)).toBe(N);
  });

  it('verifies against a pinned key, and refuses a bundle signed by another', async () => {
    expect((await verifyBundle(path, { verifierKey: KEY })).ok).toBe(true);
    const other = verifierKey(ORIGIN, generateKeyPairSync('ed25519').publicKey);
    expect((await verifyBundle(path, { verifierKey: other })).problem).toMatchObject({ kind: 'checkpoint_forged' });
  });

  it('round trips null bodies', async () => {
    const pruned = entries.map((e, i) => (i < 700 ? { ...e, body: null } : e));
    const p = await write(0, N, pruned, CHECKPOINTS);
    const read = await collect((await readBundle(p)).entries);
    expect(read[5]!.body).toBeNull();
    expect((await verifyBundle(p)).ok).toBe(true);
  });

  it('handles an empty bundle', async () => {
    const p = await write(0, 0, [], []);
    expect(await verifyBundle(p)).toMatchObject({ ok: true, size: 0, entries: 0 });
  });
});

describe('partial bundles', () => {
  it('verifies from N > 0 with the prefix frontier', async () => {
    const p = await write(1000, N, entries.slice(1000), CHECKPOINTS.slice(1));
    const bundle = await readBundle(p);
    expect(bundle.header.prefix.size).toBe(1000);
    expect(bundle.header.prefix.frontier.length).toBe(frontiers.get(1000)!.length);
    expect(await verifyBundle(p)).toMatchObject({ ok: true, size: N, entries: N - 1000, signedSize: N });
  });

  it('verifies from a size that is not a checkpoint', async () => {
    const p = await write(1337, N, entries.slice(1337), CHECKPOINTS.slice(1));
    expect((await verifyBundle(p)).ok).toBe(true);
  });

  it('detects a forged prefix', async () => {
    const p = await write(1337, N, entries.slice(1337), CHECKPOINTS.slice(1));
    const forged = await editLines(p, (lines) => {
      const header = JSON.parse(lines[0]!) as { prefix: { frontier: string[] } };
      header.prefix.frontier[0] = leafHash(Buffer.from('x')).toString('base64');
      lines[0] = JSON.stringify(header);
    });
    expect((await verifyBundle(forged)).problem).toMatchObject({ kind: 'checkpoint_mismatch', index: 1337, checkpointSize: 2000 });
  });
});

describe('tampered bundles name the first bad index', () => {
  let path = '';
  beforeAll(async () => {
    path = await write(0, N, entries, CHECKPOINTS);
  });
  const line = (index: number): number => index + 1; // 0-based array position of entry `index`

  it('an altered body', async () => {
    const p = await editLines(path, (lines) => {
      lines[line(1234)] = lines[line(1234)]!.replace('policy.update', 'policy.delete');
    });
    expect((await verifyBundle(p)).problem).toMatchObject({ kind: 'entry_altered', index: 1234 });
  });

  it('a rewritten entry (body and leaf hash)', async () => {
    const p = await editLines(path, (lines) => {
      const body = entries[1234]!.body!.replace('policy.update', 'policy.delete');
      lines[line(1234)] = JSON.stringify({ index: 1234, leafHash: leafHash(Buffer.from(body)).toString('base64'), body });
    });
    expect((await verifyBundle(p)).problem).toMatchObject({ kind: 'checkpoint_mismatch', index: 1000, checkpointSize: 2000 });
  });

  it('a deleted line', async () => {
    const p = await editLines(path, (lines) => lines.splice(line(321), 1));
    expect((await verifyBundle(p)).problem).toMatchObject({ kind: 'entry_missing', index: 321 });
  });

  it('a duplicated line', async () => {
    const p = await editLines(path, (lines) => lines.splice(line(321), 0, lines[line(321)]!));
    expect((await verifyBundle(p)).problem).toMatchObject({ kind: 'entry_inserted', index: 321 });
  });

  it('two swapped entries (index fields kept)', async () => {
    const p = await editLines(path, (lines) => {
      const a = JSON.parse(lines[line(10)]!) as { index: number };
      const b = JSON.parse(lines[line(20)]!) as { index: number };
      lines[line(10)] = JSON.stringify({ ...b, index: 10 });
      lines[line(20)] = JSON.stringify({ ...a, index: 20 });
    });
    expect((await verifyBundle(p)).problem).toMatchObject({ kind: 'entry_reordered', index: 10 });
  });

  it('two swapped lines', async () => {
    const p = await editLines(path, (lines) => {
      [lines[line(10)], lines[line(20)]] = [lines[line(20)]!, lines[line(10)]!];
    });
    expect((await verifyBundle(p)).problem).toMatchObject({ kind: 'entry_missing', index: 10 });
  });

  it('truncated entries (checkpoints kept)', async () => {
    const p = await editLines(path, (lines) => lines.splice(line(2400), 100));
    expect((await verifyBundle(p)).problem).toMatchObject({ kind: 'entry_missing', index: 2400, checkpointSize: 2500 });
  });

  it('truncated entries past the last checkpoint', async () => {
    const p = await write(0, N, entries, CHECKPOINTS.slice(0, 2));
    const cut = await editLines(p, (lines) => lines.splice(line(2400), 100));
    expect((await verifyBundle(cut)).problem).toMatchObject({ kind: 'entry_missing', index: 2400 });
  });

  it('an altered checkpoint line', async () => {
    const p = await editLines(path, (lines) => {
      lines[N + 2] = JSON.stringify({ checkpoint: CHECKPOINTS[1]!.replace('\n2000\n', '\n2001\n') });
    });
    expect((await verifyBundle(p)).problem).toMatchObject({ kind: 'checkpoint_forged', checkpointSize: 2001 });
  });
});

describe('malformed bundles are refused', () => {
  let path = '';
  beforeAll(async () => {
    path = await write(0, 50, entries.slice(0, 50), [checkpointAt(50)]);
  });

  it('garbage', async () => {
    const p = join(dir, 'garbage.jsonl');
    await writeFile(p, 'this is not a bundle\n');
    await refused(readBundle(p), 1);
    await writeFile(p, Buffer.from([0xff, 0xfe, 0x00, 0x01]));
    await refused(verifyBundle(p), 1);
  });

  it('an empty file', async () => {
    const p = join(dir, 'empty.jsonl');
    await writeFile(p, '');
    await refused(readBundle(p), 1);
  });

  it('a missing file', async () => {
    await expect(readBundle(join(dir, 'nope.jsonl'))).rejects.toThrow(expect.objectContaining({ code: 'WARDEN_AUDIT_BUNDLE_INVALID' }));
  });

  it.each([
    ['wrong format', (h: Record<string, unknown>) => ({ ...h, format: 'other/v1' })],
    ['extra key', (h: Record<string, unknown>) => ({ ...h, extra: 1 })],
    ['from > size', (h: Record<string, unknown>) => ({ ...h, from: 51 })],
    ['prefix size != from', (h: Record<string, unknown>) => ({ ...h, prefix: { size: 3, frontier: [] } })],
    ['frontier does not fit', (h: Record<string, unknown>) => ({ ...h, from: 3, prefix: { size: 3, frontier: ['AAAA'] } })],
    ['key for another origin', (h: Record<string, unknown>) => ({ ...h, origin: 'other.example/log' })],
    ['malformed key', (h: Record<string, unknown>) => ({ ...h, verifierKey: 'x' })],
    ['fractional size', (h: Record<string, unknown>) => ({ ...h, size: 1.5 })],
  ])('a bad header: %s', async (_name, mangle) => {
    const p = await editLines(path, (lines) => {
      lines[0] = JSON.stringify(mangle(JSON.parse(lines[0]!) as Record<string, unknown>));
    });
    await refused(readBundle(p), 1);
  });

  it.each([
    ['not JSON', () => '{"index":4,'],
    ['blank line', () => ''],
    ['array', () => '[1,2]'],
    ['bad leaf hash', (l: string) => l.replace(/"leafHash":"[^"]+"/, '"leafHash":"AAAA"')],
    ['non-canonical leaf hash', (l: string) => l.replace(/"leafHash":"([^"]+)="/, '"leafHash":"$1_"')],
    ['string index', (l: string) => l.replace('"index":4', '"index":"4"')],
    ['negative index', (l: string) => l.replace('"index":4', '"index":-4')],
    ['body not a string', (l: string) => l.replace(/"body":.*}$/, '"body":{"a":1}}')],
    ['extra key', (l: string) => l.replace('{"index"', '{"x":1,"index"')],
  ])('a bad entry line: %s', async (_name, mangle) => {
    const p = await editLines(path, (lines) => {
      lines[5] = mangle(lines[5]!);
    });
    await refused(verifyBundle(p), 6);
  });

  it('an entry after the checkpoints', async () => {
    const p = await editLines(path, (lines) => lines.push(lines[5]!));
    await refused(readBundle(p), 53);
  });

  it('a bad checkpoint line', async () => {
    const p = await editLines(path, (lines) => {
      lines[51] = '{"checkpoint":42}';
    });
    await refused(readBundle(p), 52);
  });

  it('accepts a missing final newline', async () => {
    const text = await readFile(path, 'utf8');
    const p = join(dir, 'no-newline.jsonl');
    await writeFile(p, text.slice(0, -1));
    expect((await verifyBundle(p)).ok).toBe(true);
  });
});

describe('writeBundle', () => {
  const sink = () => ({ stream: createWriteStream(join(dir, `w-${counter++}.jsonl`)) });
  const header = (from: number, size: number): BundleHeaderInput => ({
    origin: ORIGIN,
    verifierKey: KEY,
    from,
    size,
    prefix: { size: from, frontier: frontiers.get(from)! },
  });

  it('refuses inconsistent input', async () => {
    await expect(writeBundle(sink().stream, header(0, 3), [entries[0]!, entries[2]!], [])).rejects.toThrow(RangeError);
    await expect(writeBundle(sink().stream, header(0, 3), entries.slice(0, 2), [])).rejects.toThrow(RangeError);
    await expect(writeBundle(sink().stream, header(0, 1), entries.slice(0, 2), [])).rejects.toThrow(RangeError);
    await expect(writeBundle(sink().stream, { ...header(5, 9), prefix: { size: 5, frontier: [] } }, [], [])).rejects.toThrow(RangeError);
  });
});
