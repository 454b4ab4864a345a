import { fixedWindowStart, retryAfterSeconds, ThrottleCounter, ThrottleHit } from '@signoff/policy-engine';
import { Pool } from 'pg';

/**
 * Throttle counters shared by every instance (DESIGN section 7): one atomic upsert per hit on a
 * `(key, window_start)` row of PostgreSQL. Rows of windows that ended an hour ago are deleted now
 * and then.
 */
export class PostgresThrottleCounter extends ThrottleCounter {
  private ready: Promise<void> | null = null;
  private hits = 0;

  constructor(private readonly pool: Pool) {
    super();
    // An idle client the server terminates (a PostgreSQL restart) is an 'error' on the pool; without
    // a listener it would be an uncaught exception that ends the policy service. The next hit reconnects.
    pool.on('error', () => undefined);
  }

  private migrate(): Promise<void> {
    this.ready ??= this.pool
      .query(
        // One statement, one transaction: instances that start together create the table one after
        // the other (a bare CREATE TABLE IF NOT EXISTS races on the catalog: 'type ... already exists').
        `DO $$ BEGIN
           PERFORM pg_advisory_xact_lock(hashtext('signoff_throttle_counters'));
           CREATE TABLE IF NOT EXISTS signoff_throttle_counters (
             key text NOT NULL,
             window_start bigint NOT NULL,
             window_ms bigint NOT NULL,
             count integer NOT NULL,
             PRIMARY KEY (key, window_start)
           );
         END $$`,
      )
      .then(() => undefined)
      .catch((error: unknown) => {
        this.ready = null;
        throw error;
      });
    return this.ready;
  }

  async hit(key: string, windowMs: number, limit: number, now: number): Promise<ThrottleHit> {
    await this.migrate();
    const start = fixedWindowStart(now, windowMs);
    const { rows } = await this.pool.query<{ count: number }>(
      `INSERT INTO signoff_throttle_counters (key, window_start, window_ms, count) VALUES ($1, $2, $3, 1)
       ON CONFLICT (key, window_start) DO UPDATE SET count = signoff_throttle_counters.count + 1
       RETURNING count`,
      [key, start, windowMs],
    );
    if (++this.hits % 1000 === 0) {
      void this.pool.query('DELETE FROM signoff_throttle_counters WHERE window_start + window_ms < $1', [now - 3_600_000]).catch(() => undefined);
    }
    const count = rows[0].count;
    return { allowed: count <= limit, count, retry_after_seconds: retryAfterSeconds(now, windowMs) };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
