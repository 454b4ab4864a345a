import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileGlob, type GlobStar, isGlob } from './glob';

/** The reference: the anchored, backtracking RegExp the globs used to be (fine on short strings). */
function reference(pattern: string, text: string, star: GlobStar): boolean {
  const any = star === 'anything' ? '[\\s\\S]*' : '.*';
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
    .join(any);
  return new RegExp(`^${body}$`).test(text);
}

describe('glob', () => {
  it.each([
    ['finance.*', 'finance.payment.execute', true],
    ['finance.*', 'finance.', true],
    ['finance.*', 'finance', false],
    ['*.execute', 'finance.payment.execute', true],
    ['*', '', true],
    ['**', 'anything', true],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'acb', false],
    ['ab*ba', 'aba', false],
    ['ab*ba', 'abba', true],
    ['a*a*a', 'aa', false],
    ['a*a*a', 'aaa', true],
    ['*a*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(200), false],
    ['exact', 'exact', true],
    ['exact', 'exactly', false],
    ['f.o', 'fxo', false],
    ['(a|b)+$', '(a|b)+$', true],
    ['[ab]?', 'a', false],
  ])('%s on %s is %s', (pattern, text, expected) => {
    expect(compileGlob(pattern).test(text)).toBe(expected);
    expect(compileGlob(pattern, { star: 'within-line' }).test(text)).toBe(expected);
  });

  it('lets * cross line breaks only when asked to (policy values do, reviewer topic globs do not)', () => {
    for (const text of ['a\nb', 'a\rb', 'a\u2028b', 'a\u2029b']) {
      expect(compileGlob('a*b').test(text)).toBe(true);
      expect(compileGlob('a*b', { star: 'within-line' }).test(text)).toBe(false);
    }
    // A line break matched by a literal segment is fine in both modes.
    expect(compileGlob('a*\n*b', { star: 'within-line' }).test('ax\nyb')).toBe(true);
    expect(compileGlob('a*\n*b', { star: 'within-line' }).test('ax\n\nb')).toBe(false);
  });

  it('tells globs from literals', () => {
    expect(isGlob('a*')).toBe(true);
    expect(isGlob('a.b')).toBe(false);
  });

  it('agrees with the RegExp it replaces on every glob and text (property)', () => {
    const alphabet = fc.constantFrom('a', 'b', '.', '\n', '\u2028', '(', '\\');
    const globs = fc.array(fc.oneof(alphabet, fc.constant('*')), { maxLength: 10 }).map((chars) => chars.join(''));
    const texts = fc.array(alphabet, { maxLength: 14 }).map((chars) => chars.join(''));
    fc.assert(
      fc.property(globs, texts, fc.constantFrom<GlobStar>('anything', 'within-line'), (pattern, text, star) => {
        expect(compileGlob(pattern, { star }).test(text)).toBe(reference(pattern, text, star));
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees with the reference on texts built to match (property)', () => {
    // Random texts rarely match a glob with several segments; build some that do, then perturb them.
    const word = fc.array(fc.constantFrom('a', 'b', '\n'), { maxLength: 4 }).map((chars) => chars.join(''));
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 6 }), fc.array(word, { maxLength: 7 }), fc.nat(), fc.constantFrom<GlobStar>('anything', 'within-line'), (segments, fillers, drop, star) => {
        const pattern = segments.join('*');
        const text = segments.map((segment, i) => (i === 0 ? '' : (fillers[i] ?? '')) + segment).join('');
        const perturbed = text.length > 0 ? text.slice(0, drop % text.length) + text.slice((drop % text.length) + 1) : text;
        for (const candidate of [text, perturbed]) expect(compileGlob(pattern, { star }).test(candidate)).toBe(reference(pattern, candidate, star));
      }),
      { numRuns: 5000 },
    );
  });

  it('matches the worst glob a reviewer can send against the longest topic in microseconds', () => {
    // 12 stars took the RegExp version more than 10 s on a 40-character topic; here: linear.
    const glob = compileGlob('*a'.repeat(12) + 'b', { star: 'within-line' });
    const topic = 'a'.repeat(200);
    const started = performance.now();
    for (let i = 0; i < 10_000; i++) glob.test(topic);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('stays linear on texts of a megabyte with segments that almost match everywhere', () => {
    const text = 'a'.repeat(1 << 20);
    const started = performance.now();
    expect(compileGlob(`*${'a'.repeat(999)}b*`).test(text)).toBe(false);
    expect(compileGlob('*a'.repeat(500) + 'b').test(text)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
