import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/support/infra';
import { sideEffectTable } from './demo-side-effect';

/*
 * Two demo workers started at once on a fresh database both create the side-effect tables. PostgreSQL's
 * CREATE TABLE IF NOT EXISTS is not safe against a concurrent creator: the loser may see the
 * winner's row type (42710, 'type ... already exists') or pg_type's unique index (23505). Seen in CI
 * as a worker that failed to start in the worker-crash e2e.
 */
describe('demo worker side-effect tables on real PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase('demo');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('eight workers creating the tables at once all start', async () => {
    const opened = await Promise.allSettled(Array.from({ length: 8 }, () => sideEffectTable(db.url)));
    const failed = opened.filter((r) => r.status === 'rejected');
    expect(failed.map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    for (const r of opened) if (r.status === 'fulfilled') await r.value.close();
  });
});
