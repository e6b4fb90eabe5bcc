/**
 * Secret references in upstream settings (env values, headers): a value that is exactly `secret:NAME`
 * stands for the whole secret; `{{secret:NAME}}` anywhere in a value (exactly so: no spaces inside the
 * braces, the same rule `gateway/upstreams.ts` checks at registration) is replaced by it, e.g. `Bearer {{secret:api-key}}`. A value starting with `secret:` is always a
 * reference, and every `{{secret:` must close, so a typo fails loudly (WARDEN_VALIDATION_FAILED) instead
 * of sending the reference text upstream. Resolution is one pass over the original value: a secret's
 * plaintext is never scanned for further references.
 */
import { WardenError, isWardenError } from '../errors/index.js';
import { secretNamePattern } from './secret-store.js';

const WHOLE_PREFIX = 'secret:';
const EMBEDDED_START = '{{secret:';
const EMBEDDED_END = '}}';

/** One reference: the name and the span of the value it replaces. */
interface Reference {
  readonly name: string;
  readonly start: number;
  readonly end: number;
}

function malformed(reference: string): WardenError {
  const shown = reference.length > 80 ? `${reference.slice(0, 80)}…` : reference;
  return new WardenError(
    'WARDEN_VALIDATION_FAILED',
    `malformed secret reference ${JSON.stringify(shown)}: use secret:NAME or {{secret:NAME}} with a secret name (lower-case letters, digits, ".", "_", "-")`,
    { details: { field: 'secretReference' } },
  );
}

/** Every reference in `value`, in order; WARDEN_VALIDATION_FAILED when one is malformed. */
function parse(value: string): Reference[] {
  if (value.startsWith(WHOLE_PREFIX)) {
    const name = value.slice(WHOLE_PREFIX.length);
    if (!secretNamePattern.test(name)) throw malformed(value);
    return [{ name, start: 0, end: value.length }];
  }
  const references: Reference[] = [];
  for (let start = value.indexOf(EMBEDDED_START); start !== -1; start = value.indexOf(EMBEDDED_START, start + 1)) {
    const close = value.indexOf(EMBEDDED_END, start + EMBEDDED_START.length);
    if (close < 0) throw malformed(value.slice(start));
    const name = value.slice(start + EMBEDDED_START.length, close);
    if (!secretNamePattern.test(name)) throw malformed(value.slice(start, close + EMBEDDED_END.length));
    references.push({ name, start, end: close + EMBEDDED_END.length });
  }
  return references;
}

/** Names referenced by a value: the whole value `secret:NAME`, or any `{{secret:NAME}}` inside it (each once, in order). */
export function secretReferences(value: string): string[] {
  return [...new Set(parse(value).map((r) => r.name))];
}

/**
 * The value with every reference replaced by the secret's plaintext (via `reveal`); a reference to a
 * missing secret throws WARDEN_NOT_FOUND naming it. A value without references comes back unchanged.
 */
export async function resolveSecretReferences(value: string, reveal: (name: string) => Promise<string>): Promise<string> {
  const references = parse(value);
  if (references.length === 0) return value;
  const plaintexts = new Map<string, string>();
  for (const { name } of references) {
    if (plaintexts.has(name)) continue;
    try {
      plaintexts.set(name, await reveal(name));
    } catch (cause) {
      if (isWardenError(cause, 'WARDEN_NOT_FOUND')) {
        throw new WardenError('WARDEN_NOT_FOUND', `secret ${name} is referenced but does not exist`, { details: { name }, cause });
      }
      throw cause;
    }
  }
  let resolved = '';
  let at = 0;
  for (const { name, start, end } of references) {
    resolved += value.slice(at, start) + plaintexts.get(name)!;
    at = end;
  }
  return resolved + value.slice(at);
}
