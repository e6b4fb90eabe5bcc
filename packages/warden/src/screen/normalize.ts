/**
 * The text normalizer: turns untrusted text into the form the detectors scan, and keeps the way back.
 *
 * - Unicode NFKC (fullwidth and mathematical letters become ASCII, ligatures split, ...), applied per
 *   cluster (a code point plus the combining marks after it), so every output unit knows its source.
 * - Invisible characters are removed and reported in `hidden`: zero-width characters, the soft hyphen,
 *   variation selectors and other format characters (`zero_width`), bidi controls (`bidi`).
 *   Joiners and presentation selectors in their ordinary role (a ZWJ / ZWNJ right after a non-ASCII
 *   character that is not a Latin look-alike, as in emoji sequences and Indic or Arabic text; one VS15 /
 *   VS16 after a character) and a leading byte-order mark are removed without being reported.
 * - Unicode tag characters (U+E0000..U+E007F) can spell ASCII invisibly ("ASCII smuggling"): a run of
 *   them is reported as `tag_characters` and its ASCII is put INTO `text` in its place (separated by
 *   spaces from adjacent words), each decoded character mapped to its tag character, so detectors see
 *   the smuggled instruction and a finding on it maps back onto the invisible run. The same is done for
 *   runs of variation selectors that spell UTF-8 bytes (one byte per selector) and read as text. Tag
 *   characters that complete an emoji flag (after U+1F3F4) are just removed.
 * - Homoglyphs: Cyrillic / Greek / other look-alikes of Latin letters are folded to ASCII inside words
 *   that mix them with Latin letters or consist only of look-alikes (see homoglyphs.ts).
 * - HTML comments and elements hidden by markup stay in `text` and are reported in `hidden` (html-hidden.ts).
 * - Encoded payloads (base64, hex, %-encoding) are decoded to a bounded depth into `decoded` (encoded-payloads.ts).
 *
 * Offsets: `toOriginal(i)` is the start, in `original`, of the cluster that produced `text[i]`;
 * `toOriginal(0) === 0` and `toOriginal(text.length) === original.length` (except when everything was
 * removed and `text` is empty: then 0); it never decreases. So a finding `[a, b)` in `text` maps to
 * `[toOriginal(a), toOriginal(b))`, which covers the characters that produced it plus any invisible
 * ones removed between them (and just after them).
 *
 * Cost: linear. Pure-ASCII text takes a fast path (identity map, no per-character work beyond one
 * regex scan); other text builds a segment map (offset-map.ts), one entry per run of copied characters
 * and per changed cluster. NFKC per cluster equals NFKC of the whole text except for rare compositions
 * across clusters (e.g. Hangul jamo sequences split by a removed character). Per-code-point results
 * are cached (bounded) at module level: they are pure functions of the code point.
 */
import { findEncodedPayloads } from './encoded-payloads.js';
import { confusableTarget, foldHomoglyphs } from './homoglyphs.js';
import { findHiddenHtml } from './html-hidden.js';
import { OffsetMapBuilder } from './offset-map.js';
import type { DecodedSegment, HiddenSpan, NormalizedText } from './types.js';

export interface NormalizeOptions {
  /** How deep to decode payloads inside decoded payloads (1 = only payloads in the text itself). Default 2; 0 disables decoding. */
  maxDecodeDepth?: number;
  /** At most this many decoded segments in all. Default 32. */
  maxDecoded?: number;
}

// Character kinds, cached per code point.
const K_PASS = 1; // NFKC-stable, kept as is
const K_MAP = 2; // NFKC changes it
const K_CONFUSABLE = 3; // NFKC-stable, but a homoglyph candidate
const K_MARK = 4; // combining mark: belongs to the cluster of the code point before it
const K_ZERO_WIDTH = 5; // removed, reported as zero_width
const K_BIDI = 6; // removed, reported as bidi
const K_TAG = 7; // Unicode tag character
const K_SELECTOR = 8; // variation selector
const K_JOINER = 9; // ZWJ / ZWNJ: removed; reported unless joining non-ASCII text

/** Past this many hidden spans (of characters, and of HTML), further ones extend the last span (bounded output for adversarial text). */
export const MAX_HIDDEN_SPANS = 1000;
/** NFKC of two-unit clusters (a BMP letter and one combining mark), keyed base * 0x10000 + mark; cleared when full. */
const pairCache = new Map<number, string>();
const PAIR_CACHE_SIZE = 4096;

function nfkcPair(original: string, i: number): string {
  const key = original.charCodeAt(i) * 0x10000 + original.charCodeAt(i + 1);
  let nf = pairCache.get(key);
  if (nf === undefined) {
    if (pairCache.size >= PAIR_CACHE_SIZE) pairCache.clear();
    nf = original.slice(i, i + 2).normalize('NFKC');
    pairCache.set(key, nf);
  }
  return nf;
}

const bmpKinds = new Uint8Array(0x10000);
const astralKinds = new Map<number, number>();
const ASTRAL_CACHE_SIZE = 8192;
const nfkcCache = new Map<number, string>();
const MARK = /\p{M}/u;
const NON_ASCII = /[\u0080-\uffff]/;
const NON_ASCII_FROM = /[\u0080-\uffff]/g;

function computeKind(cp: number): number {
  if (cp === 0x200c || cp === 0x200d) return K_JOINER;
  if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp === 0x200e || cp === 0x200f || cp === 0x061c) return K_BIDI;
  if (
    cp === 0x200b ||
    (cp >= 0x2060 && cp <= 0x2064) ||
    (cp >= 0x206a && cp <= 0x206f) ||
    cp === 0xfeff ||
    cp === 0x180e ||
    cp === 0x00ad ||
    cp === 0x034f ||
    cp === 0x115f ||
    cp === 0x1160 ||
    cp === 0x3164 ||
    cp === 0xffa0 ||
    cp === 0x17b4 ||
    cp === 0x17b5 ||
    (cp >= 0x180b && cp <= 0x180d) ||
    (cp >= 0xfff9 && cp <= 0xfffb) ||
    (cp >= 0x1d173 && cp <= 0x1d17a)
  ) {
    return K_ZERO_WIDTH;
  }
  if ((cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xe0100 && cp <= 0xe01ef)) return K_SELECTOR;
  if (cp >= 0xe0000 && cp <= 0xe007f) return K_TAG;
  if (cp >= 0xd800 && cp <= 0xdfff) return K_PASS; // a lone surrogate: kept
  const ch = String.fromCodePoint(cp);
  if (MARK.test(ch)) return K_MARK;
  const nf = ch.normalize('NFKC');
  if (nf !== ch) {
    nfkcCache.set(cp, nf);
    return K_MAP;
  }
  return confusableTarget(cp) === undefined ? K_PASS : K_CONFUSABLE;
}

function kindOf(cp: number): number {
  if (cp < 0x10000) {
    let k = bmpKinds[cp] ?? 0;
    if (k === 0) {
      k = computeKind(cp);
      bmpKinds[cp] = k;
    }
    return k;
  }
  let k = astralKinds.get(cp);
  if (k === undefined) {
    k = computeKind(cp);
    if (astralKinds.size >= ASTRAL_CACHE_SIZE) astralKinds.clear();
    astralKinds.set(cp, k);
  }
  return k;
}

function nfkcOf(cp: number): string {
  return nfkcCache.get(cp) ?? String.fromCodePoint(cp).normalize('NFKC');
}

function isAsciiWordChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** Text after the character-level steps, with its map back to the original. */
export interface NormalizedChars {
  text: string;
  toOriginal: (offset: number) => number;
  hidden: HiddenSpan[];
}

/** Decodes a run of variation selectors as bytes (U+FE00..FE0F = 0..15, U+E0100..E01EF = 16..255). */
function selectorBytes(original: string, start: number, end: number): string | undefined {
  const bytes: number[] = [];
  for (let i = start; i < end; ) {
    const cp = original.codePointAt(i) ?? 0;
    bytes.push(cp < 0x10000 ? cp - 0xfe00 : cp - 0xe0100 + 16);
    i += cp > 0xffff ? 2 : 1;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

function isPrintableAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return text.length > 0;
}

/** Index of the first non-ASCII code unit at or after `from` in `s`, or `s.length`. */
function nextNonAscii(s: string, from: number): number {
  // A few characters by hand (short ASCII runs are common in mixed text), then the regex engine.
  const stop = Math.min(s.length, from + 16);
  for (let k = from; k < stop; k++) if (s.charCodeAt(k) >= 0x80) return k;
  if (stop === s.length) return stop;
  NON_ASCII_FROM.lastIndex = stop;
  const m = NON_ASCII_FROM.exec(s);
  return m === null ? s.length : m.index;
}

/** NFKC, invisible characters removed or decoded, homoglyphs folded; no HTML, no payloads. */
export function normalizeChars(original: string): NormalizedChars {
  const n = original.length;
  if (original.search(NON_ASCII) === -1) return { text: original, toOriginal: identity(n), hidden: [] };

  const parts: string[] = [];
  const map = new OffsetMapBuilder();
  const hidden: HiddenSpan[] = [];
  /** Offsets in the output of homoglyph candidates, ascending. */
  const confusables: number[] = [];
  /** Last code point emitted (0 = none yet); used for the joiner and flag rules. */
  let lastCp = 0;

  const report = (kind: HiddenSpan['kind'], start: number, end: number): void => {
    const last = hidden[hidden.length - 1];
    if (last !== undefined && ((last.kind === kind && last.end === start) || hidden.length >= MAX_HIDDEN_SPANS)) last.end = end;
    else hidden.push({ kind, start, end });
  };
  const emitAt = (s: string, at: number): void => {
    parts.push(s);
    map.constant(s.length, at);
  };
  /** Emits decoded smuggled ASCII for the run [start, end), each character mapped to its source, separated from adjacent words. */
  const emitSmuggled = (decoded: string, positions: number[], start: number, end: number): void => {
    if (isAsciiWordChar(lastCp) || lastCp >= 0x80) emitAt(' ', start);
    parts.push(decoded);
    for (let k = 0; k < decoded.length; k++) map.constant(1, positions[k] ?? start);
    const next = original.charCodeAt(end);
    if (end < n && (isAsciiWordChar(next) || next >= 0x80)) emitAt(' ', end);
    lastCp = 0x20;
  };

  let i = 0;
  while (i < n) {
    // A run of characters kept as they are.
    let j = i;
    while (j < n) {
      j = nextNonAscii(original, j);
      if (j >= n) break;
      const cp = original.codePointAt(j) ?? 0;
      const k = kindOf(cp);
      if (k !== K_PASS && k !== K_CONFUSABLE) break;
      if (k === K_CONFUSABLE) confusables.push(map.length + (j - i));
      j += cp > 0xffff ? 2 : 1;
    }
    if (j < n && j > i && kindOf(original.codePointAt(j) ?? 0) === K_MARK) {
      // The last kept character is the base of a combining sequence: leave it to the cluster step.
      j -= 1;
      if (j > i && (original.charCodeAt(j) & 0xfc00) === 0xdc00 && (original.charCodeAt(j - 1) & 0xfc00) === 0xd800) j -= 1;
    }
    if (j > i) {
      parts.push(original.slice(i, j));
      map.copy(i, j);
      lastCp = original.codePointAt(j - 1) ?? 0;
      if ((lastCp & 0xfc00) === 0xdc00 && j - 2 >= i) lastCp = original.codePointAt(j - 2) ?? lastCp;
      i = j;
      continue;
    }

    const cp = original.codePointAt(i) ?? 0;
    const size = cp > 0xffff ? 2 : 1;
    const kind = cp < 0x80 ? K_PASS : kindOf(cp);

    if (kind === K_ZERO_WIDTH || kind === K_BIDI) {
      if (!(cp === 0xfeff && i === 0)) report(kind === K_BIDI ? 'bidi' : 'zero_width', i, i + size);
      i += size;
      continue;
    }
    if (kind === K_JOINER) {
      // Silent only in its ordinary role: after a non-ASCII character that is not a Latin look-alike.
      if (lastCp < 0x80 || (lastCp < 0x10000 && confusableTarget(lastCp) !== undefined)) report('zero_width', i, i + size);
      i += size;
      continue;
    }
    if (kind === K_TAG) {
      let end = i;
      let decoded = '';
      const positions: number[] = [];
      while (end < n) {
        const t = original.codePointAt(end) ?? 0;
        if (t < 0xe0000 || t > 0xe007f) break;
        if (t >= 0xe0020 && t <= 0xe007e) {
          decoded += String.fromCharCode(t - 0xe0000);
          positions.push(end);
        }
        end += 2;
      }
      if (lastCp !== 0x1f3f4) {
        report('tag_characters', i, end);
        if (decoded.length > 0) emitSmuggled(decoded, positions, i, end);
      }
      i = end;
      continue;
    }
    if (kind === K_SELECTOR) {
      let end = i;
      const positions: number[] = [];
      while (end < n) {
        const t = original.codePointAt(end) ?? 0;
        if (kindOf(t) !== K_SELECTOR) break;
        positions.push(end);
        end += t > 0xffff ? 2 : 1;
      }
      // One VS15/VS16 after a character is an ordinary presentation selector.
      const ordinary = positions.length === 1 && cp >= 0xfe00 && cp <= 0xfe0f && lastCp !== 0;
      if (!ordinary) {
        report('zero_width', i, end);
        const decoded = positions.length >= 2 ? selectorBytes(original, i, end) : undefined;
        if (decoded !== undefined && decoded.length === positions.length && isPrintableAscii(decoded)) emitSmuggled(decoded, positions, i, end);
      }
      i = end;
      continue;
    }

    // A cluster: this code point and the combining marks after it.
    let end = i + size;
    while (end < n) {
      const m = original.codePointAt(end) ?? 0;
      if (m < 0x80 || kindOf(m) !== K_MARK) break;
      end += m > 0xffff ? 2 : 1;
    }
    const nf =
      end === i + size
        ? kind === K_PASS || kind === K_CONFUSABLE
          ? String.fromCodePoint(cp)
          : nfkcOf(cp)
        : end === i + 2
          ? nfkcPair(original, i)
          : original.slice(i, end).normalize('NFKC');
    for (let k = 0; k < nf.length; k++) {
      const u = nf.charCodeAt(k);
      if (u >= 0x80 && confusableTarget(u) !== undefined && confusables[confusables.length - 1] !== map.length + k) confusables.push(map.length + k);
    }
    emitAt(nf, i);
    if (nf.length > 0) lastCp = nf.codePointAt(nf.length - 1) ?? cp;
    if ((lastCp & 0xfc00) === 0xdc00) lastCp = nf.codePointAt(nf.length - 2) ?? lastCp;
    i = end;
  }

  let text = parts.join('');
  if (confusables.length > 0) text = foldHomoglyphs(text, confusables);
  return { text, toOriginal: map.finish(n), hidden };
}

function identity(length: number): (offset: number) => number {
  return (offset: number): number => (!(offset > 0) ? 0 : offset >= length ? length : Math.floor(offset));
}

function mergeHidden(a: HiddenSpan[], b: HiddenSpan[]): HiddenSpan[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  return [...a, ...b].sort((x, y) => x.start - y.start || y.end - x.end);
}

/**
 * Normalizes untrusted text for screening (see the module comment for what that means) and returns
 * the normalized text with the map back to the original, the hidden regions and the decoded payloads.
 *
 * @example
 * const n = normalize('ｉｇｎｏｒｅ previous\u200b instructions');
 * n.text; // 'ignore previous instructions'
 * n.hidden; // [{ kind: 'zero_width', start: 15, end: 16 }]
 */
export function normalize(text: string, options?: NormalizeOptions): NormalizedText {
  const maxDecodeDepth = options?.maxDecodeDepth ?? 2;
  const maxDecoded = options?.maxDecoded ?? 32;
  const chars = normalizeChars(text);
  const toOriginal = chars.toOriginal;
  const hidden = mergeHidden(chars.hidden, text.includes('<') ? findHiddenHtml(text, MAX_HIDDEN_SPANS) : []);
  const decoded: DecodedSegment[] =
    maxDecodeDepth > 0 && maxDecoded > 0
      ? findEncodedPayloads(chars.text, toOriginal, {
          maxDepth: maxDecodeDepth,
          maxDecoded,
          normalizeDecoded: (payload) => normalizeChars(payload).text,
        })
      : [];
  return Object.freeze({ original: text, text: chars.text, toOriginal, hidden: Object.freeze(hidden), decoded: Object.freeze(decoded) });
}
