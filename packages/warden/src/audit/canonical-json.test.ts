import { describe, expect, it } from 'vitest';
import { canonicalize } from './canonical-json.js';

describe('canonicalize (RFC 8785)', () => {
  it('sorts members by UTF-16 code units and drops white space', () => {
    // RFC 8785 §3.2.3 sorting example (keys given in a different order).
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    expect(canonicalize(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('serializes numbers and literals as RFC 8785 §3.2.2 requires', () => {
    // RFC 8785 §3.2.2 example input, after parsing.
    const input = JSON.parse('{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}') as unknown;
    expect(canonicalize(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
    expect(canonicalize(-0)).toBe('0');
  });

  it('refuses values JSON cannot represent', () => {
    expect(() => canonicalize(Number.NaN)).toThrow(TypeError);
    expect(() => canonicalize({ a: Number.POSITIVE_INFINITY })).toThrow(TypeError);
    expect(() => canonicalize(10n)).toThrow(TypeError);
    expect(canonicalize({ a: undefined, b: 1 })).toBe('{"b":1}');
  });
});

describe('canonicalize fast path', () => {
  it('gives the same text whether or not members are already in order', () => {
    const ordered = { a: 1, b: [1, { c: 'x', d: null }], e: { f: true } };
    const shuffled = { e: { f: true }, b: [1, { d: null, c: 'x' }], a: 1 };
    expect(canonicalize(ordered)).toBe('{"a":1,"b":[1,{"c":"x","d":null}],"e":{"f":true}}');
    expect(canonicalize(shuffled)).toBe(canonicalize(ordered));
    // Integer-like keys: JSON.stringify puts them first in numeric order; canonical order is by code units.
    expect(canonicalize({ '10': 1, '9': 2, a: 3 })).toBe('{"10":1,"9":2,"a":3}');
    expect(() => canonicalize({ a: [undefined] })).toThrow(TypeError);
    expect(() => canonicalize({ a: { b: Number.NaN } })).toThrow(TypeError);
  });
});
