import { describe, expect, it } from 'vitest';
import { SignoffError } from '@signoff/contracts';
import { compareCursor, decodeCursor, encodeCursor } from './approval-cursor';

describe('approval list cursors', () => {
  it('round-trip through an opaque URL-safe string', () => {
    const cursor = { requestedAt: '2026-01-01T00:00:00.000Z', jobId: 'job/with:odd@chars' };
    const text = encodeCursor(cursor);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(text)).toEqual(cursor);
  });

  it('refuse anything the API did not hand out with 400 invalid_request', () => {
    for (const bad of ['', 'not-a-cursor', Buffer.from('{"a":1}').toString('base64url'), Buffer.from('[1,2]').toString('base64url')]) {
      expect(() => decodeCursor(bad)).toThrow(SignoffError);
      try {
        decodeCursor(bad);
      } catch (error) {
        expect((error as SignoffError).code).toBe('invalid_request');
      }
    }
  });

  it('order by requested_at, then job id', () => {
    const a = { requestedAt: '2026-01-01T00:00:00.000Z', jobId: 'b' };
    expect(compareCursor(a, { ...a, jobId: 'c' })).toBeLessThan(0);
    expect(compareCursor(a, { requestedAt: '2025-12-31T23:59:59.999Z', jobId: 'z' })).toBeGreaterThan(0);
    expect(compareCursor(a, { ...a })).toBe(0);
  });
});
