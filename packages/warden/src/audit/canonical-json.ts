/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): the one byte form of an audit entry, so its hash is
 * reproducible by any verifier. Object members are sorted by their UTF-16 code units, numbers and
 * strings are serialized as ECMAScript's JSON.stringify does (which RFC 8785 adopts), and there is no
 * white space. Values JSON cannot represent (undefined, functions, NaN, Infinity, bigint) are refused.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** The canonical JSON text of `value`. Throws TypeError on a value JSON cannot represent. */
export function canonicalize(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical JSON cannot represent a non-finite number');
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((item) => canonicalize(item)).join(',')}]`;
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record)
        .filter((key) => record[key] !== undefined)
        .sort(compareUtf16);
      return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalize(record[key])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot represent a ${typeof value}`);
  }
}

/** Order of RFC 8785 §3.2.3: by UTF-16 code units, which is JavaScript's default string order. */
function compareUtf16(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
