import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePolicyRegex, MAX_MATCH_WORK, MAX_REGEX_PROGRAM_SIZE, type PolicyRegex } from './policy-regex';

function compiled(pattern: string): PolicyRegex {
  const result = compilePolicyRegex(pattern);
  if ('error' in result) throw new Error(result.error);
  return result;
}

function refusal(pattern: string): string {
  const result = compilePolicyRegex(pattern);
  if (!('error' in result)) throw new Error(`expected ${pattern} to be refused`);
  return result.error;
}

/** Regular expressions of the syntax RE2 and JavaScript share, over the letters a, b, c. */
const sharedRegex: fc.Arbitrary<string> = fc.letrec<{ re: string; atom: string }>((tie) => ({
  atom: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('a', 'b', 'c', '.', '[ab]', '[^a]', '\\w', '(?:)'),
    tie('re').map((re) => `(${re})`),
    tie('re').map((re) => `(?:${re})`),
  ),
  re: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('atom'),
    fc.tuple(tie('atom'), fc.constantFrom('*', '+', '?', '{2}', '{1,3}', '*?', '+?')).map(([atom, q]) => `${atom}${q}`),
    fc.tuple(tie('re'), tie('re')).map(([a, b]) => `${a}${b}`),
    fc.tuple(tie('re'), tie('re')).map(([a, b]) => `${a}|${b}`),
    fc.tuple(fc.constantFrom('^', ''), tie('re'), fc.constantFrom('$', '')).map(([s, re, e]) => `${s}${re}${e}`),
  ),
})).re;

describe('matches patterns on RE2', () => {
  it.each([
    ['(a)\\1', 'backreferences are not supported'],
    ['(?<n>a)\\k<n>', 'backreferences are not supported'],
    ['^(?=prod)', 'lookahead and lookbehind are not supported'],
    ['prod(?!uction)', 'lookahead and lookbehind are not supported'],
    ['(?<=pre)fix', 'lookahead and lookbehind are not supported'],
    ['(?<!pre)fix', 'lookahead and lookbehind are not supported'],
    ['prod(', 'missing closing )'],
    ['\\u2028', 'write a code point as \\x{2028}'],
    ['a{1001}', 'invalid repeat count'],
    ['(a|b){1000}', `at most ${MAX_REGEX_PROGRAM_SIZE} are allowed`],
    ['a'.repeat(1025), 'longer than 1024 characters'],
  ])('refuses %s (%s)', (pattern, reason) => {
    expect(refusal(pattern)).toContain(reason);
  });

  it('says where in the pattern the problem is', () => {
    expect(refusal('ab(?=c)')).toContain('at character 3');
  });

  it('runs the patterns that made the old engine backtrack in linear time', () => {
    // ^(.*a){8}$ on a 57-character value stalled V8's backtracking engine for ~45 s.
    const stall = compiled('^(.*a){8}$');
    const nested = compiled('(a+)+$');
    const started = performance.now();
    expect(stall.test(`${'a'.repeat(56)}b`)).toBe(false);
    expect(stall.test('a'.repeat(57))).toBe(true);
    expect(nested.test(`${'a'.repeat(stall.maxInputLength - 1)}!`)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('lets every accepted pattern read at least 262 characters (label values are at most 256)', () => {
    const largest = compiled('(a|b){300}');
    expect(largest.programSize).toBeLessThanOrEqual(MAX_REGEX_PROGRAM_SIZE);
    expect(largest.maxInputLength).toBe(Math.floor(MAX_MATCH_WORK / largest.programSize));
    expect(Math.floor(MAX_MATCH_WORK / MAX_REGEX_PROGRAM_SIZE)).toBeGreaterThanOrEqual(262);
    expect(compiled('^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$').maxInputLength).toBe(4599);
  });

  it('matches like RegExp on the syntax both share (unanchored, no flags) (property)', () => {
    fc.assert(
      fc.property(sharedRegex, fc.array(fc.constantFrom('a', 'b', 'c', ' '), { maxLength: 12 }), (pattern, chars) => {
        const text = chars.join('');
        const ours = compilePolicyRegex(pattern);
        fc.pre(!('error' in ours));
        expect((ours as PolicyRegex).test(text)).toBe(new RegExp(pattern).test(text));
      }),
      { numRuns: 2000 },
    );
  });
});
