// Tests of scripts/screen-scorer.mjs (the evaluation scorer for `warden screen`) on hand-made gold and
// prediction lines with exact expected numbers. Types come from scripts/screen-scorer.d.mts.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { covers, formatReport, mulberry32, scoreFile } from '../../scripts/screen-scorer.mjs';
import type { InjectionResult, PiiResult, SecretsResult } from '../../scripts/screen-scorer.mjs';

const scorerPath = fileURLToPath(new URL('../../scripts/screen-scorer.mjs', import.meta.url));

type Finding = { category: string; type: string; start: number; end: number; score: number } | Record<string, unknown>;
const jsonl = (rows: object[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const pred = (id: string, findings: Finding[], verdict = findings.length > 0 ? 'block' : 'allow'): object => ({ id, verdict, findings });
const pi = (text: string): Finding => ({ category: 'prompt_injection', type: 'ignore_instructions', start: 0, end: text.length, score: 0.9 });
const span = (category: string, type: string, start: number, end: number): Finding => ({ category, type, start, end, score: 0.9 });

// ---------------------------------------------------------------------------------------------------
// Injection: 4 attacks, 4 benign items.
const T = 'Some text of the item.';
const injectionGold = [
  { id: 'a1', text: T, kind: 'injection', label: 1, source: 'A', variant: 'v1', technique: 't1' },
  { id: 'a2', text: T, kind: 'injection', label: 1, source: 'A', variant: 'v2' },
  { id: 'a3', text: T, kind: 'injection', label: 1, source: 'B', position: 'start' },
  { id: 'a4', text: T, kind: 'injection', label: 1, source: 'B', position: 'end' },
  { id: 'b1', text: T, kind: 'injection', label: 0, source: 'C' },
  { id: 'b2', text: T, kind: 'injection', label: 0, source: 'C' },
  { id: 'b3', text: T, kind: 'injection', label: 0, source: 'D' },
  { id: 'b4', text: T, kind: 'injection', label: 0, source: 'D' },
];
const injectionPred = [
  JSON.stringify(pred('a1', [pi(T)])), // TP
  JSON.stringify(pred('a2', [span('pii', 'email', 0, 4)], 'block')), // FN: the verdict does not count
  JSON.stringify(pred('a3', [pi(T), { category: 'malware', type: 'x', start: 0, end: 1, score: 1 }])), // TP (+ a bad category)
  // a4: missing -> allow, FN
  JSON.stringify(pred('b1', [pi(T)])), // FP, not allowed
  JSON.stringify(pred('b2', [span('pii', 'email', 0, 4)], 'redact')), // TN, but not allowed
  JSON.stringify(pred('b3', [])), // TN
  JSON.stringify(pred('b4', [{ ...pi(T), end: T.length + 1 }], 'allow')), // the only finding is outside the text: TN
  JSON.stringify(pred('zz', [pi(T)])), // unknown id
  '{not json',
];

// ---------------------------------------------------------------------------------------------------
// PII
const P1 = 'Mail bob@example.com or call 555-123-4567 now';
const P2 = 'Card 4111 1111 1111 1111 expires soon';
const P5 = 'Ask Alice Smith about it';
const email1 = { start: P1.indexOf('bob'), end: P1.indexOf('.com') + 4 };
const phone1 = { start: P1.indexOf('555'), end: P1.indexOf('555') + 12 };
const card2 = { start: 5, end: 24 };
const piiGold = [
  { id: 'p1', text: P1, kind: 'pii', spans: [{ type: 'email', ...email1 }, { type: 'phone', ...phone1 }] },
  { id: 'p2', text: P2, kind: 'pii', spans: [{ type: 'credit_card', ...card2 }] },
  { id: 'p3', text: 'Nothing here at all.', kind: 'pii', spans: [] },
  { id: 'p4', text: 'Nothing here either.', kind: 'pii', spans: [] },
  { id: 'p5', text: P5, kind: 'pii', spans: [{ type: 'person', start: 4, end: 15 }] },
];
const piiPred = [
  pred('p1', [
    span('pii', 'email', email1.start, email1.end), // TP, exact
    span('pii', 'phone', phone1.start, phone1.start + 6), // TP: covers exactly 50% of the gold span
    span('pii', 'person', 0, 4), // FP (not core)
  ]),
  pred('p2', [
    span('pii', 'credit_card', card2.start, card2.start + 9), // 9 of 19: below 50%, FP, card not recalled
    span('pii', 'phone', card2.start, card2.end), // covers the card, but the type differs: FP
    span('secret', 'generic_api_key', card2.start, card2.end), // not a PII finding: ignored
  ]),
  pred('p3', [span('pii', 'email', 0, 7)]), // item without gold flagged
  pred('p4', []),
  pred('p5', [span('pii', 'person', 1.5, 15)]), // non-integer offsets: ignored
];

// ---------------------------------------------------------------------------------------------------
// Secrets
const S = 'x'.repeat(100);
const secretsGold = [
  { id: 's1', text: S, kind: 'secrets', spans: [{ type: 'aws_access_key_id', start: 10, end: 30 }, { type: 'aws_secret_access_key', start: 40, end: 80 }] },
  { id: 's2', text: S, kind: 'secrets', spans: [{ type: 'jwt', start: 0, end: 50 }] },
  { id: 's3', text: S, kind: 'secrets', spans: [], hard_negative: 'uuid' },
  { id: 's4', text: S, kind: 'secrets', spans: [], hard_negative: 'uuid' },
  { id: 's5', text: S, kind: 'secrets', spans: [], hard_negative: 'git_sha' },
];
const secretsPred = [
  pred('s1', [span('secret', 'generic_api_key', 10, 30), span('secret', 'aws_secret_access_key', 40, 55)]), // TP (type ignored); 15/40: FP
  pred('s2', [span('secret', 'jwt', 0, 50), span('secret', 'jwt', 0, 25)]), // both TP (the second covers 50%)
  pred('s3', [span('secret', 'uuid', 0, 36)]), // flagged negative (and a false-positive span)
  pred('s4', []),
  pred('s5', [span('pii', 'email', 0, 5)]), // no secret finding: not flagged
];

describe('screen-scorer: matching rule', () => {
  it('needs at least 50% of the gold span covered', () => {
    expect(covers({ start: 0, end: 5 }, { start: 0, end: 10 })).toBe(true);
    expect(covers({ start: 0, end: 4 }, { start: 0, end: 10 })).toBe(false);
    expect(covers({ start: 5, end: 100 }, { start: 0, end: 10 })).toBe(true); // a larger prediction still counts
    expect(covers({ start: 10, end: 20 }, { start: 0, end: 10 })).toBe(false); // touching is not overlapping
    expect(covers({ start: 3, end: 3 }, { start: 0, end: 6 })).toBe(false);
  });
});

describe('screen-scorer: injection', () => {
  const r = scoreFile(jsonl(injectionGold), injectionPred.join('\n')) as InjectionResult;

  it('counts predicted positives by prompt_injection findings only', () => {
    expect(r.kind).toBe('injection');
    expect(r.items).toBe(8);
    expect(r.missingPredictions).toBe(1);
    expect(r.overall).toMatchObject({ tp: 2, fn: 2, fp: 1, tn: 3 });
    expect(r.overall.recall).toBe(0.5);
    expect(r.overall.fpr).toBe(0.25);
    expect(r.overall.precision).toBeCloseTo(2 / 3, 12);
    expect(r.overall.f1).toBeCloseTo(4 / 7, 12);
    expect(r.overall.benignNotAllow).toBe(0.5);
  });

  it('breaks recall and false positives down by source, variant, technique and position', () => {
    expect(r.recallBySource).toEqual({ A: { n: 2, detected: 1, recall: 0.5 }, B: { n: 2, detected: 1, recall: 0.5 } });
    expect(r.recallBySourceVariant).toEqual({ 'A / v1': { n: 1, detected: 1, recall: 1 }, 'A / v2': { n: 1, detected: 0, recall: 0 } });
    expect(r.recallByTechnique).toEqual({ t1: { n: 1, detected: 1, recall: 1 } });
    expect(r.recallByPosition).toEqual({ end: { n: 1, detected: 0, recall: 0 }, start: { n: 1, detected: 1, recall: 1 } });
    expect(r.fprBySource).toEqual({ C: { n: 2, flagged: 1, fpr: 0.5 }, D: { n: 2, flagged: 0, fpr: 0 } });
    expect(r.benignNotAllowBySource).toEqual({ C: { n: 2, notAllow: 2, share: 1 }, D: { n: 2, notAllow: 0, share: 0 } });
  });

  it('counts format problems and ignores them', () => {
    expect(r.formatProblems.total).toBe(4);
    expect(r.formatProblems.byReason).toEqual({
      'prediction line not valid JSON': 1,
      'bad category': 1,
      'prediction for an unknown id': 1,
      'finding outside the text': 1,
    });
  });

  it('gives bootstrap intervals that are deterministic and contain the estimate', () => {
    const again = scoreFile(jsonl(injectionGold), injectionPred.join('\n')) as InjectionResult;
    expect(again.ci).toEqual(r.ci);
    for (const name of ['recall', 'fpr', 'precision', 'f1'] as const) {
      const [lo, hi] = r.ci[name]!;
      expect(lo).toBeLessThanOrEqual(r.overall[name]!);
      expect(hi).toBeGreaterThanOrEqual(r.overall[name]!);
      expect(lo).toBeGreaterThanOrEqual(0);
      expect(hi).toBeLessThanOrEqual(1);
    }
    expect(r.ci.recall![0]).toBeLessThan(r.ci.recall![1]);
  });

  it('treats every missing prediction as allow with no findings', () => {
    const none = scoreFile(jsonl(injectionGold), '') as InjectionResult;
    expect(none.missingPredictions).toBe(8);
    expect(none.overall).toMatchObject({ tp: 0, fn: 4, fp: 0, tn: 4, recall: 0, fpr: 0, precision: 0, f1: 0, benignNotAllow: 0 });
  });
});

describe('screen-scorer: pii', () => {
  const r = scoreFile(jsonl(piiGold), jsonl(piiPred)) as PiiResult;

  it('scores spans per type with the 50%-of-gold rule', () => {
    expect(r.perType.email).toEqual({ gold: 1, predicted: 2, matchedPredicted: 1, recalledGold: 1, precision: 0.5, recall: 1, f1: 2 / 3 });
    expect(r.perType.phone).toEqual({ gold: 1, predicted: 2, matchedPredicted: 1, recalledGold: 1, precision: 0.5, recall: 1, f1: 2 / 3 });
    expect(r.perType.credit_card).toEqual({ gold: 1, predicted: 1, matchedPredicted: 0, recalledGold: 0, precision: 0, recall: 0, f1: 0 });
    expect(r.perType.person).toEqual({ gold: 1, predicted: 1, matchedPredicted: 0, recalledGold: 0, precision: 0, recall: 0, f1: 0 });
  });

  it('micro-averages over the core types and over all types', () => {
    expect(r.core).toMatchObject({ gold: 3, predicted: 5, matchedPredicted: 2, recalledGold: 2, precision: 0.4 });
    expect(r.core.recall).toBeCloseTo(2 / 3, 12);
    expect(r.core.f1).toBeCloseTo(0.5, 12);
    expect(r.all).toMatchObject({ gold: 4, predicted: 6, matchedPredicted: 2, recalledGold: 2, recall: 0.5 });
    expect(r.all.precision).toBeCloseTo(1 / 3, 12);
    expect(r.all.f1).toBeCloseTo(0.4, 12);
  });

  it('reports the item-level false-positive rate and the ignored finding', () => {
    expect(r.itemFpr).toEqual({ n: 2, flagged: 1, fpr: 0.5 });
    expect(r.formatProblems.byReason).toEqual({ 'non-integer offsets': 1 });
  });
});

describe('screen-scorer: secrets', () => {
  const r = scoreFile(jsonl(secretsGold), jsonl(secretsPred)) as SecretsResult;

  it('matches spans without comparing type names', () => {
    expect(r.overall).toMatchObject({ gold: 3, predicted: 5, matchedPredicted: 3, recalledGold: 2, precision: 0.6 });
    expect(r.overall.recall).toBeCloseTo(2 / 3, 12);
    expect(r.overall.f1).toBeCloseTo(12 / 19, 12);
  });

  it('reports recall per gold type and false positives per hard-negative kind', () => {
    expect(r.recallByType).toEqual({
      aws_access_key_id: { n: 1, recalled: 1, recall: 1 },
      aws_secret_access_key: { n: 1, recalled: 0, recall: 0 },
      jwt: { n: 1, recalled: 1, recall: 1 },
    });
    expect(r.itemFpr).toEqual({ n: 3, flagged: 1, fpr: 1 / 3 });
    expect(r.itemFprByHardNegative).toEqual({ git_sha: { n: 1, flagged: 0, fpr: 0 }, uuid: { n: 2, flagged: 1, fpr: 0.5 } });
  });

  it('gives a degenerate interval for a perfect prediction', () => {
    const perfect = secretsGold.map((g) => pred(g.id, g.spans.map((s) => span('secret', 'x', s.start, s.end))));
    const p = scoreFile(secretsGold, perfect as Array<Record<string, unknown>>) as SecretsResult;
    expect(p.overall.f1).toBe(1);
    expect(p.ci.f1).toEqual([1, 1]);
  });
});

describe('screen-scorer: report and command line', () => {
  const results = [
    scoreFile(jsonl(injectionGold), injectionPred.join('\n')),
    scoreFile(jsonl(piiGold), jsonl(piiPred)),
    scoreFile(jsonl(secretsGold), jsonl(secretsPred)),
  ];

  it('ends the report with one SUMMARY line', () => {
    const report = formatReport(results);
    const lines = report.trimEnd().split('\n');
    expect(lines.at(-1)).toBe('SUMMARY injection_recall=0.500 injection_fpr_benign=0.250 pii_f1=0.500 secrets_f1=0.632');
    expect(lines.filter((l) => l.startsWith('SUMMARY'))).toHaveLength(1);
    expect(report).toContain('recall per technique');
    expect(formatReport([results[1]!]).trimEnd().split('\n').at(-1)).toBe('SUMMARY injection_recall=n/a injection_fpr_benign=n/a pii_f1=0.500 secrets_f1=n/a');
  });

  it('mulberry32 is a deterministic generator in [0, 1)', () => {
    const a = mulberry32(0);
    const b = mulberry32(0);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(xs).size).toBe(1000);
  });

  const dir = mkdtempSync(join(tmpdir(), 'screen-scorer-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the report for --gold/--pred pairs and exits 0', () => {
    const files = { ig: join(dir, 'ig.jsonl'), ip: join(dir, 'ip.jsonl'), sg: join(dir, 'sg.jsonl'), sp: join(dir, 'sp.jsonl') };
    writeFileSync(files.ig, jsonl(injectionGold));
    writeFileSync(files.ip, injectionPred.join('\n'));
    writeFileSync(files.sg, jsonl(secretsGold));
    writeFileSync(files.sp, jsonl(secretsPred));
    const out = execFileSync(process.execPath, [scorerPath, '--gold', files.ig, '--pred', files.ip, '--gold', files.sg, '--pred', files.sp], { encoding: 'utf8' });
    expect(out.trimEnd().split('\n').at(-1)).toBe('SUMMARY injection_recall=0.500 injection_fpr_benign=0.250 pii_f1=n/a secrets_f1=0.632');
  });

  it('exits 2 on a usage error', () => {
    const run = spawnSync(process.execPath, [scorerPath, '--gold', 'only-gold.jsonl'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('usage');
  });
});
