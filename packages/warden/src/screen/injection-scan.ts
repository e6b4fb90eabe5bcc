/**
 * The signal scanner: finds the injection signals of {@link SIGNAL_RULES} in a text in one pass.
 *
 * The text is walked once, case-insensitively (ASCII capitals are folded on the fly; the trie also
 * holds the capitals of non-ASCII anchor letters): at each word start, and at each character that can
 * start a non-word anchor such as `<|` or `![`, a trie of every rule's literal anchors is followed, and
 * only the rules of the anchors found there run, as sticky case-insensitive regexes bounded in length.
 * A trie walk is at most as long as the longest anchor, so the cost is linear: one pass plus a constant
 * per position, and each family stops being checked once it has {@link MAX_HITS_PER_FAMILY} hits.
 */
import { SIGNAL_RULES, type SignalFamily, type SignalRule } from './injection-signals.js';

/** One matched signal, offsets into the scanned text. */
export interface SignalHit {
  family: SignalFamily;
  start: number;
  end: number;
  strength: number;
}

/** Hits kept per family (the scorer caps the strength sums lower than this anyway). */
export const MAX_HITS_PER_FAMILY = 8;

/** A compiled rule table. */
export interface SignalScanner {
  scan(text: string): SignalHit[];
}

const QUOTES = new Set(['"', "'", '“', '‘', '`', '«']);
const CLOSING: Readonly<Record<string, string>> = { '"': '"', "'": "'", '“': '”', '‘': '’', '`': '`', '«': '»' };
/** Quoted mentions ("a phrase such as 'ignore previous instructions'") weigh this much of a use... */
export const QUOTED_MENTION_FACTOR = 0.3;
/** ...and this much when the text around says it is an example ("such as", "the phrase", "e.g."). */
export const EXAMPLE_MENTION_FACTOR = 0.1;
const EXAMPLE_BEFORE = /\b(?:such as|like|e\.g\.|for example|for instance|example|phrases?|called|known as|words?|strings?|text|patterns?|prompts?|messages?|sentences?)\W{0,3}$/i;

/** How much a match counts: 1, or less when it is a short quoted phrase (closing quote within 40 characters after `end`, same line). */
function mentionFactor(text: string, start: number, end: number): number {
  const open = text[start - 1];
  if (open === undefined || !QUOTES.has(open)) return 1;
  const close = CLOSING[open]!;
  const j = text.indexOf(close, end);
  if (j === -1 || j - end > 40 || text.lastIndexOf('\n', j) >= end) return 1;
  return EXAMPLE_BEFORE.test(text.slice(Math.max(0, start - 31), start - 1)) ? EXAMPLE_MENTION_FACTOR : QUOTED_MENTION_FACTOR;
}

const SENTENCE_END = new Set(['.', '!', '?', ':', ';', '|', '>', '\n', '"', "'", '(', '[', '*', '-', '•', '“', '‘', '`', '#', '\r', ')', '。', '！', '？']);

/** At a sentence start: only spaces (at most 8) between `i` and the text start or a sentence-ending mark. */
function atSentenceStart(text: string, i: number): boolean {
  let j = i - 1;
  const stop = Math.max(-1, i - 9);
  while (j > stop && (text[j] === ' ' || text[j] === '\t')) j--;
  return j < 0 || SENTENCE_END.has(text[j]!);
}

/** Markup right before a phrase that makes it a link text, code, a table cell or a heading rather than prose. */
const MARKUP_BEFORE = new Set(['[', '`', '|', '#']);

/**
 * The match at `at`..`end` stands in running prose: no link, code, table or heading markup right
 * before it, and the word after its first word does not start with a capital (a Title Case heading).
 */
function inProse(text: string, at: number, end: number): boolean {
  let j = at - 1;
  while (j >= 0 && (text[j] === ' ' || text[j] === '!')) j--;
  if (j >= 0 && MARKUP_BEFORE.has(text[j]!)) return false;
  let k = at;
  while (k < end && isWordCode(text.charCodeAt(k))) k++;
  while (k < text.length && text[k] === ' ') k++;
  return !(k < text.length && isCapital(text.charCodeAt(k)) && k + 1 < text.length && !isCapital(text.charCodeAt(k + 1)));
}

/** At a line start: only spaces and list/heading/quote markup (at most 8 characters) before `i` on its line. */
function atLineStart(text: string, i: number): boolean {
  let j = i - 1;
  const stop = Math.max(-1, i - 9);
  while (j > stop) {
    const c = text[j]!;
    if (c === '\n' || c === '\r') return true;
    if (c !== ' ' && c !== '\t' && c !== '#' && c !== '*' && c !== '>' && c !== '-' && c !== '_' && c !== '"' && c !== '[') return false;
    j--;
  }
  return j < 0;
}

/**
 * The word before `i` (after spaces), lower-cased: ASCII letters and apostrophes, at most 16 units.
 * A possessive ("Jane's") reads as "'s".
 */
function previousWord(text: string, i: number): string {
  let end = i;
  while (end > 0 && text.charCodeAt(end - 1) === 0x20) end--;
  let start = end;
  while (start > 0 && end - start < 16) {
    const c = text.charCodeAt(start - 1) | 0x20;
    if ((c >= 0x61 && c <= 0x7a) || c === 0x27) start--;
    else break;
  }
  const word = text.slice(start, end).toLowerCase();
  return word.length > 2 && word.endsWith("'s") && !SECRET_OWNER_WORDS.has(word) ? "'s" : word;
}
const SECRET_OWNER_WORDS = new Set(["user's", "admin's"]);

function isCapital(c: number): boolean {
  return c >= 0x41 && c <= 0x5a;
}

/** Whether a UTF-16 unit is an ASCII word character (`\w`). */
export function isWordCode(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || (c >= 0x41 && c <= 0x5a);
}

/** Columns per trie node for ASCII (lower-case) transitions; other units go through a map. */
const ASCII_WIDTH = 128;
const ASCII_SHIFT = 7;
/** Kinds of ASCII units for the walk: word characters start anchors at word starts; some others anywhere. */
const WORD = 1;
const ANYWHERE = 2;
/** Node flags: stem anchors (no word boundary needed after them) / whole-word anchors end here. */
const HAS_STEM = 1;
const HAS_WORD = 2;

interface AnchorTrie {
  ascii: Int32Array;
  other: Map<number, number>;
  flags: Uint8Array;
  stemRules: (readonly number[] | undefined)[];
  wordRules: (readonly number[] | undefined)[];
}

function buildTrie(anchorRules: Map<string, number[]>): AnchorTrie {
  const asciiRows: number[][] = [new Array<number>(ASCII_WIDTH).fill(0)];
  const other = new Map<number, number>();
  const wordRules: (number[] | undefined)[] = [undefined];
  const stemRules: (number[] | undefined)[] = [undefined];
  for (const [marked, list] of anchorRules) {
    const stem = marked.endsWith('*') || !isWordCode(marked.charCodeAt(marked.length - 1));
    const anchor = marked.endsWith('*') ? marked.slice(0, -1) : marked;
    let node = 0;
    for (let i = 0; i < anchor.length; i++) {
      const c = anchor.charCodeAt(i);
      let next = c < ASCII_WIDTH ? asciiRows[node]![c]! : (other.get(node * 0x10000 + c) ?? 0);
      if (next === 0) {
        next = asciiRows.length;
        asciiRows.push(new Array<number>(ASCII_WIDTH).fill(0));
        wordRules.push(undefined);
        stemRules.push(undefined);
        if (c < ASCII_WIDTH) {
          asciiRows[node]![c] = next;
        } else {
          other.set(node * 0x10000 + c, next);
          // The walk folds only ASCII; other scripts get their capitals as extra edges to the same node.
          const upper = anchor[i]!.toUpperCase();
          if (upper.length === 1 && upper !== anchor[i]) other.set(node * 0x10000 + upper.charCodeAt(0), next);
        }
      }
      node = next;
    }
    const table = stem ? stemRules : wordRules;
    table[node] = [...new Set([...(table[node] ?? []), ...list])];
  }
  const ascii = new Int32Array(asciiRows.length * ASCII_WIDTH);
  asciiRows.forEach((row, n) => ascii.set(row, n * ASCII_WIDTH));
  const flags = new Uint8Array(asciiRows.length);
  for (let n = 0; n < flags.length; n++) flags[n] = (stemRules[n] !== undefined ? HAS_STEM : 0) | (wordRules[n] !== undefined ? HAS_WORD : 0);
  return { ascii, other, flags, stemRules, wordRules };
}

/** Compiles a rule table into a scanner. Done once per detector. */
export function createSignalScanner(rules: readonly SignalRule[] = SIGNAL_RULES): SignalScanner {
  const anchorRules = new Map<string, number[]>();
  rules.forEach((rule, r) => {
    for (const a of rule.anchors) anchorRules.set(a, [...(anchorRules.get(a) ?? []), r]);
  });
  // The rules' regexes, matching case-insensitively on the text as it is.
  const regexes = rules.map((rule) => new RegExp(rule.re.source, rule.re.flags.includes('i') ? rule.re.flags : `${rule.re.flags}i`));
  const { ascii, other, flags, stemRules, wordRules } = buildTrie(anchorRules);
  // First units of anchors that do not start with a word character: walks may start anywhere on them.
  const anywhereStart = new Set<number>();
  for (const a of anchorRules.keys()) {
    if (isWordCode(a.charCodeAt(0))) continue;
    anywhereStart.add(a.charCodeAt(0));
    const upper = a[0]!.toUpperCase();
    if (upper.length === 1) anywhereStart.add(upper.charCodeAt(0));
  }
  const startKind = new Uint8Array(ASCII_WIDTH);
  for (let c = 0; c < ASCII_WIDTH; c++) startKind[c] = isWordCode(c) ? WORD : anywhereStart.has(c) ? ANYWHERE : 0;
  /** Position at which each rule last ran (a rule behind several anchors runs once per position). */
  const stamp = new Int32Array(rules.length);

  const matchAt = (list: readonly number[] | undefined, text: string, at: number, hits: SignalHit[], perFamily: Map<SignalFamily, number>): void => {
    if (list === undefined) return;
    for (const r of list) {
      if (stamp[r] === at) continue;
      stamp[r] = at;
      const rule = rules[r]!;
      const count = perFamily.get(rule.family) ?? 0;
      if (count >= MAX_HITS_PER_FAMILY) continue;
      if (rule.sentenceStart === true && !atSentenceStart(text, at)) continue;
      if (rule.lineStart === true && !atLineStart(text, at)) continue;
      if (rule.capitalized === true && !isCapital(text.charCodeAt(at))) continue;
      if (rule.previousWord !== undefined && !rule.previousWord.has(previousWord(text, at))) continue;
      const re = regexes[r]!;
      re.lastIndex = at;
      const m = re.exec(text);
      if (m === null) continue;
      const end = at + m[0].length;
      if (rule.exactCase !== undefined && text.slice(at, at + rule.exactCase.length) !== rule.exactCase) continue;
      if (rule.prose === true && !inProse(text, at, end)) continue;
      let strength = rule.strength ?? 1;
      if (typeof strength === 'function') {
        // Strength functions see lower-case text, as the rules are written.
        const lowered = m.map((g) => g?.toLowerCase()) as unknown as RegExpExecArray;
        strength = strength(lowered, text.slice(Math.max(0, at - 120), at).toLowerCase(), text.slice(end, end + 120).toLowerCase());
      }
      if (strength <= 0) continue;
      strength *= mentionFactor(text, at, end);
      hits.push({ family: rule.family, start: at, end, strength });
      perFamily.set(rule.family, count + 1);
    }
  };

  return {
    scan(text: string): SignalHit[] {
      stamp.fill(-1);
      const hits: SignalHit[] = [];
      const perFamily = new Map<SignalFamily, number>();
      const n = text.length;
      let prevWord = false;
      for (let at = 0; at < n; at++) {
        const c0 = text.charCodeAt(at);
        if (c0 < ASCII_WIDTH) {
          const kind = startKind[c0]!;
          if (kind === WORD) {
            if (prevWord) continue;
            prevWord = true;
          } else {
            prevWord = false;
            if (kind !== ANYWHERE) continue;
          }
        } else {
          prevWord = false;
          if (!anywhereStart.has(c0)) continue;
        }
        // Walk the trie from `at`, collecting the rules of every anchor that ends on the way.
        let node = 0;
        for (let j = at; j < n; j++) {
          let c = text.charCodeAt(j);
          if (c >= 0x41 && c <= 0x5a) c += 0x20;
          node = c < ASCII_WIDTH ? ascii[(node << ASCII_SHIFT) | c]! : (other.get(node * 0x10000 + c) ?? 0);
          if (node === 0) break;
          const f = flags[node]!;
          if (f === 0) continue;
          if ((f & HAS_STEM) !== 0) matchAt(stemRules[node], text, at, hits, perFamily);
          if ((f & HAS_WORD) !== 0 && (j + 1 >= n || !isWordCode(text.charCodeAt(j + 1)))) matchAt(wordRules[node], text, at, hits, perFamily);
        }
      }
      return hits;
    },
  };
}
