import { describe, expect, it } from 'vitest';
import { parseRedactionList, REDACTED, redactPaths } from './redaction';

describe('redactPaths', () => {
  it('replaces nested fields, wildcards and array items without touching the input', () => {
    const input = { payload: { card_number: '4111', cards: [{ number: '1' }, { number: '2' }], keep: 1 }, labels: { ssn: 'x' } };
    const out = redactPaths(input, ['payload.card_number', 'payload.cards.*.number', 'labels.ssn', 'payload.absent.deep']);
    expect(out).toEqual({ payload: { card_number: REDACTED, cards: [{ number: REDACTED }, { number: REDACTED }], keep: 1 }, labels: { ssn: REDACTED } });
    expect(input.payload.card_number).toBe('4111');
  });

  it('does not follow the prototype and leaves scalars alone', () => {
    expect(redactPaths({ a: 1 }, ['__proto__.polluted'])).toEqual({ a: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(redactPaths('text', ['a'])).toBe('text');
    expect(parseRedactionList(' payload.a , ,labels.b')).toEqual(['payload.a', 'labels.b']);
  });
});
