#!/usr/bin/env node
/**
 * Trains the prompt-injection scorer: a logistic regression over the signal features of
 * src/screen/injection-features.ts, from the examples the project writes itself
 * (src/screen/training/injection.jsonl: one `{"text", "direction", "label"}` per line), and writes
 * src/screen/injection-weights.ts.
 *
 *   npx tsx packages/warden/scripts/train-injection.mjs [--eval FILE.jsonl] [--out PREDICTIONS.jsonl]
 *
 * Runs under tsx because it imports the TypeScript feature code itself (training and screening share
 * one feature extractor). Fitting: batch gradient descent on the L2-regularised log loss, with the
 * signal weights kept non-negative (a signal may only raise the score, which keeps the model readable:
 * a finding's type is its largest contribution). Deterministic: same examples, same weights.
 *
 * `--eval` scores a labelled JSONL file (e.g. the shared dev set) with the new weights and prints recall
 * per positive source and false-positive rate per negative source. It never trains on that file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FEATURE_NAMES, gatherEvidence } from '../src/screen/injection-features.js';
import { createSignalScanner } from '../src/screen/injection-scan.js';
import { normalize } from '../src/screen/normalize.js';

const TRAINING = fileURLToPath(new URL('../src/screen/training/injection.jsonl', import.meta.url));
const WEIGHTS = fileURLToPath(new URL('../src/screen/injection-weights.ts', import.meta.url));
/** Tool names the training examples use for the gateway's own tools. */
const TOOL_NAMES = ['filesystem__read_file', 'filesystem__delete_file', 'payments__send_money', 'github__create_issue', 'send_email', 'shell__exec', 'slack__post_message'];
/**
 * L2 strength (per example). Signal weights are kept >= 0 (a signal only ever raises the score); the
 * length weight is kept <= 0 (the same signals in a longer text are more likely incidental); the
 * direction flag is free.
 */
const L2 = 0.01;
const NON_POSITIVE = new Set(['length']);
const FREE_SIGN = new Set(['output']);
const ITERATIONS = 6000;
const RATE = 0.5;
/**
 * Thresholds are chosen on the training examples: per direction, the lowest threshold (on a 0.01 grid)
 * whose false-positive rate on that direction's benign examples is at most this. The benign examples
 * are mostly hard negatives (trigger words, documentation about attacks), so real rates are lower.
 */
const TARGET_FPR = { input: 0.02, output: 0.04 };
const THRESHOLDS = { input: 0.5, output: 0.5 };

function chooseThresholds(rows, probs) {
  for (const direction of ['input', 'output']) {
    const negatives = probs.filter((_, i) => rows[i].direction === direction && rows[i].label === 0);
    for (let t = 0.3; t <= 0.951; t += 0.01) {
      const fpr = negatives.filter((p) => p >= t).length / Math.max(1, negatives.length);
      if (fpr <= TARGET_FPR[direction]) {
        THRESHOLDS[direction] = Math.round(t * 100) / 100;
        break;
      }
    }
  }
  // Tool output is judged more strictly than a user's request: its threshold is lower.
  THRESHOLDS.output = Math.round(Math.min(THRESHOLDS.output, THRESHOLDS.input - 0.05) * 100) / 100;
}

function readJsonl(path) {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

function featurize(scanner, rows) {
  return rows.map((r) => gatherEvidence(normalize(r.text), r.direction, scanner, TOOL_NAMES).features);
}

function sigmoid(z) {
  return 1 / (1 + Math.exp(-z));
}

function train(xs, ys) {
  const d = FEATURE_NAMES.length;
  const n = xs.length;
  const w = new Array(d).fill(0);
  let b = 0;
  // Balance the classes so neither dominates the fit.
  const pos = ys.filter((y) => y === 1).length;
  const weightOf = (y) => (y === 1 ? n / (2 * pos) : n / (2 * (n - pos)));
  for (let it = 0; it < ITERATIONS; it++) {
    const gw = new Array(d).fill(0);
    let gb = 0;
    for (let i = 0; i < n; i++) {
      const x = xs[i];
      let z = b;
      for (let j = 0; j < d; j++) z += w[j] * x[j];
      const e = (sigmoid(z) - ys[i]) * weightOf(ys[i]);
      for (let j = 0; j < d; j++) gw[j] += e * x[j];
      gb += e;
    }
    for (let j = 0; j < d; j++) {
      w[j] -= RATE * (gw[j] / n + L2 * w[j]);
      if (NON_POSITIVE.has(FEATURE_NAMES[j])) w[j] = Math.min(0, w[j]);
      else if (!FREE_SIGN.has(FEATURE_NAMES[j]) && w[j] < 0) w[j] = 0;
    }
    b -= RATE * (gb / n);
  }
  return { w, b };
}

function predict(model, x) {
  let z = model.b;
  for (let j = 0; j < x.length; j++) z += model.w[j] * x[j];
  return sigmoid(z);
}

function report(title, rows, probs) {
  const bySource = new Map();
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const flagged = probs[i] >= (r.direction === 'output' ? THRESHOLDS.output : THRESHOLDS.input);
    const key = `${r.label === 1 ? 'recall' : 'fpr   '} ${r.source ?? '-'}`;
    const s = bySource.get(key) ?? { n: 0, flagged: 0 };
    s.n++;
    if (flagged) s.flagged++;
    bySource.set(key, s);
  }
  let tp = 0, p = 0, fp = 0, ng = 0;
  for (let i = 0; i < rows.length; i++) {
    const flagged = probs[i] >= (rows[i].direction === 'output' ? THRESHOLDS.output : THRESHOLDS.input);
    if (rows[i].label === 1) { p++; if (flagged) tp++; } else { ng++; if (flagged) fp++; }
  }
  console.log(`\n== ${title}: recall ${(tp / Math.max(1, p)).toFixed(3)} (${tp}/${p}), FPR ${(fp / Math.max(1, ng)).toFixed(3)} (${fp}/${ng})`);
  for (const [key, s] of [...bySource].sort()) console.log(`  ${key.padEnd(52)} ${(s.flagged / s.n).toFixed(3)}  (${s.flagged}/${s.n})`);
}

function round(v) {
  return Math.round(v * 10000) / 10000;
}

function writeWeights(model, examples) {
  const lines = FEATURE_NAMES.map((name, j) => `    ${JSON.stringify(name)}, // ${round(model.w[j])}`);
  const text = `/**
 * GENERATED by \`npx tsx packages/warden/scripts/train-injection.mjs\` from src/screen/training/injection.jsonl
 * (${examples} examples). Do not edit by hand: change the examples or the features and re-run the script.
 *
 * Logistic-regression weights of the prompt-injection scorer, in the feature order of injection-features.ts.
 */
export interface InjectionModel {
  readonly features: readonly string[];
  readonly weights: readonly number[];
  readonly bias: number;
  /** Default probability thresholds per direction, chosen on the training examples. */
  readonly thresholds: { readonly input: number; readonly output: number };
}

export const INJECTION_MODEL: InjectionModel = {
  features: [
${lines.join('\n')}
  ],
  weights: [${model.w.map(round).join(', ')}],
  bias: ${round(model.b)},
  thresholds: { input: ${THRESHOLDS.input}, output: ${THRESHOLDS.output} },
};
`;
  writeFileSync(WEIGHTS, text);
}

function main() {
  const args = process.argv.slice(2);
  const evalPath = args.includes('--eval') ? args[args.indexOf('--eval') + 1] : undefined;
  const outPath = args.includes('--out') ? args[args.indexOf('--out') + 1] : undefined;
  const scanner = createSignalScanner();
  const rows = readJsonl(TRAINING);
  const xs = featurize(scanner, rows);
  const ys = rows.map((r) => r.label);
  const model = train(xs, ys);
  chooseThresholds(rows, xs.map((x) => predict(model, x)));
  writeWeights(model, rows.length);
  console.log('weights:');
  FEATURE_NAMES.forEach((name, j) => {
    if (model.w[j] !== 0) console.log(`  ${name.padEnd(34)} ${round(model.w[j])}`);
  });
  console.log(`  ${'bias'.padEnd(34)} ${round(model.b)}`);
  console.log(`thresholds: input ${THRESHOLDS.input}, output ${THRESHOLDS.output}`);
  report('training set', rows, xs.map((x) => predict(model, x)));
  if (evalPath !== undefined) {
    const evalRows = readJsonl(evalPath);
    const probs = featurize(scanner, evalRows).map((x) => predict(model, x));
    report(`eval ${evalPath}`, evalRows, probs);
    if (outPath !== undefined) {
      writeFileSync(outPath, evalRows.map((r, i) => JSON.stringify({ id: r.id, label: r.label, source: r.source, direction: r.direction, p: round(probs[i]) })).join('\n') + '\n');
    }
  }
}

main();
