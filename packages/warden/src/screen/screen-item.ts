/**
 * One screening request as `warden screen --jsonl` and `POST /v1/screen` take it — `{id, text, direction}`
 * (other fields ignored) — and the answer both give: `{id, verdict, findings}` with UTF-16 offsets into
 * the text. The verdict follows the action table: block (or approve) -> "block", redact or tokenize ->
 * "redact", otherwise "allow".
 */
import { z } from 'zod';
import { outcomeOf, verdictOf, type ActionTable, type Verdict } from './actions.js';
import type { Screener } from './screener.js';
import type { ScreenFinding } from './types.js';

export const screenItemSchema = z.object({
  id: z.union([z.string().max(256), z.number()]).transform(String),
  text: z.string(),
  direction: z.enum(['input', 'output']),
});
export type ScreenItem = z.output<typeof screenItemSchema>;

export interface ScreenAnswer {
  id: string;
  verdict: Verdict;
  findings: ScreenFinding[];
}

export function screenItem(item: ScreenItem, screener: Screener, actions: ActionTable): ScreenAnswer {
  const findings = screener.scan(item.text, item.direction);
  return { id: item.id, verdict: verdictOf(outcomeOf(findings, item.direction, actions)), findings };
}
