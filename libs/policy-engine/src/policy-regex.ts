import { RE2JS, RE2JSException, RE2JSSyntaxException } from 're2js';

/** A `matches` pattern longer than this is refused (they are written by hand, and run per job). */
export const MAX_REGEX_LENGTH = 1024;
/**
 * A `matches` pattern whose RE2 program is larger than this is refused: the program size is what
 * one character of input costs at worst (`^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$` is 57, `(a|b){300}` 902, `(a|b){1000}` 3,002).
 */
export const MAX_REGEX_PROGRAM_SIZE = 1000;
/**
 * The most work one `matches` test or one glob test may do, in units of (value length) x (RE2
 * program size) for a regex and (value length) for a glob: a value too long for it fails the
 * evaluation closed instead of being matched. 262,144 units took at most ~100 ms with the worst
 * patterns found (see the README); every accepted pattern may read at least 262 characters,
 * so label values (256) and the job's fields (200) always fit.
 */
export const MAX_MATCH_WORK = 262_144;

/**
 * A `matches` pattern compiled for RE2 (linear-time matching: no backtracking, so no pattern and
 * no value can make a test take more than (value length) x `programSize` steps).
 */
export interface PolicyRegex {
  readonly pattern: string;
  readonly programSize: number;
  /** The longest value this pattern is run on (`MAX_MATCH_WORK` / `programSize`). */
  readonly maxInputLength: number;
  /** Whether the pattern matches somewhere in `value` (unanchored, like `RegExp.prototype.test`). */
  test(value: string): boolean;
}

/**
 * Compiles a `matches` pattern, or says why it is refused: longer than `MAX_REGEX_LENGTH`, not
 * RE2 syntax (backreferences and lookaround have no linear-time algorithm, so RE2 has neither),
 * or a program larger than `MAX_REGEX_PROGRAM_SIZE`.
 */
export function compilePolicyRegex(pattern: string): PolicyRegex | { readonly error: string } {
  if (pattern.length > MAX_REGEX_LENGTH) return { error: `regular expression longer than ${MAX_REGEX_LENGTH} characters` };
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(pattern);
  } catch (error) {
    return { error: describeSyntaxError(pattern, error) };
  }
  const programSize = compiled.programSize();
  if (programSize > MAX_REGEX_PROGRAM_SIZE) {
    return { error: `regular expression too complex: its RE2 program has ${programSize} instructions, at most ${MAX_REGEX_PROGRAM_SIZE} are allowed (a bounded repeat {n} counts n times)` };
  }
  return {
    pattern,
    programSize,
    maxInputLength: Math.floor(MAX_MATCH_WORK / Math.max(1, programSize)),
    test: (value) => compiled.test(value),
  };
}

function describeSyntaxError(pattern: string, error: unknown): string {
  if (!(error instanceof RE2JSSyntaxException)) {
    return `invalid regular expression: ${error instanceof RE2JSException ? error.message : String(error)}`;
  }
  const fragment = error.input ?? '';
  const offset = fragment === '' ? -1 : pattern.indexOf(fragment);
  const where = offset >= 0 ? ` at character ${offset + 1}` : '';
  let hint = '';
  if (/^\(\?<?[=!]/.test(fragment)) hint = '; lookahead and lookbehind are not supported';
  else if (/^\\([1-9]|k)/.test(fragment)) hint = '; backreferences are not supported';
  else if (fragment === '\\u') hint = '; write a code point as \\x{2028}';
  return `invalid regular expression: ${error.error}: \`${fragment}\`${where}${hint} (matches uses RE2 syntax, which runs in linear time)`;
}
