/**
 * Homoglyph folding: a small, documented table of Cyrillic, Greek and other letters that look like
 * Latin letters (after NFKC, which already folds fullwidth and mathematical alphanumerics), and the
 * word rule that decides when to apply it.
 *
 * The table holds only letters that are visually indistinguishable (or nearly so) from a Latin
 * letter in common fonts, one UTF-16 unit each mapping to one ASCII letter, so folding never moves an
 * offset. It is deliberately small (Unicode's confusables.txt has thousands of entries; most are
 * symbols or rare scripts that matter little for detecting English-language instructions).
 *
 * Word rule: a word (a maximal run of letters) is folded only if it contains a confusable AND either
 * an ASCII letter ("іgnore" with Cyrillic і: a mixed-script word) or nothing but confusables and
 * ASCII ("ѕсоре" entirely in Cyrillic look-alikes). Genuine Russian or Greek words contain letters
 * with no Latin look-alike (п, и, λ, ...) and are left alone, so normal non-Latin text is not mangled.
 */

/** Look-alike -> ASCII. Keys are single BMP code units. */
const CONFUSABLES: Readonly<Record<string, string>> = {
  // Cyrillic lower case
  а: 'a', // U+0430
  с: 'c', // U+0441
  ԁ: 'd', // U+0501
  е: 'e', // U+0435
  һ: 'h', // U+04BB
  і: 'i', // U+0456
  ј: 'j', // U+0458
  ӏ: 'l', // U+04CF
  о: 'o', // U+043E
  р: 'p', // U+0440
  ԛ: 'q', // U+051B
  ѕ: 's', // U+0455
  ԝ: 'w', // U+051D
  х: 'x', // U+0445
  у: 'y', // U+0443
  ѵ: 'v', // U+0475
  // Cyrillic upper case
  А: 'A', // U+0410
  В: 'B', // U+0412
  С: 'C', // U+0421
  Е: 'E', // U+0415
  Н: 'H', // U+041D
  І: 'I', // U+0406
  Ј: 'J', // U+0408
  К: 'K', // U+041A
  М: 'M', // U+041C
  О: 'O', // U+041E
  Р: 'P', // U+0420
  Ԛ: 'Q', // U+051A
  Ѕ: 'S', // U+0405
  Т: 'T', // U+0422
  Ԝ: 'W', // U+051C
  Х: 'X', // U+0425
  У: 'Y', // U+0423
  // Greek lower case
  α: 'a', // U+03B1
  ι: 'i', // U+03B9
  κ: 'k', // U+03BA
  ν: 'v', // U+03BD
  ο: 'o', // U+03BF
  ρ: 'p', // U+03C1
  τ: 't', // U+03C4
  υ: 'u', // U+03C5
  χ: 'x', // U+03C7
  // Greek upper case
  Α: 'A', // U+0391
  Β: 'B', // U+0392
  Ε: 'E', // U+0395
  Ζ: 'Z', // U+0396
  Η: 'H', // U+0397
  Ι: 'I', // U+0399
  Κ: 'K', // U+039A
  Μ: 'M', // U+039C
  Ν: 'N', // U+039D
  Ο: 'O', // U+039F
  Ρ: 'P', // U+03A1
  Τ: 'T', // U+03A4
  Υ: 'Y', // U+03A5
  Χ: 'X', // U+03A7
  // Latin letters outside ASCII that read as ASCII ones
  ı: 'i', // U+0131 dotless i
  ȷ: 'j', // U+0237 dotless j
  ɑ: 'a', // U+0251 Latin alpha
  ɡ: 'g', // U+0261 script g
  ʏ: 'y', // U+028F small capital Y
  // Armenian
  օ: 'o', // U+0585
  ս: 'u', // U+057D
};

const table = new Map<number, number>();
for (const [from, to] of Object.entries(CONFUSABLES)) table.set(from.charCodeAt(0), to.charCodeAt(0));

/** The ASCII code a confusable code unit folds to, or undefined. */
export function confusableTarget(code: number): number | undefined {
  return table.get(code);
}

const LETTER = /\p{L}|\p{M}/u;
/** Lazily filled: 0 = not known yet, 1 = letter or mark, 2 = neither (BMP only). */
const letterCache = new Uint8Array(0x10000);

function isLetterUnit(c: number): boolean {
  let v = letterCache[c] ?? 0;
  if (v === 0) {
    v = LETTER.test(String.fromCharCode(c)) ? 1 : 2;
    letterCache[c] = v;
  }
  return v === 1;
}

function isAsciiLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** Letters (and marks) form words; astral characters (emoji, mathematical letters already folded by NFKC) end them. */
function isWordUnit(c: number): boolean {
  if (c < 0x80) return isAsciiLetter(c);
  if (c >= 0xd800 && c <= 0xdfff) return false;
  return isLetterUnit(c);
}

/** Whether the word [start, end) of `text` is folded by the word rule. */
function shouldFold(text: string, start: number, end: number): boolean {
  let hasConfusable = false;
  let hasAscii = false;
  let hasOther = false;
  for (let k = start; k < end; k++) {
    const d = text.charCodeAt(k);
    if (d < 0x80) hasAscii = true;
    else if (table.has(d)) hasConfusable = true;
    else hasOther = true;
  }
  return hasConfusable && (hasAscii || !hasOther);
}

function foldWord(text: string, start: number, end: number): string {
  let word = '';
  for (let k = start; k < end; k++) {
    const d = text.charCodeAt(k);
    word += String.fromCharCode((d >= 0x80 ? table.get(d) : undefined) ?? d);
  }
  return word;
}

/**
 * Folds homoglyphs in `text` by the word rule above. One code unit in, one out: offsets are unchanged.
 * `at`, when given, lists (ascending) offsets of the confusables in `text`, so only their words are
 * looked at; otherwise the whole text is scanned. Returns `text` itself when nothing is folded.
 */
export function foldHomoglyphs(text: string, at?: readonly number[]): string {
  const n = text.length;
  const positions: number[] = [];
  if (at === undefined) {
    for (let k = 0; k < n; k++) {
      const c = text.charCodeAt(k);
      if (c >= 0x80 && table.has(c)) positions.push(k);
    }
  }
  const out: string[] = [];
  let last = 0;
  let done = 0;
  for (const p of at ?? positions) {
    if (p < done || p >= n) continue;
    let start = p;
    while (start > done && isWordUnit(text.charCodeAt(start - 1))) start -= 1;
    let end = p + 1;
    while (end < n && isWordUnit(text.charCodeAt(end))) end += 1;
    done = end;
    if (!shouldFold(text, start, end)) continue;
    out.push(text.slice(last, start), foldWord(text, start, end));
    last = end;
  }
  if (out.length === 0) return text;
  out.push(text.slice(last));
  return out.join('');
}
