/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): the one byte form of an audit entry, so its hash is
 * reproducible by any verifier. Object members are sorted by their UTF-16 code units, numbers and
 * strings are serialized as ECMAScript's JSON.stringify does (which RFC 8785 adopts), and there is no
 * white space. Values JSON cannot represent (undefined, functions, NaN, Infinity, bigint) are refused.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** The canonical JSON text of `value`. Throws TypeError on a value JSON cannot represent. */
export function canonicalize(value: unknown): string {
  // Fast path: when every object already has its members in canonical order and holds only values JSON
  // represents exactly, JSON.stringify produces the canonical text (RFC 8785 adopts its number and
  // string serialization). Audit entry bodies are built that way.
  return isInCanonicalOrder(value, 0) ? JSON.stringify(value) : canonicalValue(value);
}

/** True when JSON.stringify(value) is already canonical (bounded depth; deeper values take the slow path). */
function isInCanonicalOrder(value: unknown, depth: number): boolean {
  if (value === null) return true;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (depth > 32) return false;
      if (Array.isArray(value)) {
        for (const item of value) if (item === undefined || !isInCanonicalOrder(item, depth + 1)) return false;
        return true;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype) return false;
      let previous: string | undefined;
      for (const key in value) {
        if (previous !== undefined && !(previous < key)) return false;
        const member = (value as Record<string, unknown>)[key];
        if (member === undefined || !isInCanonicalOrder(member, depth + 1)) return false;
        previous = key;
      }
      return true;
    }
    default:
      return false;
  }
}

function canonicalValue(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical JSON cannot represent a non-finite number');
      return JSON.stringify(value);
    case 'object':
      return Array.isArray(value) ? canonicalArray(value) : canonicalObject(value as Record<string, unknown>);
    default:
      throw new TypeError(`canonical JSON cannot represent a ${typeof value}`);
  }
}

function canonicalArray(items: readonly unknown[]): string {
  let out = '[';
  for (let i = 0; i < items.length; i++) {
    if (i > 0) out += ',';
    out += canonicalValue(items[i]);
  }
  return `${out}]`;
}

/**
 * Members sorted as RFC 8785 §3.2.3 requires, by UTF-16 code units: exactly the order of JavaScript's
 * default `sort()` on strings. Members whose value is undefined are left out, as JSON.stringify does.
 */
function canonicalObject(record: Record<string, unknown>): string {
  const keys = Object.keys(record).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += `${JSON.stringify(key)}:${canonicalValue(member)}`;
  }
  return `${out}}`;
}
