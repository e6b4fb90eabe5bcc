/**
 * The screener: one text and its direction in, findings out, with UTF-16 offsets into the text as given.
 *
 *   refuse if over maxBytes -> normalize -> injection(normalized) + secrets + PII (over the normalized
 *   text, offsets mapped back; and over every decoded payload, reported on the span that encodes it)
 *   -> overlaps resolved -> sorted by position
 *
 * A text larger than `maxBytes` (UTF-8) is refused with WARDEN_SCREEN_TOO_LARGE — never passed on
 * unscreened. Overlapping findings of one category keep the strongest; PII inside a secret is the
 * secret (a phone-like run of digits inside an API key is not a phone number).
 */
import { WardenError } from '../errors/index.js';
import { createInjectionDetector } from './injection.js';
import { normalize } from './normalize.js';
import { detectPii } from './pii.js';
import { detectSecrets } from './secrets.js';
import type { Direction, ScreenFinding } from './types.js';

export interface Screener {
  readonly maxBytes: number;
  /** Findings in `text`; throws WARDEN_SCREEN_TOO_LARGE when the text is over `maxBytes`. */
  scan(text: string, direction: Direction): ScreenFinding[];
}

export interface ScreenerOptions {
  maxBytes: number;
  /** The names of the gateway's tools (their appearance in tool output is an injection signal). */
  toolNames?: () => readonly string[];
  /** Injection probability thresholds per direction (the detector's calibrated defaults otherwise). */
  thresholds?: { input: number; output: number };
}

export const tooLarge = (bytes: number, maxBytes: number): WardenError =>
  new WardenError('WARDEN_SCREEN_TOO_LARGE', `content of ${bytes} bytes is over the screening limit of ${maxBytes} bytes`, { details: { bytes, maxBytes } });

/** Keeps the strongest of overlapping findings of one category, and drops PII that lies inside a secret. */
function resolveOverlaps(findings: ScreenFinding[]): ScreenFinding[] {
  const sorted = findings.sort((a, b) => a.start - b.start || b.score - a.score || b.end - a.end);
  const kept: ScreenFinding[] = [];
  const lastOf = new Map<string, ScreenFinding>();
  for (const f of sorted) {
    const last = lastOf.get(f.category);
    if (last && f.start < last.end && f.category !== 'prompt_injection') {
      if (f.score > last.score) {
        kept[kept.indexOf(last)] = f;
        lastOf.set(f.category, f);
      }
      continue;
    }
    kept.push(f);
    lastOf.set(f.category, f);
  }
  const secrets = kept.filter((f) => f.category === 'secret');
  return secrets.length === 0 ? kept : kept.filter((f) => f.category !== 'pii' || !secrets.some((s) => s.start <= f.start && f.end <= s.end));
}

export function createScreener({ maxBytes, toolNames, thresholds }: ScreenerOptions): Screener {
  const injection = createInjectionDetector({ ...(toolNames ? { toolNames } : {}), ...(thresholds ? { thresholds } : {}) });
  return {
    maxBytes,
    scan(text, direction) {
      // A UTF-16 unit is at most 3 UTF-8 bytes: only texts that might be over the limit are measured.
      if (text.length * 3 > maxBytes) {
        const bytes = Buffer.byteLength(text, 'utf8');
        if (bytes > maxBytes) throw tooLarge(bytes, maxBytes);
      }
      const normalized = normalize(text);
      const findings = injection(normalized, direction);
      const identity = normalized.text === text;
      for (const f of [...detectSecrets(normalized.text), ...detectPii(normalized.text)]) {
        findings.push(identity ? f : { ...f, start: normalized.toOriginal(f.start), end: normalized.toOriginal(f.end) });
      }
      for (const segment of normalized.decoded) {
        for (const f of [...detectSecrets(segment.text), ...detectPii(segment.text)]) findings.push({ ...f, start: segment.start, end: segment.end });
      }
      return resolveOverlaps(findings);
    },
  };
}
