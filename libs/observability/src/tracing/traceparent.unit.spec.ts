import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatTraceparent, MAX_TRACEPARENT_LENGTH, parseTraceparent } from './traceparent';

const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('parseTraceparent', () => {
  it('reads a version-00 traceparent', () => {
    expect(parseTraceparent(VALID)).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: 1 });
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00')?.flags).toBe(0);
  });

  it('reads the first four fields of a later version, with or without more fields', () => {
    expect(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(parseTraceparent('cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-what-the-future-holds')?.flags).toBe(9);
  });

  it.each([
    ['not a string', 42],
    ['null', null],
    ['an array', [VALID]],
    ['empty', ''],
    ['too short', VALID.slice(0, 54)],
    ['version 00 with extra fields', `${VALID}-00`],
    ['version ff (forbidden)', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['uppercase hex', VALID.toUpperCase()],
    ['all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['all-zero parent id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['non-hex trace id', '00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01'],
    ['short parent id', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-001'],
    ['leading whitespace', ` ${VALID}`],
    ['trailing newline', `${VALID}\n`],
    ['header injection', `${VALID}\r\nx-evil: 1`],
    ['a later version whose extra field has a space', 'cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-a b'],
    ['far too long', `cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-${'a'.repeat(MAX_TRACEPARENT_LENGTH)}`],
    ['commas (two headers folded)', `${VALID},${VALID}`],
  ])('ignores %s', (_name, value) => {
    expect(parseTraceparent(value)).toBeNull();
  });

  it('never throws, and whatever it accepts formats back to a valid version-00 value', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.stringMatching(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-.*)?$/), fc.anything()), (value) => {
        const parsed = parseTraceparent(value);
        if (parsed === null) return;
        const formatted = formatTraceparent(parsed);
        expect(formatted).not.toBeNull();
        expect(parseTraceparent(formatted)).toEqual(parsed);
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects a long hostile string in linear time', () => {
    const started = performance.now();
    for (let i = 0; i < 1000; i++) parseTraceparent(`01-${'a'.repeat(32)}-${'b'.repeat(16)}-01-${'-'.repeat(200)}!`);
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('formatTraceparent', () => {
  it('writes version 00 with two-digit flags', () => {
    expect(formatTraceparent({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: 1 })).toBe(VALID);
  });

  it.each([
    { traceId: 'x'.repeat(32), spanId: '00f067aa0ba902b7', flags: 1 },
    { traceId: '0'.repeat(32), spanId: '00f067aa0ba902b7', flags: 1 },
    { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '0'.repeat(16), flags: 1 },
    { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: 256 },
    { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: 1.5 },
  ])('refuses an invalid span context %j', (parent) => {
    expect(formatTraceparent(parent)).toBeNull();
  });
});
