/**
 * What a `*` of a glob may match:
 * - `anything`: any run of characters, line breaks included (policy `when` values);
 * - `within-line`: any run of characters without a line terminator (`\n`, `\r`, U+2028, U+2029),
 *   as the old `.*` RegExp of the reviewer topic globs did (job topics never hold one).
 */
export type GlobStar = 'anything' | 'within-line';

/** Options of `compileGlob`. */
export interface GlobOptions {
  /** What `*` may match; `anything` by default. */
  readonly star?: GlobStar;
}

/** Whether a string is a glob (contains `*`); a string without `*` matches only itself. */
export function isGlob(pattern: string): boolean {
  return pattern.includes('*');
}

/**
 * A compiled glob: `*` matches any run of characters (see `GlobStar`), every other character is
 * literal (no `?`, no classes, no escapes), and the whole text must match (anchored at both ends).
 *
 * Matching takes time linear in the text and never backtracks: the glob is split on `*`, the
 * first and the last segment are anchored at the two ends, and the middle segments are found left
 * to right with `indexOf`, each at its leftmost place after the previous one. Leftmost is always
 * right: any later place leaves less text for the segments after it, and in `within-line` mode a
 * gap that holds a line break at the leftmost place holds it at every later place too.
 */
export class Glob {
  /** The literal segments between stars (one segment: no star, the text must equal it). */
  private readonly segments: readonly string[];
  /** The sum of the segments' lengths: no shorter text can match. */
  private readonly minLength: number;
  private readonly withinLine: boolean;

  constructor(
    readonly pattern: string,
    options: GlobOptions = {},
  ) {
    // Adjacent stars match what one star matches: `a**b` is `a*b`.
    this.segments = pattern.split('*');
    this.minLength = pattern.length - (this.segments.length - 1);
    this.withinLine = options.star === 'within-line';
  }

  /** Whether the whole of `text` matches the glob. */
  test(text: string): boolean {
    const segments = this.segments;
    const count = segments.length;
    if (count === 1) return text === segments[0];
    if (text.length < this.minLength) return false;
    const first = segments[0];
    const last = segments[count - 1];
    if (!text.startsWith(first) || !text.endsWith(last)) return false;
    // The last segment sits at `end`; `minLength` makes sure it does not overlap the first.
    const end = text.length - last.length;
    let at = first.length;
    for (let i = 1; i < count - 1; i++) {
      const segment = segments[i];
      if (segment === '') continue;
      const found = text.indexOf(segment, at);
      if (found < 0 || found + segment.length > end) return false;
      if (this.withinLine && hasLineTerminator(text, at, found)) return false;
      at = found + segment.length;
    }
    return !(this.withinLine && hasLineTerminator(text, at, end));
  }
}

/** Compiles a glob once for many `test` calls. */
export function compileGlob(pattern: string, options?: GlobOptions): Glob {
  return new Glob(pattern, options);
}

/** Whether `text[from, to)` holds a line terminator (what `.` of a RegExp without `s` does not match). */
function hasLineTerminator(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029) return true;
  }
  return false;
}
