/**
 * Tests for offline log verification: a clean log of a few thousand entries passes, and each kind of
 * tampering (altered body, rewritten body and hash, deleted, inserted, swapped entries, forged or
 * altered checkpoint, fork, truncation) is reported with the right kind and the first bad index.
 * Also: partial logs resumed from a prefix frontier, retention-removed bodies, embedded-index parsing.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalize } from './canonical-json.js';
import { signCheckpoint, verifierKey } from './checkpoint.js';
import { entryBody, type AuditEntry, type AuditEvent } from './event.js';
import { createFrontier, leafHash } from './merkle.js';
import { embeddedIndex, verifyLog, type VerifyInput } from './verify.js';

const ORIGIN = 'warden.test/audit';
const { privateKey } = generateKeyPairSync('ed25519');
const KEY = verifierKey(ORIGIN, privateKey);
const SIGNER = { name: ORIGIN, privateKey };

function event(i: number): AuditEvent {
  return {
    class: 'api_activity',
    activityId: 1,
    action: 'mcp.call_tool',
    actor: { type: 'agent', id: `agent-${i % 7}` },
    source: { ip: '10.0.0.1', requestId: `req-${i}` },
    resource: { type: 'tool', id: `tool-${i % 13}` },
    decision: { id: `d-${i}`, effect: i % 5 === 0 ? 'deny' : 'allow', policyIds: ['p1', 'p2'] },
    outcome: 'success',
    // A nested "index" member, as details may hold any JSON.
    details: { note: 'has ,"index":999 inside a string', nested: { a: 1, index: 999 } },
    sensitive: { argument: `secret-${i}` },
  };
}

function makeEntry(index: number): AuditEntry {
  const body = canonicalize(entryBody(index, new Date(1_700_000_000_000 + index * 1000), event(index), (v) => `hmac-sha256:${v}`));
  return { index, leafHash: leafHash(Buffer.from(body, 'utf8')), body };
}

/** A log of `n` entries and checkpoints signed at `sizes`; also the frontier at every size in `frontierAt`. */
function makeLog(n: number, sizes: readonly number[]) {
  const entries = Array.from({ length: n }, (_, i) => makeEntry(i));
  const frontier = createFrontier();
  const roots = new Map<number, Buffer>();
  const frontiers = new Map<number, Buffer[]>([[0, []]]);
  for (const entry of entries) {
    frontier.append(entry.leafHash);
    roots.set(frontier.size, frontier.root());
    frontiers.set(frontier.size, frontier.hashes());
  }
  const checkpoints = sizes.map((size) => signCheckpoint({ origin: ORIGIN, size, root: roots.get(size)! }, SIGNER));
  return { entries, checkpoints, roots, frontiers };
}

const N = 3000;
const LOG = makeLog(N, [3000, 1000, 2000]);

function input(overrides: Partial<VerifyInput> = {}): VerifyInput {
  return { verifierKey: KEY, entries: LOG.entries, checkpoints: LOG.checkpoints, ...overrides };
}

function withEntries(mutate: (entries: AuditEntry[]) => void): AuditEntry[] {
  const copy = LOG.entries.map((e) => ({ ...e }));
  mutate(copy);
  return copy;
}

async function* slowly(entries: readonly AuditEntry[]): AsyncGenerator<AuditEntry> {
  for (const entry of entries) {
    if (entry.index % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
    yield entry;
  }
}

describe('verifyLog: a clean log', () => {
  it('passes, from an array', async () => {
    const report = await verifyLog(input());
    expect(report).toEqual({
      ok: true,
      size: N,
      entries: N,
      checkpoints: 3,
      root: LOG.roots.get(N)!.toString('base64'),
      signedSize: N,
    });
  });

  it('passes, from an async stream, reporting progress', async () => {
    const progress: number[] = [];
    const report = await verifyLog(input({ entries: slowly(LOG.entries), onProgress: (n) => progress.push(n) }));
    expect(report.ok).toBe(true);
    expect(progress.at(-1)).toBe(N);
  });

  it('passes with entries whose bodies retention removed', async () => {
    const entries = withEntries((list) => {
      for (let i = 100; i < 1500; i++) list[i]!.body = null;
    });
    expect((await verifyLog(input({ entries }))).ok).toBe(true);
  });

  it('says how far the signatures reach', async () => {
    const report = await verifyLog(input({ checkpoints: [LOG.checkpoints[1]!] }));
    expect(report.ok).toBe(true);
    expect(report.signedSize).toBe(1000);
    expect(report.size).toBe(N);
  });

  it('passes an empty log, and checks an empty checkpoint', async () => {
    const { EMPTY_ROOT } = await import('./merkle.js');
    const empty = signCheckpoint({ origin: ORIGIN, size: 0, root: EMPTY_ROOT }, SIGNER);
    expect(await verifyLog({ verifierKey: KEY, entries: [], checkpoints: [empty] })).toMatchObject({ ok: true, size: 0, signedSize: 0 });
  });
});

describe('verifyLog names the first bad index', () => {
  it('an altered body', async () => {
    const entries = withEntries((list) => {
      list[1234]!.body = list[1234]!.body!.replace('"effect":"allow"', '"effect":"deny"');
    });
    expect((await verifyLog(input({ entries }))).problem).toMatchObject({ kind: 'entry_altered', index: 1234 });
  });

  it('an altered leaf hash', async () => {
    const entries = withEntries((list) => {
      list[42]!.leafHash = leafHash(Buffer.from('x'));
    });
    expect((await verifyLog(input({ entries }))).problem).toMatchObject({ kind: 'entry_altered', index: 42 });
  });

  it('a body rewritten with a matching leaf hash: the checkpoint names the range', async () => {
    const entries = withEntries((list) => {
      const body = list[1234]!.body!.replace('"effect":"allow"', '"effect":"deny"');
      list[1234] = { index: 1234, body, leafHash: leafHash(Buffer.from(body)) };
    });
    const report = await verifyLog(input({ entries }));
    expect(report.problem).toMatchObject({ kind: 'checkpoint_mismatch', index: 1000, checkpointSize: 2000 });
    expect(report.problem!.message).toContain('[1000, 2000)');
    expect(report.size).toBe(2000);
    expect(report.signedSize).toBe(1000);
  });

  it('a rewritten entry before the first checkpoint', async () => {
    const entries = withEntries((list) => {
      list[7] = { ...list[7]!, body: null, leafHash: leafHash(Buffer.from('forged')) };
    });
    expect((await verifyLog(input({ entries }))).problem).toMatchObject({ kind: 'checkpoint_mismatch', index: 0, checkpointSize: 1000 });
  });

  it('a deleted entry', async () => {
    const entries = withEntries((list) => list.splice(500, 1));
    const report = await verifyLog(input({ entries }));
    expect(report.problem).toMatchObject({ kind: 'entry_missing', index: 500 });
    expect(report.size).toBe(500);
  });

  it('an inserted entry claiming the next index', async () => {
    const entries = withEntries((list) => {
      const forged = makeEntry(700);
      forged.body = forged.body!.replace('"effect":"allow"', '"effect":"deny"');
      forged.leafHash = leafHash(Buffer.from(forged.body));
      list.splice(700, 0, forged);
    });
    expect((await verifyLog(input({ entries }))).problem).toMatchObject({ kind: 'entry_inserted', index: 700 });
  });

  it('an inserted copy of an entry', async () => {
    const entries = withEntries((list) => list.splice(1700, 0, { ...list[1699]! }));
    expect((await verifyLog(input({ entries }))).problem).toMatchObject({ kind: 'entry_inserted', index: 1699 });
  });

  it('two swapped entries', async () => {
    const entries = withEntries((list) => {
      const a = list[10]!;
      const b = list[20]!;
      list[10] = { index: 10, body: b.body, leafHash: b.leafHash };
      list[20] = { index: 20, body: a.body, leafHash: a.leafHash };
    });
    const report = await verifyLog(input({ entries }));
    expect(report.problem).toMatchObject({ kind: 'entry_reordered', index: 10 });
    expect(report.problem!.message).toContain('20');
  });

  it('a renumbered deletion (later entries shifted down)', async () => {
    const entries = withEntries((list) => {
      list.splice(900, 1);
      for (let i = 900; i < list.length; i++) list[i]!.index = i;
    });
    expect((await verifyLog(input({ entries }))).problem).toMatchObject({ kind: 'entry_reordered', index: 900 });
  });

  it('a truncated log', async () => {
    const entries = LOG.entries.slice(0, 2900);
    const report = await verifyLog(input({ entries }));
    expect(report.problem).toMatchObject({ kind: 'entry_missing', index: 2900, checkpointSize: 3000 });
    expect(report.size).toBe(2900);
  });

  it('a body without an embedded index that the log did write', async () => {
    const entries = withEntries((list) => {
      const body = canonicalize({ action: 'x', time: 'now' });
      list[5] = { index: 5, body, leafHash: leafHash(Buffer.from(body)) };
    });
    expect((await verifyLog(input({ entries }))).problem).toMatchObject({ kind: 'malformed', index: 5 });
  });

  it('a body replaced by garbage', async () => {
    const entries = withEntries((list) => {
      list[5]!.body = 'garbage';
    });
    expect((await verifyLog(input({ entries }))).problem).toMatchObject({ kind: 'entry_altered', index: 5 });
  });
});

describe('verifyLog checks the checkpoints', () => {
  it('a forged signature', async () => {
    const note = LOG.checkpoints[2]!; // size 2000
    const forged = note.replace(/ (\S)(\S+)\n$/, (_m, first: string, rest: string) => ` ${first === 'A' ? 'B' : 'A'}${rest}\n`);
    const report = await verifyLog(input({ checkpoints: [LOG.checkpoints[0]!, forged] }));
    expect(report.problem).toMatchObject({ kind: 'checkpoint_forged', checkpointSize: 2000 });
    expect(report.checkpoints).toBe(1);
  });

  it('an altered size or root', async () => {
    const altered = LOG.checkpoints[1]!.replace('\n1000\n', '\n1001\n');
    expect((await verifyLog(input({ checkpoints: [altered] }))).problem).toMatchObject({ kind: 'checkpoint_forged', checkpointSize: 1001 });
    const otherRoot = LOG.checkpoints[1]!.replace(LOG.roots.get(1000)!.toString('base64'), LOG.roots.get(999)!.toString('base64'));
    expect((await verifyLog(input({ checkpoints: [otherRoot] }))).problem).toMatchObject({ kind: 'checkpoint_forged', checkpointSize: 1000 });
  });

  it('a checkpoint signed by another key', async () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    const note = signCheckpoint({ origin: ORIGIN, size: 1000, root: LOG.roots.get(1000)! }, { name: ORIGIN, privateKey: other });
    expect((await verifyLog(input({ checkpoints: [note] }))).problem).toMatchObject({ kind: 'checkpoint_forged', checkpointSize: 1000 });
  });

  it('a fork: two signed roots at one size', async () => {
    const rogue = signCheckpoint({ origin: ORIGIN, size: 2000, root: LOG.roots.get(1999)! }, SIGNER);
    const report = await verifyLog(input({ checkpoints: [...LOG.checkpoints, rogue] }));
    expect(report.problem).toMatchObject({ kind: 'fork', checkpointSize: 2000 });
  });

  it('a signed checkpoint the entries do not match', async () => {
    const rogue = signCheckpoint({ origin: ORIGIN, size: 2500, root: LOG.roots.get(2499)! }, SIGNER);
    const report = await verifyLog(input({ checkpoints: [...LOG.checkpoints, rogue] }));
    expect(report.problem).toMatchObject({ kind: 'checkpoint_mismatch', index: 2000, checkpointSize: 2500 });
  });

  it('a malformed verifier key', async () => {
    expect((await verifyLog(input({ verifierKey: 'nope' }))).problem).toMatchObject({ kind: 'malformed' });
  });

  it('accepts the same checkpoint twice', async () => {
    expect((await verifyLog(input({ checkpoints: [...LOG.checkpoints, LOG.checkpoints[0]!] }))).ok).toBe(true);
  });
});

describe('verifyLog from a prefix', () => {
  it('verifies the rest of the log from the frontier at 1000', async () => {
    const report = await verifyLog(
      input({ prefix: { size: 1000, frontier: LOG.frontiers.get(1000)! }, entries: LOG.entries.slice(1000) }),
    );
    expect(report).toMatchObject({ ok: true, size: N, entries: N - 1000, signedSize: N });
  });

  it('verifies from a prefix that is not a checkpoint size', async () => {
    const report = await verifyLog(input({ prefix: { size: 1337, frontier: LOG.frontiers.get(1337)! }, entries: LOG.entries.slice(1337) }));
    expect(report.ok).toBe(true);
  });

  it('refuses a wrong prefix frontier', async () => {
    const wrong = LOG.frontiers.get(1337)!.map((h, i) => (i === 0 ? leafHash(h) : h));
    const report = await verifyLog(input({ prefix: { size: 1337, frontier: wrong }, entries: LOG.entries.slice(1337) }));
    expect(report.problem).toMatchObject({ kind: 'checkpoint_mismatch', index: 1337, checkpointSize: 2000 });
    const atCheckpoint = await verifyLog(input({ prefix: { size: 1000, frontier: LOG.frontiers.get(999)!.concat() }, entries: [] }));
    expect(atCheckpoint.problem).toMatchObject({ kind: 'malformed' });
    const mismatched = LOG.frontiers.get(1000)!.map((h) => leafHash(h));
    const report2 = await verifyLog(input({ prefix: { size: 1000, frontier: mismatched }, entries: LOG.entries.slice(1000) }));
    expect(report2.problem).toMatchObject({ kind: 'checkpoint_mismatch', checkpointSize: 1000 });
  });

  it('names a missing first entry after the prefix', async () => {
    const report = await verifyLog(input({ prefix: { size: 1000, frontier: LOG.frontiers.get(1000)! }, entries: LOG.entries.slice(1001) }));
    expect(report.problem).toMatchObject({ kind: 'entry_missing', index: 1000 });
  });
});

describe('embeddedIndex', () => {
  it('finds the top-level index of canonical bodies', () => {
    for (const i of [0, 1, 999, 123456789]) expect(embeddedIndex(makeEntry(i).body!)).toBe(i);
  });

  it('is not fooled by index-like text in strings or nested objects', () => {
    expect(embeddedIndex('{"a":{"b":1,"index":7},"index":3}')).toBe(3);
    expect(embeddedIndex('{"a":1,"index":3,"z":{"b":1,"index":7}}')).toBe(3);
    expect(embeddedIndex('{"a":"x,\\"index\\":7","index":3}')).toBe(3);
    expect(embeddedIndex('{"index":4,"z":"q"}')).toBe(4);
    expect(embeddedIndex('{"a":{"b":1,"index":7}}')).toBeUndefined();
    expect(embeddedIndex('{"index":-1}')).toBeUndefined();
    expect(embeddedIndex('{"index":1.5}')).toBeUndefined();
    expect(embeddedIndex('{"index":"3"}')).toBeUndefined();
    expect(embeddedIndex('[1,"index":3]')).toBeUndefined();
    expect(embeddedIndex('not json')).toBeUndefined();
  });
});
