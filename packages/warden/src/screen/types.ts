/**
 * The nouns of content screening shared by its detectors and the screener that combines them.
 * Offsets are UTF-16 code units into the ORIGINAL text (what `String.prototype.slice` uses), end exclusive.
 */

export type ScreenCategory = 'prompt_injection' | 'secret' | 'pii';
/** `input`: text going to a tool (arguments, a user's request); `output`: text coming back from a tool. */
export type Direction = 'input' | 'output';

export interface ScreenFinding {
  category: ScreenCategory;
  /** e.g. `email`, `aws_access_key_id`, `ignore_instructions`. */
  type: string;
  /** UTF-16 offsets into the original text, `0 <= start <= end <= text.length`. */
  start: number;
  end: number;
  /** Confidence in [0, 1]. */
  score: number;
}

/** A region of the original text that normalization removed or hid (zero-width, bidi, tag characters, HTML comments, hidden elements). */
export interface HiddenSpan {
  kind: 'zero_width' | 'bidi' | 'tag_characters' | 'html_comment' | 'hidden_element';
  start: number;
  end: number;
}

/** A payload found encoded in the text and decoded (base64, hex, URL encoding), with where it sat in the original. */
export interface DecodedSegment {
  encoding: 'base64' | 'hex' | 'url';
  /** Depth 1 = decoded from the original text; 2 = decoded from a depth-1 payload; ... (bounded). */
  depth: number;
  /** The decoded text (already normalized). */
  text: string;
  /** The span of the ORIGINAL text that encodes it (findings inside a decoded segment are reported on this span). */
  start: number;
  end: number;
}

export interface NormalizedText {
  readonly original: string;
  /** NFKC, hidden characters removed, homoglyphs folded; HTML comments / hidden elements kept as text (their content is reported in `hidden`). */
  readonly text: string;
  /** Maps an offset in `text` to the corresponding offset in `original` (monotonic; `toOriginal(text.length) === original.length`). */
  toOriginal(offset: number): number;
  readonly hidden: readonly HiddenSpan[];
  readonly decoded: readonly DecodedSegment[];
}
