/**
 * Finds the parts of an HTML-ish text that a browser would not show: `<!-- comments -->` and elements
 * hidden by markup (`hidden`, `aria-hidden="true"`, or an inline style that hides them: `display:none`,
 * `visibility:hidden`, `font-size:0`, `opacity:0`, `color:transparent`, zero size with overflow hidden,
 * far off-screen positions; see HIDDEN_STYLE). Stylesheets and classes are not evaluated. Their content stays in the screened text (the
 * detectors must see it); this module only reports where it is, as {@link HiddenSpan}s.
 *
 * One forward pass, no backtracking regex: every character is looked at a bounded number of times,
 * whatever the input (a megabyte of `<!--`, `<a<a<a`, unclosed quotes...). An unterminated comment runs
 * to the end of the text, as in a browser; so does a hidden element whose end tag is missing.
 */
import type { HiddenSpan } from './types.js';

/** Tags longer than this are not inspected for attributes (bounded work per tag). */
const MAX_TAG_LENGTH = 4096;
/** Elements without content: a hidden one covers only its tag. */
const VOID_ELEMENTS = new Set([
  'area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'param', 'source', 'track', 'wbr',
]);

/**
 * Style declarations that hide text: display:none, visibility:hidden|collapse, font-size:0, opacity:0,
 * color:transparent, a zero height or width with overflow hidden (checked separately), and positions
 * or indents far off screen (-1000px or more).
 */
const HIDDEN_STYLE =
  /display\s*:\s*none|visibility\s*:\s*(?:hidden|collapse)|font-size\s*:\s*0(?![.\d]*[1-9])|opacity\s*:\s*0(?![.\d]*[1-9])|(?:^|[;\s])color\s*:\s*transparent|(?:left|top|right|text-indent|margin-left|margin-top)\s*:\s*-\d{4,}/i;
const ZERO_SIZE = /(?:^|[;\s])(?:max-)?(?:height|width)\s*:\s*0(?![.\d]*[1-9])/i;
const OVERFLOW_HIDDEN = /overflow\s*:\s*hidden/i;
/** A `hidden` attribute, whatever its value (as in browsers; not `type="hidden"`, which is another attribute's value). */
const BARE_HIDDEN = /(?:^|\s)hidden(?=[\s/=]|$)/i;
const ARIA_HIDDEN = /(?:^|\s)aria-hidden\s*=\s*["']?true/i;
const STYLE_ATTRIBUTE = /(?:^|\s)style\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))/i;

function isNameStart(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}
function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x3a || c === 0x5f;
}

/** Whether the attribute text of a start tag (everything after the name) hides the element. */
function tagHides(attributes: string): boolean {
  if (BARE_HIDDEN.test(attributes) || ARIA_HIDDEN.test(attributes)) return true;
  const style = STYLE_ATTRIBUTE.exec(attributes);
  const value = style?.[1] ?? style?.[2] ?? style?.[3];
  if (value === undefined) return false;
  return HIDDEN_STYLE.test(value) || (ZERO_SIZE.test(value) && OVERFLOW_HIDDEN.test(value));
}

/**
 * The end of the element whose start tag ends at `from` (exclusive index after `>`): the index after
 * its matching end tag, counting nested elements of the same name; the text length if it never closes.
 */
function elementEnd(text: string, name: string, from: number): number {
  const lower = name.toLowerCase();
  let depth = 1;
  let i = text.indexOf('<', from);
  while (i !== -1) {
    const closing = text.charCodeAt(i + 1) === 0x2f;
    const nameStart = closing ? i + 2 : i + 1;
    let j = nameStart;
    while (j < text.length && isNameChar(text.charCodeAt(j))) j++;
    if (j > nameStart && text.slice(nameStart, j).toLowerCase() === lower) {
      const gt = text.indexOf('>', j);
      if (gt === -1) return text.length;
      const selfClosing = text.charCodeAt(gt - 1) === 0x2f;
      if (closing) depth -= 1;
      else if (!selfClosing) depth += 1;
      if (depth === 0) return gt + 1;
      i = text.indexOf('<', gt + 1);
    } else {
      i = text.indexOf('<', Math.max(j, i + 1));
    }
  }
  return text.length;
}

/**
 * Hidden regions of `text` (comments and hidden elements), in order, not overlapping. Past `maxSpans`
 * regions, further ones extend the last region (bounded output on adversarial input).
 */
export function findHiddenHtml(text: string, maxSpans = 1000): HiddenSpan[] {
  const spans: HiddenSpan[] = [];
  const add = (kind: HiddenSpan['kind'], start: number, end: number): void => {
    const last = spans[spans.length - 1];
    if (last !== undefined && spans.length >= maxSpans) last.end = end;
    else spans.push({ kind, start, end });
  };
  const n = text.length;
  let i = text.indexOf('<');
  // Cached positions of the next '>' and next '<' (each only ever moves forward: linear overall).
  let nextGt = -2;
  while (i !== -1 && i < n) {
    if (text.startsWith('<!--', i)) {
      const close = text.indexOf('-->', i + 4);
      const end = close === -1 ? n : close + 3;
      add('html_comment', i, end);
      if (close === -1) break;
      i = text.indexOf('<', end);
      continue;
    }
    if (!isNameStart(text.charCodeAt(i + 1))) {
      i = text.indexOf('<', i + 1);
      continue;
    }
    let j = i + 2;
    while (j < n && isNameChar(text.charCodeAt(j))) j++;
    const name = text.slice(i + 1, j);
    if (nextGt < j) {
      nextGt = text.indexOf('>', j);
      if (nextGt === -1) break; // no tag can close any more
    }
    const nextLt = text.indexOf('<', j);
    if ((nextLt !== -1 && nextLt < nextGt) || nextGt - i > MAX_TAG_LENGTH) {
      // Not a well-formed tag (or too long to inspect): move on.
      i = nextLt;
      continue;
    }
    const attributes = text.slice(j, nextGt);
    if (!tagHides(attributes)) {
      i = nextLt;
      continue;
    }
    const selfClosing = text.charCodeAt(nextGt - 1) === 0x2f;
    const end = selfClosing || VOID_ELEMENTS.has(name.toLowerCase()) ? nextGt + 1 : elementEnd(text, name, nextGt + 1);
    add('hidden_element', i, end);
    i = end >= n ? -1 : text.indexOf('<', end);
  }
  return spans;
}
