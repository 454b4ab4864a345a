import { describe, expect, it } from 'vitest';
import { MAX_RECORDED_RESULT_BYTES, recordableResult } from './recorded-result';

describe('what a job records of an upstream result', () => {
  it('records an ordinary result as it is', () => {
    const r = { content: [{ type: 'text', text: 'ok' }], structuredContent: { a: 1 } };
    expect(recordableResult(r)).toBe(r);
  });

  it.each([
    ['too large', { content: [{ type: 'text', text: 'x'.repeat(MAX_RECORDED_RESULT_BYTES) }] }, 'bytes of JSON'],
    ['NUL', { content: [{ type: 'text', text: 'a\u0000b' }] }, 'NUL'],
    ['lone surrogate', { structuredContent: { k: '\udc00' } }, 'surrogates'],
    ['deep', JSON.parse('{"a":' + '['.repeat(10_000) + ']'.repeat(10_000) + '}'), 'deeper'],
  ])('stands in for a result that cannot travel or be stored (%s)', (_what, result, reason) => {
    const recorded = recordableResult(result) as { content: { text: string }[]; _meta: Record<string, { reason: string }> };
    expect(recorded.content[0].text).toContain('The tool ran');
    expect(recorded._meta['signoff/result_not_recorded'].reason).toContain(reason);
  });
});
