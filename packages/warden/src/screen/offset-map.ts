/**
 * The map from offsets in a normalized text back to offsets in the original, built while the
 * normalizer writes its output. Stored as segments, not one entry per character: a linear segment maps
 * `textStart + k` to `origStart + k` (characters copied as they are), a constant segment maps all its
 * offsets to `origStart` (the several characters one source cluster became, e.g. "ﬁ" -> "fi").
 * Text that is mostly copied needs only a few segments; a lookup is a binary search.
 */

export class OffsetMapBuilder {
  /** Output length so far. */
  length = 0;
  private readonly textStarts: number[] = [];
  private readonly origStarts: number[] = [];
  private readonly linear: boolean[] = [];
  /** The original offset that would continue the last segment linearly (-1: the last one is constant). */
  private next = -1;

  private push(origStart: number, linear: boolean): void {
    this.textStarts.push(this.length);
    this.origStarts.push(origStart);
    this.linear.push(linear);
  }

  /** The output grew by the original characters [from, to), copied. */
  copy(from: number, to: number): void {
    if (to <= from) return;
    if (this.next !== from) this.push(from, true);
    this.length += to - from;
    this.next = to;
  }

  /** The output grew by `count` characters that all come from the original offset `at`. */
  constant(count: number, at: number): void {
    if (count <= 0) return;
    if (count === 1) {
      if (this.next !== at) this.push(at, true);
      this.length += 1;
      this.next = at + 1;
      return;
    }
    this.push(at, false);
    this.length += count;
    this.next = -1;
  }

  /**
   * The finished map: monotonic, 0 -> 0 and `length` -> `originalLength`; offsets outside
   * [0, length] are clamped.
   */
  finish(originalLength: number): (offset: number) => number {
    const length = this.length;
    const count = this.textStarts.length;
    const textStarts = Int32Array.from(this.textStarts);
    const origStarts = Int32Array.from(this.origStarts);
    const linear = Uint8Array.from(this.linear, (b) => (b ? 1 : 0));
    return (offset: number): number => {
      if (!(offset > 0)) return 0;
      if (offset >= length) return originalLength;
      let lo = 0;
      let hi = count - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if ((textStarts[mid] ?? 0) <= offset) lo = mid;
        else hi = mid - 1;
      }
      const base = origStarts[lo] ?? 0;
      const t = Math.floor(offset);
      return linear[lo] === 1 ? base + (t - (textStarts[lo] ?? 0)) : base;
    };
  }
}
