/**
 * The secrets detector: provider tokens with their structure checked (`secret-rules.ts`,
 * `secret-providers.ts`), PEM private keys and service-account JSON (`secret-pem.ts`), credentials in
 * URLs and connection strings (`secret-urls.ts`), and passwords / high-entropy values in an assignment
 * context (`secret-assignments.ts`). Placeholders, references, masked values and vendor-documented
 * examples are never reported.
 *
 * Every scanner finds its anchors with `indexOf` or one regex of literals and examines a bounded
 * window around each, so the whole detector runs in time linear in the input. The `=` and `:` passes
 * live here because several scanners share them.
 */

import { assignmentAt, cliUserPasswordAt, createAssignmentScan } from './secret-assignments.js';
import { scanPrivateKeys } from './secret-pem.js';
import { scanProviderTokens, colonTokenAt } from './secret-providers.js';
import { urlCredentialsAt } from './secret-urls.js';
import type { ScreenFinding } from './types.js';

/**
 * Keeps one finding per region: where findings overlap, the higher score wins (a structure-checked
 * provider token beats the generic assignment finding for the same value). Output is sorted by start.
 */
function resolveOverlaps(findings: ScreenFinding[]): ScreenFinding[] {
  const sorted = [...findings].sort((a, b) => a.start - b.start || b.score - a.score || b.end - a.end);
  const kept: ScreenFinding[] = [];
  for (const f of sorted) {
    const last = kept[kept.length - 1];
    if (last === undefined || f.start >= last.end) {
      kept.push(f);
    } else if (f.score > last.score) {
      kept[kept.length - 1] = f;
    }
  }
  return kept;
}

/**
 * Finds secrets in `text`. Offsets are UTF-16 offsets into `text` spanning the secret value (not its
 * name or quotes); `type` is a snake_case format name (`github_token`, `private_key`, `password`, ...).
 *
 * @example
 * detectSecrets('GITHUB_TOKEN=ghp_…') // [{ category: 'secret', type: 'github_token', start: 13, end: 53, score: 0.99 }]
 */
export function detectSecrets(text: string): ScreenFinding[] {
  const found: ScreenFinding[] = [];
  scanProviderTokens(text, found);
  scanPrivateKeys(text, found);
  const equals = createAssignmentScan(found);
  for (let p = text.indexOf('='); p !== -1; p = text.indexOf('=', p + 1)) assignmentAt(text, p, equals);
  const colons = createAssignmentScan(found);
  // One pass over `:` serves URLs (`://`), Telegram / Firebase tokens (`<id>:AA...`) and `name: value` assignments.
  for (let p = text.indexOf(':'); p !== -1; p = text.indexOf(':', p + 1)) {
    if (text.charCodeAt(p + 1) === 47 && text.charCodeAt(p + 2) === 47) {
      urlCredentialsAt(text, p, found);
    } else {
      colonTokenAt(text, p, found);
      assignmentAt(text, p, colons);
      cliUserPasswordAt(text, p, found);
    }
  }
  return found.length <= 1 ? found : resolveOverlaps(found);
}
