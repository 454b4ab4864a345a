import { randomUUID } from 'node:crypto';
import {
  ClaimMode,
  ClaimRecord,
  ClaimRequest,
  ClaimResult,
  ClaimStore,
  CompleteResult,
  failedOutcome,
  Lease,
  SqlQueryable,
  StoredOutcome,
  TransactionalEffect,
  TransactionalResult,
} from './claim-store.port';
import { SqlTransactionRunner, transactionsFor } from './sql-transactions';

export type { SqlQueryable } from './claim-store.port';

export const DEFAULT_CLAIM_TABLE = 'signoff_worker_claims';
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

interface ClaimRow {
  idempotency_key: string;
  job_id: string;
  job_hash: string;
  status: 'running' | 'succeeded' | 'failed' | 'unknown';
  owner: string;
  runs: number;
  mode: ClaimMode;
  effect_started: boolean;
  lease_expires_ms: number | null;
  live: boolean;
  result: unknown;
  error: string | null;
}

function toRecord(row: ClaimRow): ClaimRecord {
  return {
    key: row.idempotency_key,
    jobId: row.job_id,
    jobHash: row.job_hash,
    status: row.status,
    owner: row.owner,
    runs: Number(row.runs),
    mode: row.mode,
    effectStarted: row.effect_started,
    leaseExpiresAt: row.lease_expires_ms === null ? null : new Date(Number(row.lease_expires_ms)),
    ...(row.result !== null && row.result !== undefined ? { result: row.result } : {}),
    ...(row.error !== null ? { error: row.error } : {}),
  };
}

/** A JSON text of any handler result (undefined -> null; what JSON cannot hold is described). */
function toJsonText(value: unknown): string {
  try {
    return JSON.stringify(value === undefined ? null : value) ?? 'null';
  } catch (error) {
    return JSON.stringify({ unserializable: String(value), reason: (error as Error).message });
  }
}

/** SQLSTATE of a statement in a transaction that an earlier failed statement aborted. */
const IN_FAILED_TRANSACTION = '25P02';

/**
 * Idempotency claims in one SQL table (PostgreSQL or PGlite). Every operation but the
 * transactional run is ONE statement, so it is atomic without an explicit transaction and works
 * on a pool as on one connection.
 *
 * Claiming is `INSERT ... ON CONFLICT (idempotency_key) DO UPDATE ... WHERE <lease expired and a
 * takeover is safe>`: the primary key makes concurrent claimers of one key queue on the same index
 * entry; the first inserts, every other one takes the conflict path, where PostgreSQL re-evaluates
 * the WHERE on the row as committed by the winner (READ COMMITTED re-check), finds a live lease
 * and updates nothing. Exactly one gets a row back. The article's find-then-create (`findUnique`,
 * run, then `create`) lets two workers both find nothing and both run the side effect; the unique
 * violation of the second `create` comes after its side effect already happened. Here the key is
 * taken BEFORE the side effect, and the database, not a read made earlier, decides who holds it.
 *
 * A takeover is safe unless the claim is `external` (a non-idempotent handler) and its side effect
 * may have begun (`effect_started`, recorded under the lease right before the handler runs). Such
 * an expired claim is marked `unknown` by the first worker that finds it, with one conditional
 * UPDATE, and is never run again.
 *
 * Leases use the database's clock (`now()`), so workers with skewed clocks agree on expiry.
 */
export class SqlClaimStore extends ClaimStore {
  private ready: Promise<void> | null = null;
  private readonly table: string;
  private readonly onClose: () => Promise<void>;
  private readonly transactions: SqlTransactionRunner | null;

  constructor(
    private readonly db: SqlQueryable,
    options: {
      readonly tableName?: string;
      readonly onClose?: () => Promise<void>;
      /** How to open a claim transaction (default: from `db`, when it is a pg Pool or a PGlite). */
      readonly transactions?: SqlTransactionRunner | null;
    } = {},
  ) {
    super();
    this.table = options.tableName ?? DEFAULT_CLAIM_TABLE;
    if (!IDENTIFIER.test(this.table)) throw new Error(`claim table name ${this.table} must match ${IDENTIFIER}`);
    this.onClose = options.onClose ?? (async () => undefined);
    this.transactions = options.transactions !== undefined ? options.transactions : transactionsFor(db);
  }

  get supportsTransactions(): boolean {
    return this.transactions !== null;
  }

  /** Creates the table when missing, and brings a table of an earlier version up to date (also called by every operation). */
  migrate(): Promise<void> {
    this.ready ??= this.createTable().catch((error: unknown) => {
      this.ready = null;
      throw error;
    });
    return this.ready;
  }

  private async createTable(): Promise<void> {
    const t = this.table;
    // One statement, one transaction: the advisory lock makes workers that start together create
    // the table one after the other (a bare CREATE TABLE IF NOT EXISTS races on the catalog).
    // Rows of an earlier SDK version get effect_started = true: whether their effect began is
    // unknown, so an expired one is marked unknown rather than run again.
    await this.db.query(`DO $$ BEGIN
      PERFORM pg_advisory_xact_lock(hashtext('${t}'));
      CREATE TABLE IF NOT EXISTS ${t} (
        idempotency_key text PRIMARY KEY,
        job_id text NOT NULL,
        job_hash text NOT NULL,
        status text NOT NULL CONSTRAINT ${t}_status_check CHECK (status IN ('running', 'succeeded', 'failed', 'unknown')),
        owner text NOT NULL,
        lease_token text,
        lease_expires_at timestamptz,
        runs integer NOT NULL DEFAULT 1,
        result jsonb,
        error text,
        claimed_at timestamptz NOT NULL DEFAULT now(),
        completed_at timestamptz
      );
      ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS mode text NOT NULL DEFAULT 'external';
      ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS effect_started boolean NOT NULL DEFAULT true;
      IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conrelid = '${t}'::regclass AND conname = '${t}_status_check' AND pg_get_constraintdef(oid) LIKE '%unknown%'
      ) THEN
        ALTER TABLE ${t} DROP CONSTRAINT IF EXISTS ${t}_status_check;
        ALTER TABLE ${t} ADD CONSTRAINT ${t}_status_check CHECK (status IN ('running', 'succeeded', 'failed', 'unknown'));
      END IF;
    END $$`);
  }

  private get columns(): string {
    return `idempotency_key, job_id, job_hash, status, owner, runs, mode, effect_started,
      (extract(epoch from lease_expires_at) * 1000)::float8 AS lease_expires_ms,
      (status = 'running' AND lease_expires_at > now()) AS live, result, error`;
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    await this.migrate();
    for (let attempt = 1; ; attempt++) {
      const token = randomUUID();
      const leaseMs = Math.max(1, Math.round(request.leaseMs));
      // effect_started is kept on takeover: once any run's effect may have begun, it stays so.
      const claimed = await this.db.query(
        `INSERT INTO ${this.table} AS c (idempotency_key, job_id, job_hash, status, owner, lease_token, lease_expires_at, runs, mode, effect_started)
         VALUES ($1, $2, $3, 'running', $4, $5, now() + $6::integer * interval '1 millisecond', 1, $7, false)
         ON CONFLICT (idempotency_key) DO UPDATE
           SET owner = EXCLUDED.owner, lease_token = EXCLUDED.lease_token,
               lease_expires_at = EXCLUDED.lease_expires_at, runs = c.runs + 1, claimed_at = now(), mode = EXCLUDED.mode
           WHERE c.status = 'running' AND c.lease_expires_at <= now()
             AND c.job_id = EXCLUDED.job_id AND c.job_hash = EXCLUDED.job_hash
             AND (NOT c.effect_started OR c.mode <> 'external')
         RETURNING c.runs`,
        [request.key, request.jobId, request.jobHash, request.owner, token, leaseMs, request.mode],
      );
      const won = claimed.rows[0] as { runs: number } | undefined;
      if (won) {
        const runs = Number(won.runs);
        return { status: 'claimed', lease: { key: request.key, token, owner: request.owner, fencingToken: runs }, takeover: runs > 1, runs };
      }
      const current = await this.read(request.key);
      if (current === null) {
        if (attempt < 5) continue; // released between the two statements: claim again
        throw new Error(`claim of ${request.key} keeps vanishing`);
      }
      if (current.job_id !== request.jobId || current.job_hash !== request.jobHash) {
        return { status: 'conflict', jobId: current.job_id, jobHash: current.job_hash };
      }
      switch (current.status) {
        case 'succeeded':
        case 'failed': {
          const record = toRecord(current);
          return {
            status: 'completed',
            owner: current.owner,
            outcome: {
              status: current.status,
              ...(record.result !== undefined ? { result: record.result } : {}),
              ...(record.error !== undefined ? { error: record.error } : {}),
            },
          };
        }
        case 'unknown':
          return { status: 'unknown', owner: current.owner, runs: Number(current.runs), reason: current.error ?? 'outcome unknown', marked: false };
        case 'running':
          break;
        default: {
          const _exhaustive: never = current.status;
          throw new Error(`claim of ${request.key} has an unknown status`);
        }
      }
      if (!current.live && current.effect_started && current.mode === 'external') {
        const marked = await this.markExpiredUnknown(request.key, request.owner);
        if (marked) return { status: 'unknown', owner: marked.owner, runs: marked.runs, reason: marked.reason, marked: true };
        if (attempt < 5) continue; // renewed or marked by someone else meanwhile: look again
      }
      if (!current.live && attempt < 5) continue; // expired between the two statements: try to take it over
      return { status: 'busy', owner: current.owner, leaseExpiresAt: new Date(Number(current.lease_expires_ms ?? 0)) };
    }
  }

  /** Marks an expired external claim whose effect had begun `unknown` (one conditional statement: one worker wins). */
  private async markExpiredUnknown(key: string, finder: string): Promise<{ owner: string; runs: number; reason: string } | null> {
    const { rows } = await this.db.query(
      `UPDATE ${this.table} SET status = 'unknown', lease_token = NULL, lease_expires_at = NULL, completed_at = now(),
         error = 'the lease of ' || owner || ' (run ' || runs || ') expired after its side effect began and before an outcome was recorded; '
           || 'whether the effect happened is unknown, so it is not run again (found by ' || $2 || ')'
       WHERE idempotency_key = $1 AND status = 'running' AND lease_expires_at <= now() AND effect_started AND mode = 'external'
       RETURNING owner, runs, error`,
      [key, finder],
    );
    const row = rows[0] as { owner: string; runs: number; error: string } | undefined;
    return row ? { owner: row.owner, runs: Number(row.runs), reason: row.error } : null;
  }

  async renew(lease: Lease, leaseMs: number): Promise<boolean> {
    await this.migrate();
    const { rows } = await this.db.query(
      `UPDATE ${this.table} SET lease_expires_at = now() + $3::integer * interval '1 millisecond'
       WHERE idempotency_key = $1 AND lease_token = $2 AND status = 'running' RETURNING 1 AS ok`,
      [lease.key, lease.token, Math.max(1, Math.round(leaseMs))],
    );
    return rows.length === 1;
  }

  async markEffectStarted(lease: Lease): Promise<boolean> {
    await this.migrate();
    const { rows } = await this.db.query(
      `UPDATE ${this.table} SET effect_started = true
       WHERE idempotency_key = $1 AND lease_token = $2 AND status = 'running' RETURNING 1 AS ok`,
      [lease.key, lease.token],
    );
    return rows.length === 1;
  }

  async complete(lease: Lease, outcome: StoredOutcome): Promise<CompleteResult> {
    await this.migrate();
    if (await this.completeWith(this.db, lease, outcome)) return { status: 'stored' };
    return { status: 'lease_lost', current: await this.get(lease.key) };
  }

  private async completeWith(db: SqlQueryable, lease: Lease, outcome: StoredOutcome): Promise<boolean> {
    const { rows } = await db.query(
      `UPDATE ${this.table}
       SET status = $3, result = $4::jsonb, error = $5, completed_at = now(), lease_expires_at = NULL, lease_token = NULL
       WHERE idempotency_key = $1 AND lease_token = $2 AND status = 'running' RETURNING 1 AS ok`,
      [lease.key, lease.token, outcome.status, toJsonText(outcome.result), outcome.error ?? null],
    );
    return rows.length === 1;
  }

  /**
   * The transactional run (see {@link ClaimStore.runTransactionally}), in this order:
   * 1. BEGIN; lock the claim row if this lease still holds it (`FOR UPDATE`, token and status
   *    checked): from here until COMMIT no takeover can succeed; a concurrent claimer of the key
   *    (or a renewal from another connection) waits on the row lock, then sees the outcome, or,
   *    after a rollback, the expired lease it may take over;
   * 2. SAVEPOINT; the effect with this transaction; a throw rolls back to the savepoint and makes
   *    the outcome `failed`;
   * 3. mark the claim completed (same transaction); COMMIT.
   * A crash, a lost connection or a PostgreSQL restart anywhere before the COMMIT rolls back the
   * effect and the completion together: the claim stays `running` under a lease that expires, and
   * a takeover runs the effect again; nothing it wrote before survives. The server ends a
   * transaction idle for longer than the lease (`idle_in_transaction_session_timeout`), so a
   * frozen holder cannot keep the row locked for ever.
   */
  async runTransactionally(lease: Lease, effect: TransactionalEffect, options: { readonly leaseMs: number }): Promise<TransactionalResult> {
    await this.migrate();
    const transactions = this.transactions;
    if (transactions === null) throw new Error('this claim store cannot open transactions (give it a pg Pool or a PGlite)');
    const held = await transactions.run(async (tx, signal): Promise<StoredOutcome | null> => {
      // 1. lock
      const locked = await tx.query(
        `SELECT 1 AS ok FROM ${this.table} WHERE idempotency_key = $1 AND lease_token = $2 AND status = 'running' FOR UPDATE`,
        [lease.key, lease.token],
      );
      if (locked.rows.length === 0) return null;
      // 2. the effect, undone alone when it throws
      await tx.query('SAVEPOINT signoff_effect');
      let outcome: StoredOutcome;
      try {
        const result = await effect(tx, signal);
        outcome = { status: 'succeeded', result: result === undefined ? null : result };
      } catch (error) {
        await tx.query('ROLLBACK TO SAVEPOINT signoff_effect');
        outcome = failedOutcome(error);
      }
      // 3. the completion, in the same transaction
      try {
        if (!(await this.completeWith(tx, lease, outcome))) throw new Error(`the locked claim of ${lease.key} could not be completed`);
      } catch (error) {
        // The effect swallowed an error of its own statement and left the transaction aborted:
        // undo what it wrote and record that.
        if ((error as { code?: string }).code !== IN_FAILED_TRANSACTION) throw error;
        await tx.query('ROLLBACK TO SAVEPOINT signoff_effect');
        outcome = failedOutcome(new Error(`the handler left its transaction aborted: ${(error as Error).message}`));
        if (!(await this.completeWith(tx, lease, outcome))) throw new Error(`the locked claim of ${lease.key} could not be completed`);
      }
      return outcome;
    }, { idleTimeoutMs: options.leaseMs });
    if (held === null) return { status: 'lease_lost', current: await this.get(lease.key) };
    return { status: 'stored', outcome: held };
  }

  async markUnknown(lease: Lease, reason: string): Promise<boolean> {
    await this.migrate();
    const { rows } = await this.db.query(
      `UPDATE ${this.table} SET status = 'unknown', error = $3, completed_at = now(), lease_expires_at = NULL, lease_token = NULL
       WHERE idempotency_key = $1 AND lease_token = $2 AND status = 'running' RETURNING 1 AS ok`,
      [lease.key, lease.token, reason],
    );
    return rows.length === 1;
  }

  async expire(lease: Lease): Promise<boolean> {
    await this.migrate();
    const { rows } = await this.db.query(
      `UPDATE ${this.table} SET lease_expires_at = now()
       WHERE idempotency_key = $1 AND lease_token = $2 AND status = 'running' RETURNING 1 AS ok`,
      [lease.key, lease.token],
    );
    return rows.length === 1;
  }

  async release(lease: Lease): Promise<void> {
    await this.migrate();
    // Only before the effect began: a released key is claimed afresh (run counter 1).
    await this.db.query(
      `DELETE FROM ${this.table} WHERE idempotency_key = $1 AND lease_token = $2 AND status = 'running' AND NOT effect_started`,
      [lease.key, lease.token],
    );
  }

  async get(key: string): Promise<ClaimRecord | null> {
    await this.migrate();
    const row = await this.read(key);
    return row === null ? null : toRecord(row);
  }

  private async read(key: string): Promise<ClaimRow | null> {
    const { rows } = await this.db.query(`SELECT ${this.columns} FROM ${this.table} WHERE idempotency_key = $1`, [key]);
    return (rows[0] as ClaimRow | undefined) ?? null;
  }

  close(): Promise<void> {
    return this.onClose();
  }
}
