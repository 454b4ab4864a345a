import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from 'pg';
import { createTestDatabase } from '../../../test/support/infra';
import { PostgresThrottleCounter } from './postgres-throttle.counter';

/*
 * Policy-service instances that start together share one counter table. Their first hits create
 * it at the same moment: a bare CREATE TABLE IF NOT EXISTS races on the catalog (the loser sees
 * 'type ... already exists') and that instance's first throttled submit would fail.
 */
describe('PostgresThrottleCounter on real PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase('throttle');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('eight instances hitting first at once all count; the shared window sees every hit once', async () => {
    const counters = Array.from({ length: 8 }, () => new PostgresThrottleCounter(new Pool({ connectionString: db.url, max: 2 })));
    const now = Date.UTC(2026, 11, 2, 12, 0, 0);
    try {
      const hits = await Promise.allSettled(counters.map((c) => c.hit('tenant:acme|topic:pay', 60_000, 5, now)));
      expect(hits.filter((h) => h.status === 'rejected').map((h) => String((h as PromiseRejectedResult).reason))).toEqual([]);
      const counts = hits.map((h) => (h as PromiseFulfilledResult<{ count: number }>).value.count).sort((a, b) => a - b);
      expect(counts).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      const allowed = hits.filter((h) => (h as PromiseFulfilledResult<{ allowed: boolean }>).value.allowed);
      expect(allowed).toHaveLength(5);
    } finally {
      await Promise.all(counters.map((c) => c.close()));
    }
  });
});
