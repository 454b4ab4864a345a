import { describe, expect, it } from 'vitest';
import { webhookBackoffMs } from './webhook-backoff';

describe('webhook back-off schedule', () => {
  const backoff = { baseMs: 1000, maxMs: 300_000 };

  it('doubles from the base, capped at the max', () => {
    expect([1, 2, 3, 4, 5].map((a) => webhookBackoffMs(a, backoff, 1 - Number.EPSILON))).toEqual([1000, 2000, 4000, 8000, 16000]);
    expect(webhookBackoffMs(9, backoff, 1 - Number.EPSILON)).toBe(256_000);
    expect(webhookBackoffMs(10, backoff, 1 - Number.EPSILON)).toBe(300_000);
    expect(webhookBackoffMs(1000, backoff, 1 - Number.EPSILON)).toBe(300_000);
  });

  it('jitters within [half, all] of the schedule', () => {
    expect(webhookBackoffMs(3, backoff, 0)).toBe(2000);
    expect(webhookBackoffMs(3, backoff, 0.5)).toBe(3000);
    for (let i = 0; i < 100; i += 1) {
      const wait = webhookBackoffMs(4, backoff, Math.random());
      expect(wait).toBeGreaterThanOrEqual(4000);
      expect(wait).toBeLessThanOrEqual(8000);
    }
  });
});
