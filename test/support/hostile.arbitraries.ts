import fc from 'fast-check';
import { ERROR_CODES } from '@signoff/contracts';

/**
 * fast-check arbitraries for what a hostile or careless client sends, shared by the fuzz tests of
 * the submit API, the Kafka ingress and the reviewer API (HTTP and gRPC).
 */

/** Text of a database driver or parser that must never reach an answer or a DLQ header. */
export const SQL_TEXT = /SQLSTATE|syntax error|invalid byte sequence|unsupported Unicode escape|invalid input syntax/i;

/** Every error code a client may see. */
export const KNOWN_CODES: ReadonlySet<string> = new Set(Object.keys(ERROR_CODES));

/** Characters no store can hold (NUL, lone surrogates) or no identity may hold (controls, bidi). */
export const hostileCharacter = fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff', '\n', '\u000f', '\u007f', '\u0085', '\u202e', '\u2066', '\u2028');

/** Strings with NUL bytes, lone surrogates, control and bidi characters, and ordinary ones. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  hostileCharacter,
  fc.tuple(fc.string(), hostileCharacter, fc.string()).map(([a, b, c]) => a + b + c),
);

/**
 * Raw JSON number texts `JSON.stringify` cannot produce: beyond double range (JSON.parse makes
 * them Infinity), below it, and very long digit strings (finite or not).
 */
export const hugeNumberText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('1e400', '-1e999', '1E+309', '-0', '1e-400', '4.9e-325', '179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792'),
  fc.integer({ min: 300, max: 2000 }).map((n) => '9'.repeat(n)),
  fc.integer({ min: 1, max: 2000 }).map((n) => '0.' + '3'.repeat(n)),
  fc.integer({ min: 1, max: 400 }).map((n) => `-${'1'.repeat(n)}e${n}`),
);

const asJson = (s: string) => JSON.stringify(s);

/** JSON text of any value whose strings, keys and numbers are hostile (depth-bounded). */
export const hostileJsonText: fc.Arbitrary<string> = fc.letrec<{ node: string; leaf: string }>((tie) => ({
  leaf: fc.oneof(hostileString.map(asJson), hugeNumberText, fc.integer().map(String), fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)), fc.constantFrom('true', 'false', 'null')),
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
    fc.array(fc.tuple(hostileString, tie('node')), { maxLength: 4 }).map((members) => `{${members.map(([k, v]) => `${asJson(k)}:${v}`).join(',')}}`),
  ),
})).node;

const fullWidth = (c: string) => (c >= '!' && c <= '~' ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c);
/** Other compatibility forms NFKC maps to a letter of the reserved prefixes (long s; Kelvin sign is K). */
const COMPAT: Readonly<Record<string, string>> = { s: '\u017f', a: '\u00aa', o: '\u00ba', i: '\u2170', _: '\ufe4d', '.': '\ufe52' };

/**
 * Reserved label names (`approval_*`, `signoff.*`) in every case and compatibility form: mixed
 * case, full-width letters and punctuation, other NFKC variants, zero-width characters.
 */
export const reservedLabelName: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom('approval_', 'signoff.'),
    fc.stringMatching(/^[a-z0-9_]{0,12}$/),
    fc.array(fc.constantFrom('lower', 'upper', 'wide', 'wideUpper', 'compat'), { minLength: 9, maxLength: 9 }),
    fc.constantFrom('', '\u200b', '\u00ad', '\u2060'),
  )
  .map(([prefix, rest, forms, ignorable]) => {
    const varied = [...prefix].map((c, i) => {
      switch (forms[i]) {
        case 'upper':
          return c.toUpperCase();
        case 'wide':
          return fullWidth(c);
        case 'wideUpper':
          return fullWidth(c.toUpperCase());
        case 'compat':
          return COMPAT[c] ?? c;
        default:
          return c;
      }
    });
    if (ignorable) varied.splice(3, 0, ignorable);
    return varied.join('') + rest;
  });

/** Builds JSON object text from members whose values are already JSON text (so they may be `1e400`). */
export function objectText(members: Record<string, string | undefined>): string {
  return `{${Object.entries(members)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
    .join(',')}}`;
}
