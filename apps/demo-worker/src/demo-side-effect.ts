import path from 'node:path';
import { JsonLogger } from '@signoff/observability';
import { DispatchedJob, JobContext, SqlQueryable } from '@signoff/worker-sdk';
import { Pool } from 'pg';

/** The demo's side-effect log, in the worker's own database. */
export async function sideEffectTable(databaseUrl: string): Promise<{ db: SqlQueryable; close: () => Promise<void> }> {
  let db: SqlQueryable;
  let close: () => Promise<void>;
  if (databaseUrl.startsWith('pglite://')) {
    const { PGlite } = await import('@electric-sql/pglite');
    const rest = databaseUrl.slice('pglite://'.length);
    const pg = rest === 'memory' ? await PGlite.create() : await PGlite.create(path.resolve(rest));
    db = pg as unknown as SqlQueryable;
    close = () => pg.close();
  } else {
    const pool = new Pool({ connectionString: databaseUrl, max: 4 });
    pool.on('error', () => undefined);
    db = pool;
    close = () => pool.end();
  }
  await db.query(`CREATE TABLE IF NOT EXISTS demo_worker_side_effects (
    id bigserial PRIMARY KEY,
    idempotency_key text NOT NULL,
    job_id text NOT NULL,
    topic text NOT NULL,
    attempt integer NOT NULL,
    worker_id text NOT NULL,
    performed_at timestamptz NOT NULL DEFAULT now()
  )`).catch(async (error: { code?: string }) => {
    // Two workers creating the table at once: the loser sees the winner's type.
    if (error.code !== '23505' && error.code !== '42P07') throw error;
  });
  return { db, close };
}

/**
 * The demo side effect: one row in `demo_worker_side_effects` (no unique key: a side effect that
 * ran twice would show as two rows) and a JSON log line naming the idempotency key.
 */
export function demoHandler(db: SqlQueryable, logger: JsonLogger, workMs = 0): (job: DispatchedJob, context: JobContext) => Promise<unknown> {
  return async (job, context) => {
    if (workMs > 0) await new Promise((r) => setTimeout(r, workMs));
    if (context.signal.aborted) throw new Error('claim lost before the side effect');
    await db.query(
      'INSERT INTO demo_worker_side_effects (idempotency_key, job_id, topic, attempt, worker_id) VALUES ($1, $2, $3, $4, $5)',
      [context.idempotencyKey, job.job_id, job.topic, job.attempt, context.workerId],
    );
    logger.emit('info', 'side effect', {
      idempotency_key: context.idempotencyKey,
      job_id: job.job_id,
      topic: job.topic,
      attempt: job.attempt,
      approval_id: job.approval?.approval_id ?? null,
    });
    return { performed_by: context.workerId, topic: job.topic };
  };
}
