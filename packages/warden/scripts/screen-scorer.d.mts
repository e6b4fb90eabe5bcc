/**
 * Types of screen-scorer.mjs (plain JavaScript, not type-checked), for the TypeScript test that imports
 * it (src/screen/scorer.test.ts). Keep in step with the script.
 */

export type Ratio = number | null;
/** A 95% percentile-bootstrap interval, or null when the metric was undefined in every resample. */
export type Interval = [number, number] | null;

export interface FormatProblems {
  total: number;
  byReason: Record<string, number>;
  examples: string[];
}

export interface SpanCounts {
  gold: number;
  predicted: number;
  matchedPredicted: number;
  recalledGold: number;
  precision: Ratio;
  recall: Ratio;
  f1: Ratio;
}

interface Common {
  items: number;
  missingPredictions: number;
  formatProblems: FormatProblems;
  /** Set by scoreFiles / the CLI: the gold file's path. */
  file?: string;
}

export interface InjectionResult extends Common {
  kind: 'injection';
  attacks: number;
  benign: number;
  overall: { tp: number; fp: number; fn: number; tn: number; precision: Ratio; recall: Ratio; f1: Ratio; fpr: Ratio; benignNotAllow: Ratio };
  ci: { recall: Interval; fpr: Interval; precision: Interval; f1: Interval; benignNotAllow: Interval };
  recallBySource: Record<string, { n: number; detected: number; recall: Ratio }>;
  recallBySourceVariant: Record<string, { n: number; detected: number; recall: Ratio }>;
  recallByTechnique: Record<string, { n: number; detected: number; recall: Ratio }>;
  recallByPosition: Record<string, { n: number; detected: number; recall: Ratio }>;
  fprBySource: Record<string, { n: number; flagged: number; fpr: Ratio }>;
  benignNotAllowBySource: Record<string, { n: number; notAllow: number; share: Ratio }>;
}

export interface ItemFpr {
  n: number;
  flagged: number;
  fpr: Ratio;
}

export interface PiiResult extends Common {
  kind: 'pii';
  core: SpanCounts;
  all: SpanCounts;
  perType: Record<string, SpanCounts>;
  itemFpr: ItemFpr;
  ci: { precision: Interval; recall: Interval; f1: Interval; itemFpr: Interval };
}

export interface SecretsResult extends Common {
  kind: 'secrets';
  overall: SpanCounts;
  recallByType: Record<string, { n: number; recalled: number; recall: Ratio }>;
  itemFpr: ItemFpr;
  itemFprByHardNegative: Record<string, ItemFpr>;
  ci: { precision: Interval; recall: Interval; f1: Interval; itemFpr: Interval };
}

export type ScoreResult = InjectionResult | PiiResult | SecretsResult;

/** JSONL text, or lines (strings), or parsed objects. */
export type Lines = string | ReadonlyArray<string | Record<string, unknown>>;

export const CATEGORIES: readonly string[];
export const VERDICTS: readonly string[];
export const PII_CORE_TYPES: readonly string[];
export const BOOTSTRAP_RESAMPLES: number;
export const BOOTSTRAP_SEED: number;

export function mulberry32(seed: number): () => number;
export function covers(p: { start: number; end: number }, g: { start: number; end: number }): boolean;
export function scoreFile(goldLines: Lines, predLines: Lines): ScoreResult;
export function summaryOf(results: readonly ScoreResult[]): {
  injection_recall: Ratio;
  injection_fpr_benign: Ratio;
  pii_f1: Ratio;
  secrets_f1: Ratio;
};
export function formatReport(results: readonly ScoreResult[]): string;
export function scoreFiles(pairs: ReadonlyArray<{ gold: string; pred: string }>): ScoreResult[];
export function parseArgs(argv: readonly string[]): { pairs: Array<{ gold: string; pred: string }>; json: string | undefined };
