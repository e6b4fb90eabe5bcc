/**
 * The prompt-injection detector: weighted signals combined by a small calibrated scorer.
 *
 * Signals (injection-signals.ts) are phrasings injected instructions share: "ignore previous
 * instructions" and its relatives (also in other languages), chat-role and template markers, text
 * addressed to the model, instructions about the response (its language, format, encoding), prompt and
 * secret extraction, exfiltration shapes (markdown images and links carrying data), jailbreak and persona
 * vocabulary, a user's task or a stranded question hidden in tool output, made-up frames ("imagine we're
 * in a world where"), scripted Q/A exchanges, hidden text, encoded payloads (base64, hex, binary, Morse,
 * ROT13/Caesar) that decode to signals, and the names of the gateway's tools inside tool output. A logistic model (injection-weights.ts, trained
 * by scripts/train-injection.mjs from training/injection.jsonl) turns the capped family strengths into a
 * probability. Direction matters twice: families carry extra weight in tool output, and the output
 * threshold is lower, so tool output is judged more strictly than a user's own request.
 *
 * The detector returns at most one finding: its type is the family contributing most to the score, its
 * span covers the contributing signals in the original text, its score is the probability.
 */
import { gatherEvidence } from './injection-features.js';
import { createSignalScanner } from './injection-scan.js';
import type { SignalFamily } from './injection-signals.js';
import { INJECTION_MODEL } from './injection-weights.js';
import type { Direction, NormalizedText, ScreenFinding } from './types.js';

export interface InjectionDetectorOptions {
  /** Names of the gateway's own tools (`<server>__<tool>`) and upstream tool names; their appearance in tool OUTPUT is a signal. Called per screen (the catalog changes). */
  toolNames?: () => readonly string[];
  /** Probability thresholds per direction; defaults chosen by you (output stricter = lower threshold). */
  thresholds?: { input: number; output: number };
}

/**
 * Default thresholds, chosen by the training script on the training examples (a bounded false-positive
 * rate per direction, lower for tool output): tool output is judged more strictly than a user's request.
 */
export const DEFAULT_INJECTION_THRESHOLDS: Readonly<{ input: number; output: number }> = Object.freeze({ ...INJECTION_MODEL.thresholds });

/** The score and its explanation, before thresholding (for tests and tuning). */
export interface InjectionAssessment {
  score: number;
  /** The family contributing most (undefined when nothing contributed). */
  type: SignalFamily | undefined;
  start: number;
  end: number;
  /** Contribution of each family with a positive one, largest first. */
  contributions: { family: SignalFamily; contribution: number }[];
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

function checkThreshold(name: string, value: number): void {
  if (!(value > 0 && value < 1)) throw new RangeError(`injection threshold ${name} must be in (0, 1), got ${String(value)}`);
}

/** Scores one text without applying a threshold. */
export function createInjectionAssessor(options?: Pick<InjectionDetectorOptions, 'toolNames'>): (input: NormalizedText, direction: Direction) => InjectionAssessment {
  const scanner = createSignalScanner();
  const { weights, bias, features: featureNames } = INJECTION_MODEL;
  const index = new Map<string, number>();
  featureNames.forEach((name, i) => index.set(name, i));
  return (input, direction) => {
    const names = options?.toolNames?.() ?? [];
    const evidence = gatherEvidence(input, direction, scanner, names);
    let z = bias;
    for (let i = 0; i < evidence.features.length; i++) z += (weights[i] ?? 0) * (evidence.features[i] ?? 0);
    const contributions: { family: SignalFamily; contribution: number }[] = [];
    for (const family of evidence.strength.keys()) {
      const own = index.get(family) ?? -1;
      const out = index.get(`${family}@output`) ?? -1;
      const c = (weights[own] ?? 0) * (evidence.features[own] ?? 0) + (weights[out] ?? 0) * (evidence.features[out] ?? 0);
      if (c > 0) contributions.push({ family, contribution: c });
    }
    contributions.sort((a, b) => b.contribution - a.contribution);
    const top = contributions[0];
    let start = input.original.length;
    let end = 0;
    if (top !== undefined) {
      // The span covers the families that carry the score (at least a quarter of the top one's share).
      const carrying = new Set(contributions.filter((c) => c.contribution >= top.contribution / 4).map((c) => c.family));
      for (const h of evidence.hits) {
        if (!carrying.has(h.family)) continue;
        if (h.start < start) start = h.start;
        if (h.end > end) end = h.end;
      }
    }
    if (end < start) {
      start = 0;
      end = input.original.length;
    }
    return { score: sigmoid(z), type: top?.family, start, end, contributions };
  };
}

/**
 * Creates the prompt-injection detector. It returns zero or one `prompt_injection` finding per text.
 *
 * @example
 * const detect = createInjectionDetector({ toolNames: () => catalog.names() });
 * detect(normalize(toolResult), 'output'); // [{ category: 'prompt_injection', type: 'ignore_instructions', start, end, score: 0.97 }]
 */
export function createInjectionDetector(options?: InjectionDetectorOptions): (input: NormalizedText, direction: Direction) => ScreenFinding[] {
  const thresholds = options?.thresholds ?? DEFAULT_INJECTION_THRESHOLDS;
  checkThreshold('input', thresholds.input);
  checkThreshold('output', thresholds.output);
  const assess = createInjectionAssessor(options?.toolNames === undefined ? undefined : { toolNames: options.toolNames });
  return (input, direction) => {
    const a = assess(input, direction);
    const threshold = direction === 'output' ? thresholds.output : thresholds.input;
    if (a.score < threshold || a.type === undefined) return [];
    return [{ category: 'prompt_injection', type: a.type, start: a.start, end: a.end, score: Math.round(a.score * 1000) / 1000 }];
  };
}
