/**
 * Injection evidence and features: gathers the signals of a normalized text (its visible text, its
 * decoded payloads, its hidden regions and the gateway's tool names in it), maps them to the original
 * text, and turns them into the fixed feature vector the injection scorer weighs.
 *
 * Features, in {@link FEATURE_NAMES} order: per signal family the summed strength of its hits capped at
 * {@link FAMILY_CAP}; the same again counted only for tool output (`<family>@output`, so a family can
 * weigh more in text coming back from a tool than in a user's own request); a length term; a direction
 * flag. A document pasted into a request ("Summarize this webpage: '<html>…'") is content, not the
 * user's words: its signals count as tool output too, while the text is still judged as a request. In
 * technical text (code, markdown headings) weak wording signals count for less. The training script
 * (scripts/train-injection.mjs) uses this same module, so training and screening cannot drift apart.
 */
import { isWordCode, type SignalHit, type SignalScanner } from './injection-scan.js';
import { SIGNAL_FAMILIES, type SignalFamily } from './injection-signals.js';
import type { Direction, NormalizedText } from './types.js';

/** A family's strength is capped here: repetition adds little once a signal is clearly present. */
export const FAMILY_CAP = 4;

/** Lower caps for families that are weak alone however often they occur (questions, urgency words, requests). */
const FAMILY_CAPS: Partial<Record<SignalFamily, number>> = { embedded_question: 1, fake_dialogue: 2, authority_claim: 2, user_request: 2, link_lure: 2 };

/**
 * Families whose strength is their strongest hit, not the sum: many questions, made-up frames, imperative
 * sentences or mentions of encodings in one text (an FAQ, a story, a README) are no more a task for the
 * model than the clearest one of them.
 */
const BY_MAX: ReadonlySet<SignalFamily> = new Set<SignalFamily>(['embedded_question', 'hypothetical_frame', 'user_request', 'encoding_trick']);

export const FEATURE_NAMES: readonly string[] = [
  ...SIGNAL_FAMILIES,
  ...SIGNAL_FAMILIES.map((f) => `${f}@output`),
  'length',
  'output',
];

/** One signal with its span in the ORIGINAL text. */
export interface EvidenceHit {
  family: SignalFamily;
  start: number;
  end: number;
  strength: number;
}

export interface InjectionEvidence {
  hits: EvidenceHit[];
  /** Capped strength per family. */
  strength: Map<SignalFamily, number>;
  features: number[];
}

/** Decoded payloads scanned at most (the normalizer bounds them too). */
const MAX_DECODED_SCANNED = 32;
/** A hidden HTML region counts when it holds at least this many letters (not an empty comment or spacer). */
const MIN_HIDDEN_LETTERS = 12;

/**
 * Hidden regions, in budget groups: strength of one region and the most a group may add. Tag
 * characters are never innocent. Invisible characters inside a word ("ig\u200bnore", words glued by
 * zero-width spaces) are obfuscation; soft hyphens are ordinary hyphenation and do not count. Comments,
 * hidden elements and bidi marks (Arabic, Hebrew) are common in ordinary pages, so together they add at
 * most 0.25, however often they occur: what carries weight is a signal inside a hidden region.
 */
const HIDDEN_GROUP: Readonly<Record<string, string>> = {
  tag_characters: 'tags',
  zero_width: 'invisible',
  html_comment: 'markup',
  hidden_element: 'markup',
  bidi: 'markup',
};
const HIDDEN_BUDGET: Readonly<Record<string, { each: number; max: number }>> = {
  tags: { each: 3, max: FAMILY_CAP },
  invisible: { each: 0.25, max: 1.5 },
  markup: { each: 0.1, max: 0.25 },
};
/** A signal inside a hidden region adds this to `hidden_text`. */
const SIGNAL_IN_HIDDEN = 1;
const LETTER = /\p{L}/u;

function isSoftHyphens(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (text.charCodeAt(i) !== 0xad) return false;
  return true;
}

function splitsWord(text: string, start: number, end: number): boolean {
  return start > 0 && end < text.length && LETTER.test(text[start - 1]!) && LETTER.test(text[end]!);
}

function countLetters(text: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end && n < MIN_HIDDEN_LETTERS; i++) {
    const c = text.charCodeAt(i) | 0x20;
    if (c >= 0x61 && c <= 0x7a) n++;
  }
  return n;
}

/** Identifiers longer than this are not tool names (bounded work per `_` or `-`). */
const MAX_TOOL_NAME = 128;

function hasDoubleUnderscore(text: string, start: number, end: number): boolean {
  for (let i = start + 1; i < end; i++) if (text.charCodeAt(i) === 0x5f && text.charCodeAt(i - 1) === 0x5f) return true;
  return false;
}

/** Characters of a tool-name-like identifier: `github__create_issue`, `read-file`, `fs.read`. */
function isIdentifierCode(c: number): boolean {
  return isWordCode(c) || c === 0x2d || c === 0x2e;
}

/**
 * Finds tool names in text (case-insensitive, whole identifiers; each name once, weak on its own).
 * Names with `_` or `-` are found from those characters in one pass (the identifier around each is
 * looked up; `server__tool` also by its tool part). Plain names ("search") count only as `name(` or
 * "name tool", since they are ordinary words.
 */
export function findToolNames(text: string, names: readonly string[]): EvidenceHit[] {
  const hits: EvidenceHit[] = [];
  const marked = new Set<string>();
  const plain: string[] = [];
  for (const raw of names) {
    const name = raw.toLowerCase();
    if (name.length < 3) continue;
    if (/[_-]/.test(name)) marked.add(name);
    else plain.push(name);
  }
  const seen = new Set<string>();
  if (marked.size > 0) {
    let minLength = Infinity;
    const lengths = new Set<number>();
    for (const name of marked) {
      minLength = Math.min(minLength, name.length);
      lengths.add(name.length);
    }
    let u = text.indexOf('_');
    let d = text.indexOf('-');
    while (u !== -1 || d !== -1) {
      const k = u === -1 ? d : d === -1 ? u : Math.min(u, d);
      let start = k;
      while (start > 0 && k - start < MAX_TOOL_NAME && isIdentifierCode(text.charCodeAt(start - 1))) start--;
      let end = k + 1;
      while (end < text.length && end - start < 2 * MAX_TOOL_NAME && isIdentifierCode(text.charCodeAt(end))) end++;
      if (u !== -1 && u < end) u = text.indexOf('_', end);
      if (d !== -1 && d < end) d = text.indexOf('-', end);
      while (end > start && (text.charCodeAt(end - 1) === 0x2e || text.charCodeAt(end - 1) === 0x2d)) end--;
      if (end - start < minLength || (!lengths.has(end - start) && !hasDoubleUnderscore(text, start, end))) continue;
      const ident = text.slice(start, end).toLowerCase();
      const sep = ident.indexOf('__');
      const found = marked.has(ident) ? ident : sep > 0 && marked.has(ident.slice(sep + 2)) ? ident.slice(sep + 2) : undefined;
      if (found !== undefined && !seen.has(found)) {
        seen.add(found);
        hits.push({ family: 'tool_name', start, end: start + ident.length, strength: 0.5 });
      }
    }
  }
  // Plain names: "search(" or "search tool", as written, capitalized or in capitals.
  for (const name of plain) {
    const forms = [name, name[0]!.toUpperCase() + name.slice(1), name.toUpperCase()];
    for (const form of forms) {
      for (const suffix of ['(', ' tool']) {
        const i = text.indexOf(form + suffix);
        if (i === -1 || (i > 0 && isWordCode(text.charCodeAt(i - 1))) || seen.has(name)) continue;
        seen.add(name);
        hits.push({ family: 'tool_name', start: i, end: i + name.length, strength: 0.5 });
      }
    }
  }
  return hits;
}

/** Cipher payloads decoded at most per text, and the most text one of them may span. */
const MAX_CIPHER_PAYLOADS = 4;
const MAX_CIPHER_LENGTH = 8192;
/** At least six octets or Morse letters in a row: shorter runs are numbers, dashes or ellipses. */
const BINARY_RUN = /[01]{8}(?:[ ,]{0,2}[01]{8}){5,}/g;
const MORSE_RUN = /[.-]{1,6}(?:(?: | ?\/ ?)[.-]{1,6}){5,}/g;
const MORSE: Readonly<Record<string, string>> = {
  '.-': 'a', '-...': 'b', '-.-.': 'c', '-..': 'd', '.': 'e', '..-.': 'f', '--.': 'g', '....': 'h', '..': 'i', '.---': 'j', '-.-': 'k', '.-..': 'l', '--': 'm',
  '-.': 'n', '---': 'o', '.--.': 'p', '--.-': 'q', '.-.': 'r', '...': 's', '-': 't', '..-': 'u', '...-': 'v', '.--': 'w', '-..-': 'x', '-.--': 'y', '--..': 'z',
  '-----': '0', '.----': '1', '..---': '2', '...--': '3', '....-': '4', '.....': '5', '-....': '6', '--...': '7', '---..': '8', '----.': '9',
};

function decodeBinary(run: string): string {
  let out = '';
  for (let i = 0; i < run.length; ) {
    const c = run.charCodeAt(i);
    if (c !== 0x30 && c !== 0x31) {
      i++;
      continue;
    }
    out += String.fromCharCode(parseInt(run.slice(i, i + 8), 2));
    i += 8;
  }
  return out;
}

function decodeMorse(run: string): string {
  return run
    .split('/')
    .map((word) => word.trim().split(' ').map((l) => MORSE[l] ?? '').join(''))
    .join(' ');
}

/** Shifts letters back by `shift` (13 undoes ROT13, 3 the classic Caesar cipher). */
function unshift(text: string, shift: number): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) out += String.fromCharCode(((c - 0x61 + 26 - shift) % 26) + 0x61);
    else if (c >= 0x41 && c <= 0x5a) out += String.fromCharCode(((c - 0x41 + 26 - shift) % 26) + 0x41);
    else out += text[i];
  }
  return out;
}

/**
 * Cipher payloads in a text, decoded: runs of binary octets anywhere and, when the text names an
 * encoding (`named`: it has an `encoding_trick` signal such as "Morse", "ROT13", "Caesar cipher"), runs
 * of Morse code and its first {@link MAX_CIPHER_LENGTH} characters shifted back by 13 and by 3. Each
 * regex is a single bounded pass (fixed-width groups), so this stays linear.
 */
export function findCipherPayloads(text: string, named: boolean): { start: number; end: number; text: string }[] {
  const out: { start: number; end: number; text: string }[] = [];
  // Cheap substring checks first: letters in binary start 010 or 011; Morse words mix dots and dashes.
  const binary = text.includes('0110') || text.includes('0100');
  const morse = named && (text.includes('.-') || text.includes('-.'));
  for (const [re, decode, present] of [
    [BINARY_RUN, decodeBinary, binary],
    [MORSE_RUN, decodeMorse, morse],
  ] as const) {
    if (!present) continue;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null && out.length < MAX_CIPHER_PAYLOADS; m = re.exec(text)) {
      const run = m[0].slice(0, MAX_CIPHER_LENGTH);
      out.push({ start: m.index, end: m.index + run.length, text: decode(run) });
    }
  }
  if (named) {
    const head = text.slice(0, MAX_CIPHER_LENGTH);
    out.push({ start: 0, end: head.length, text: unshift(head, 13) });
    out.push({ start: 0, end: head.length, text: unshift(head, 3) });
  }
  return out;
}

/**
 * Where a document pasted into a request starts: after "summarize this webpage:", "based on this
 * resume:", "given this article:" and the like (a phrase naming a document, then a colon). -1 when
 * there is none. One bounded pass (fixed gaps).
 */
const DOCUMENT_FRAME =
  /\b(?:(?:translate|summari[sz]e|proofread|paraphrase|rewrite|correct|classify)\s{1,3}(?:this|the following|the text below|the text)\b[^:\n]{0,40}?:|(?:summari[sz]e|based on|given|from|of|in|about|analy[sz]e|translate|review|proofread|classify|using)\s{1,3}(?:this|the following|the below|these)\s{1,3}(?:[\w-]{1,20}\s{1,3}){0,2}?(?:webpage|web page|page|article|email|e-mail|message|resume|cv|document|paper|table|code|snippet|text|passage|reviews?|post|file|transcript|report|essay|story|abstract|excerpt|data|json|html|csv|log|notes?|letter|comment|tweet|description|content|string|paragraph)\b[^:\n]{0,60}?:)/i;

export function embeddedDocumentStart(text: string): number {
  const m = DOCUMENT_FRAME.exec(text);
  return m === null ? -1 : m.index + m[0].length;
}

function inside(hit: { start: number; end: number }, spans: readonly { start: number; end: number }[]): boolean {
  for (const s of spans) if (hit.start >= s.start && hit.end <= s.end) return true;
  return false;
}

/** Quotes around a pasted document: they delimit the document, they do not make its words a quotation. */
const OPENING_QUOTE = /^\s{0,3}['"‘“`]{1,3}/;

/**
 * The signals of a document pasted into a request (from `docStart`, in the normalized text): the text
 * there scanned on its own, without its opening quote, so that quoting the document does not damp what
 * is in it as a quoted mention; plus the hidden-text and payload signals found in it.
 */
function documentHits(input: NormalizedText, docStart: number, scanner: SignalScanner, all: readonly EvidenceHit[]): EvidenceHit[] {
  const from = docStart + (OPENING_QUOTE.exec(input.text.slice(docStart, docStart + 8))?.[0].length ?? 0);
  const origin = input.toOriginal(docStart);
  const out: EvidenceHit[] = all.filter((h) => h.start >= origin && (h.family === 'hidden_text' || h.family === 'encoded_payload'));
  const text = input.text.slice(from);
  const own: EvidenceHit[] = scanner.scan(text).map((h) => ({ family: h.family, start: input.toOriginal(from + h.start), end: input.toOriginal(from + h.end), strength: h.strength }));
  dampTechnical(own, text);
  return [...out, ...own];
}

/** Code spans, fenced blocks, markdown headings and lines of source code: the marks of technical text. */
const TECHNICAL_MARK = /```|`[^`\n]{1,60}`|(?:^|\n)#{1,6} |(?:^|\n)[ \t]*(?:\/\/|\/\*|\*[ /]|(?:const|let|var|function|import|export|return|class|def|if|for|while|switch|case|try|catch|throw)\b|\}|\{$)/g;
/** How many such marks make a text technical documentation, and what that leaves of an imperative's strength. */
const TECHNICAL_MARKS = 3;
const TECHNICAL_DOC_FACTOR = 0.25;
/** Signals that are not wording (hidden text, decoded payloads, tool names): documentation does not excuse them. */
const NOT_WORDING: ReadonlySet<SignalFamily> = new Set<SignalFamily>(['hidden_text', 'encoded_payload', 'tool_name']);

function isTechnicalDocument(text: string): boolean {
  TECHNICAL_MARK.lastIndex = 0;
  let n = 0;
  while (TECHNICAL_MARK.exec(text) !== null) if (++n >= TECHNICAL_MARKS) return true;
  return false;
}

/**
 * In technical text imperative sentences are the document's own voice ("Create a client", "Determine
 * the retry policy") and words such as "ignore", "override", "reverse" or "your responses" its own
 * vocabulary: weak wording signals of `hits` count for less there. Strong ones ("ignore all previous
 * instructions") keep their strength.
 */
function dampTechnical(hits: EvidenceHit[], text: string): void {
  if (!isTechnicalDocument(text)) return;
  for (const h of hits) if (h.strength <= 1 && !NOT_WORDING.has(h.family)) h.strength *= TECHNICAL_DOC_FACTOR;
}

/** Capped strength per family. */
function strengthOf(hits: readonly EvidenceHit[]): Map<SignalFamily, number> {
  const strength = new Map<SignalFamily, number>();
  for (const h of hits) {
    const sum = BY_MAX.has(h.family) ? Math.max(strength.get(h.family) ?? 0, h.strength) : (strength.get(h.family) ?? 0) + h.strength;
    strength.set(h.family, Math.min(FAMILY_CAPS[h.family] ?? FAMILY_CAP, sum));
  }
  return strength;
}

/**
 * Collects the evidence of one text. `toolNames` are looked for only in tool output.
 */
export function gatherEvidence(input: NormalizedText, direction: Direction, scanner: SignalScanner, toolNames: readonly string[]): InjectionEvidence {
  const hits: EvidenceHit[] = [];
  const textHits: SignalHit[] = scanner.scan(input.text);
  for (const h of textHits) hits.push({ family: h.family, start: input.toOriginal(h.start), end: input.toOriginal(h.end), strength: h.strength });

  // Hidden regions: weak signals in themselves, strong when signals sit inside them.
  const hiddenSum = new Map<string, number>();
  for (const span of input.hidden) {
    const group = HIDDEN_GROUP[span.kind] ?? 'markup';
    const budget = HIDDEN_BUDGET[group]!;
    if ((span.kind === 'html_comment' || span.kind === 'hidden_element') && countLetters(input.original, span.start, span.end) < MIN_HIDDEN_LETTERS) continue;
    if (span.kind === 'zero_width' && (!splitsWord(input.original, span.start, span.end) || isSoftHyphens(input.original, span.start, span.end))) continue;
    const used = hiddenSum.get(group) ?? 0;
    const add = Math.max(0, Math.min(budget.each, budget.max - used));
    hiddenSum.set(group, used + add);
    hits.push({ family: 'hidden_text', start: span.start, end: span.end, strength: add });
  }
  if (input.hidden.length > 0) {
    const visible = hits.filter((h) => h.family !== 'hidden_text');
    for (const h of visible) {
      if (inside(h, input.hidden)) hits.push({ family: 'hidden_text', start: h.start, end: h.end, strength: SIGNAL_IN_HIDDEN });
    }
  }

  // Decoded payloads: their signals count, reported on the encoded span, and also as `encoded_payload`.
  const decoded = input.decoded.slice(0, MAX_DECODED_SCANNED);
  for (const seg of decoded) {
    let sum = 0;
    for (const h of scanner.scan(seg.text)) {
      hits.push({ family: h.family, start: seg.start, end: seg.end, strength: h.strength });
      sum += h.strength;
    }
    if (sum > 0) hits.push({ family: 'encoded_payload', start: seg.start, end: seg.end, strength: 1 + Math.min(sum, 2) });
  }

  // Payloads the normalizer leaves alone: binary octets, Morse code, and ROT13 or Caesar text named as such.
  for (const seg of findCipherPayloads(input.text, textHits.some((h) => h.family === 'encoding_trick'))) {
    let sum = 0;
    const start = input.toOriginal(seg.start);
    const end = input.toOriginal(seg.end);
    for (const h of scanner.scan(seg.text)) {
      hits.push({ family: h.family, start, end, strength: h.strength });
      sum += h.strength;
    }
    if (sum > 0) hits.push({ family: 'encoded_payload', start, end, strength: 1 + Math.min(sum, 2) });
  }

  if (direction === 'output' && toolNames.length > 0) {
    for (const h of findToolNames(input.text, toolNames)) hits.push({ ...h, start: input.toOriginal(h.start), end: input.toOriginal(h.end) });
  }

  dampTechnical(hits, input.text);
  const strength = strengthOf(hits);
  const isOutput = direction === 'output' ? 1 : 0;
  // Content pasted into a request: its signals weigh as tool output's do.
  const docStart = isOutput === 1 ? -1 : embeddedDocumentStart(input.text);
  const asOutput = isOutput === 1 ? strength : docStart < 0 ? new Map<SignalFamily, number>() : strengthOf(documentHits(input, docStart, scanner, hits));
  const features: number[] = [];
  for (const f of SIGNAL_FAMILIES) features.push(strength.get(f) ?? 0);
  for (const f of SIGNAL_FAMILIES) features.push(asOutput.get(f) ?? 0);
  features.push(Math.min(3, Math.log10(1 + input.text.length / 100)));
  features.push(isOutput);
  return { hits, strength, features };
}
