import path from 'node:path';
import { JsonLogger } from '@signoff/observability';
import { WORKER_MODES, type WorkerConfig } from '@signoff/runtime';
import { DispatchedJob, JobContext, JobHandler, SqlQueryable, TransactionalJobContext, TransactionalJobHandler } from '@signoff/worker-sdk';
import { Pool } from 'pg';

/** How the demo's side effect relates to its completion (the worker SDK's modes; WORKER_MODE, parsed with the worker's configuration). */
export type DemoMode = WorkerConfig['mode'];
export const DEMO_MODES: readonly DemoMode[] = WORKER_MODES;

/** The demo's side-effect log and its downstream, in the worker's own database. */
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
  // One statement, one transaction: the advisory lock makes workers that start together create the
  // tables one after the other (a bare CREATE TABLE IF NOT EXISTS races on the catalog: the loser
  // sees 'type ... already exists'), as the worker SDK's claim table does.
  await db.query(`DO $$ BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('demo_worker_side_effects'));
    CREATE TABLE IF NOT EXISTS demo_worker_side_effects (
      id bigserial PRIMARY KEY,
      idempotency_key text NOT NULL,
      job_id text NOT NULL,
      topic text NOT NULL,
      attempt integer NOT NULL,
      worker_id text NOT NULL,
      performed_at timestamptz NOT NULL DEFAULT now()
    );
    -- A downstream system that dedupes by idempotency key and fences by token (the idempotent mode).
    CREATE TABLE IF NOT EXISTS demo_downstream (
      idempotency_key text PRIMARY KEY,
      fencing_token integer NOT NULL,
      job_id text NOT NULL,
      performed_by text NOT NULL,
      performed_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE IF NOT EXISTS demo_downstream_calls (
      id bigserial PRIMARY KEY,
      idempotency_key text NOT NULL,
      fencing_token integer NOT NULL,
      worker_id text NOT NULL,
      answer text NOT NULL,
      called_at timestamptz NOT NULL DEFAULT now()
    );
  END $$`);
  return { db, close };
}

/** What the demo handlers may be told to do besides the effect (simulated work, a test's fault hook). */
export interface DemoHandlerOptions {
  readonly workMs?: number;
  /** TEST ONLY: called right after the side effect, before the handler returns. */
  readonly afterEffect?: (job: DispatchedJob) => void | Promise<void>;
}

async function work(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

function logEffect(logger: JsonLogger, job: DispatchedJob, context: JobContext, mode: DemoMode): void {
  logger.emit('info', 'side effect', {
    idempotency_key: context.idempotencyKey,
    job_id: job.job_id,
    topic: job.topic,
    attempt: job.attempt,
    fencing_token: context.fencingToken,
    mode,
    approval_id: job.approval?.approval_id ?? null,
  });
}

const insertEffect = (db: SqlQueryable, job: DispatchedJob, context: JobContext) =>
  db.query('INSERT INTO demo_worker_side_effects (idempotency_key, job_id, topic, attempt, worker_id) VALUES ($1, $2, $3, $4, $5)', [
    context.idempotencyKey,
    job.job_id,
    job.topic,
    job.attempt,
    context.workerId,
  ]);

/**
 * The external, non-idempotent demo side effect: one row in `demo_worker_side_effects` written on
 * its own (no unique key: a side effect that ran twice shows as two rows) and a JSON log line.
 */
export function demoHandler(db: SqlQueryable, logger: JsonLogger, options: DemoHandlerOptions = {}): (job: DispatchedJob, context: JobContext) => Promise<unknown> {
  return async (job, context) => {
    if (context.signal.aborted) throw new Error('claim lost before the side effect');
    await insertEffect(db, job, context);
    logEffect(logger, job, context, 'external');
    await options.afterEffect?.(job);
    // Simulated work after the effect (waiting for a confirmation, say): a crash now leaves it done but unrecorded.
    await work(options.workMs ?? 0, context.signal);
    return { performed_by: context.workerId, topic: job.topic };
  };
}

/** The transactional demo side effect: the same row, written in the claim's transaction. */
export function demoTransactionalHandler(logger: JsonLogger, options: DemoHandlerOptions = {}): (job: DispatchedJob, context: TransactionalJobContext) => Promise<unknown> {
  return async (job, context) => {
    await insertEffect(context.tx, job, context);
    logEffect(logger, job, context, 'transactional');
    await options.afterEffect?.(job);
    await work(options.workMs ?? 0, context.signal);
    return { performed_by: context.workerId, topic: job.topic };
  };
}

/**
 * The idempotent demo side effect: a call to a downstream (`demo_downstream`) that applies an
 * effect once per idempotency key and fences by token: a call with a lower token than the
 * highest it saw for the key is refused; a higher one is a duplicate (nothing applied again) that
 * raises the fence. Every call is logged in `demo_downstream_calls`.
 */
export function demoIdempotentHandler(db: SqlQueryable, logger: JsonLogger, options: DemoHandlerOptions = {}): (job: DispatchedJob, context: JobContext) => Promise<unknown> {
  return async (job, context) => {
    const { rows } = await db.query(
      `WITH prior AS (SELECT fencing_token FROM demo_downstream WHERE idempotency_key = $1),
       applied AS (
         INSERT INTO demo_downstream (idempotency_key, fencing_token, job_id, performed_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (idempotency_key) DO UPDATE SET fencing_token = EXCLUDED.fencing_token
           WHERE demo_downstream.fencing_token < EXCLUDED.fencing_token
         RETURNING 1
       )
       SELECT (SELECT fencing_token FROM prior) AS prior_token, EXISTS (SELECT 1 FROM applied) AS written`,
      [context.idempotencyKey, context.fencingToken, job.job_id, context.workerId],
    );
    const { prior_token: prior, written } = rows[0] as { prior_token: number | null; written: boolean };
    const answer = prior === null ? 'applied' : written ? 'duplicate' : prior > context.fencingToken ? 'fenced' : 'duplicate';
    await db.query('INSERT INTO demo_downstream_calls (idempotency_key, fencing_token, worker_id, answer) VALUES ($1, $2, $3, $4)', [
      context.idempotencyKey,
      context.fencingToken,
      context.workerId,
      answer,
    ]);
    if (answer === 'fenced') throw new Error(`downstream refused fencing token ${context.fencingToken}: a later holder wrote with ${prior}`);
    if (answer === 'applied') logEffect(logger, job, context, 'idempotent');
    else logger.emit('info', 'downstream deduplicated the call', { idempotency_key: context.idempotencyKey, fencing_token: context.fencingToken });
    await options.afterEffect?.(job);
    await work(options.workMs ?? 0, context.signal);
    return { performed_by: context.workerId, topic: job.topic, downstream: answer };
  };
}

/** The mode and handler members of the worker options of a demo mode. */
export type DemoWorkerMode =
  | { readonly mode: 'transactional'; readonly handler: TransactionalJobHandler }
  | { readonly mode: 'external'; readonly idempotent?: boolean; readonly handler: JobHandler };

/** The worker options of a demo mode: its handler, and `idempotent` for the idempotent one. */
export function demoWorkerMode(mode: DemoMode, db: SqlQueryable, logger: JsonLogger, options: DemoHandlerOptions = {}): DemoWorkerMode {
  switch (mode) {
    case 'transactional':
      return { mode: 'transactional', handler: demoTransactionalHandler(logger, options) };
    case 'idempotent':
      return { mode: 'external', idempotent: true, handler: demoIdempotentHandler(db, logger, options) };
    case 'external':
      return { mode: 'external', handler: demoHandler(db, logger, options) };
    default: {
      const _exhaustive: never = mode;
      throw new Error(`unknown demo mode ${String(_exhaustive)}`);
    }
  }
}
