import { describe, expect, it } from 'vitest';
import { SignoffError } from '@signoff/contracts';
import { compareCursor, decodeCursor, encodeCursor } from './approval-cursor';

describe('approval list cursors', () => {
  it('round-trip through an opaque URL-safe string', () => {
    const cursor = { requestedAt: '2026-01-01T00:00:00.000Z', jobId: 'job/with:odd@chars', tenant: 'acme' };
    const text = encodeCursor(cursor);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(text)).toEqual(cursor);
  });

  it('still read a cursor handed out before cursors named the tenant, placing it after every tenant of its job id', () => {
    const old = Buffer.from(JSON.stringify(['2026-01-01T00:00:00.000Z', 'j1']), 'utf8').toString('base64url');
    const decoded = decodeCursor(old);
    expect(decoded).toMatchObject({ requestedAt: '2026-01-01T00:00:00.000Z', jobId: 'j1' });
    expect(compareCursor(decoded, { requestedAt: '2026-01-01T00:00:00.000Z', jobId: 'j1', tenant: 'zzz' })).toBeGreaterThan(0);
    expect(compareCursor(decoded, { requestedAt: '2026-01-01T00:00:00.000Z', jobId: 'j2', tenant: 'a' })).toBeLessThan(0);
  });

  it('refuse anything the API did not hand out with 400 invalid_request', () => {
    for (const bad of ['', 'not-a-cursor', Buffer.from('{"a":1}').toString('base64url'), Buffer.from('[1,2]').toString('base64url'), Buffer.from('["a","b","c","d"]').toString('base64url')]) {
      expect(() => decodeCursor(bad)).toThrow(SignoffError);
      try {
        decodeCursor(bad);
      } catch (error) {
        expect((error as SignoffError).code).toBe('invalid_request');
      }
    }
  });

  it('order by requested_at, then job id, then tenant (the same job id may be open in two tenants)', () => {
    const a = { requestedAt: '2026-01-01T00:00:00.000Z', jobId: 'b', tenant: 'acme' };
    expect(compareCursor(a, { ...a, jobId: 'c' })).toBeLessThan(0);
    expect(compareCursor(a, { requestedAt: '2025-12-31T23:59:59.999Z', jobId: 'z', tenant: 'a' })).toBeGreaterThan(0);
    expect(compareCursor(a, { ...a, tenant: 'globex' })).toBeLessThan(0);
    expect(compareCursor(a, { ...a })).toBe(0);
  });
});
