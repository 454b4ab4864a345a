import { randomUUID } from 'node:crypto';
import {
  ClaimRecord,
  ClaimRequest,
  ClaimResult,
  ClaimStore,
  CompleteResult,
  Lease,
  StoredOutcome,
} from './claim-store.port';

/**
 * The one thing the SQL claim store needs from a database: a parameterised query. A node-postgres
 * `Pool` or `Client` and a PGlite instance all have this shape, so one adapter serves PostgreSQL
 * (distributed workers) and PGlite (the standalone mode).
 */
export interface SqlQueryable {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

export const DEFAULT_CLAIM_TABLE = 'signoff_worker_claims';
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

interface ClaimRow {
  idempotency_key: string;
  job_id: string;
  job_hash: string;
  status: 'running' | 'succeeded' | 'failed';
  owner: string;
  runs: number;
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

/**
 * Idempotency claims in one SQL table (PostgreSQL or PGlite). Every operation is ONE statement,
 * so it is atomic without an explicit transaction and works on a pool as on one connection.
 *
 * Claiming is `INSERT ... ON CONFLICT (idempotency_key) DO UPDATE ... WHERE <lease expired>`: the
 * primary key makes concurrent claimers of one key queue on the same index entry; the first
 * inserts, every other one takes the conflict path, where PostgreSQL re-evaluates the WHERE on
 * the row as committed by the winner (READ COMMITTED re-check), finds a live lease and updates
 * nothing. Exactly one gets a row back. The article's find-then-create (`findUnique`, run, then
 * `create`) lets two workers both find nothing and both run the side effect; the unique violation
 * of the second `create` comes after its side effect already happened. Here the key is taken
 * BEFORE the side effect, and the database, not a read made earlier, decides who holds it.
 *
 * Leases use the database's clock (`now()`), so workers with skewed clocks agree on expiry.
 */
export class SqlClaimStore extends ClaimStore {
  private ready: Promise<void> | null = null;
  private readonly table: string;
  private readonly onClose: () => Promise<void>;

  constructor(
    private readonly db: SqlQueryable,
    options: { readonly tableName?: string; readonly onClose?: () => Promise<void> } = {},
  ) {
    super();
    this.table = options.tableName ?? DEFAULT_CLAIM_TABLE;
    if (!IDENTIFIER.test(this.table)) throw new Error(`claim table name ${this.table} must match ${IDENTIFIER}`);
    this.onClose = options.onClose ?? (async () => undefined);
  }

  /** Creates the table when missing (also called by every operation). */
  migrate(): Promise<void> {
    this.ready ??= this.createTable().catch((error: unknown) => {
      this.ready = null;
      throw error;
    });
    return this.ready;
  }

  private async createTable(): Promise<void> {
    // One statement, one transaction: the advisory lock makes workers that start together create
    // the table one after the other (a bare CREATE TABLE IF NOT EXISTS races on the catalog).
    await this.db.query(`DO $$ BEGIN
      PERFORM pg_advisory_xact_lock(hashtext('${this.table}'));
      CREATE TABLE IF NOT EXISTS ${this.table} (
        idempotency_key text PRIMARY KEY,
        job_id text NOT NULL,
        job_hash text NOT NULL,
        status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
        owner text NOT NULL,
        lease_token text,
        lease_expires_at timestamptz,
        runs integer NOT NULL DEFAULT 1,
        result jsonb,
        error text,
        claimed_at timestamptz NOT NULL DEFAULT now(),
        completed_at timestamptz
      );
    END $$`);
  }

  private get columns(): string {
    return `idempotency_key, job_id, job_hash, status, owner, runs,
      (extract(epoch from lease_expires_at) * 1000)::float8 AS lease_expires_ms,
      (status = 'running' AND lease_expires_at > now()) AS live, result, error`;
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    await this.migrate();
    for (let attempt = 1; ; attempt++) {
      const token = randomUUID();
      const leaseMs = Math.max(1, Math.round(request.leaseMs));
      const claimed = await this.db.query(
        `INSERT INTO ${this.table} AS c (idempotency_key, job_id, job_hash, status, owner, lease_token, lease_expires_at, runs)
         VALUES ($1, $2, $3, 'running', $4, $5, now() + $6::integer * interval '1 millisecond', 1)
         ON CONFLICT (idempotency_key) DO UPDATE
           SET owner = EXCLUDED.owner, lease_token = EXCLUDED.lease_token,
               lease_expires_at = EXCLUDED.lease_expires_at, runs = c.runs + 1, claimed_at = now()
           WHERE c.status = 'running' AND c.lease_expires_at <= now()
             AND c.job_id = EXCLUDED.job_id AND c.job_hash = EXCLUDED.job_hash
         RETURNING c.runs`,
        [request.key, request.jobId, request.jobHash, request.owner, token, leaseMs],
      );
      const won = claimed.rows[0] as { runs: number } | undefined;
      if (won) {
        const runs = Number(won.runs);
        return { status: 'claimed', lease: { key: request.key, token, owner: request.owner }, takeover: runs > 1, runs };
      }
      const current = await this.read(request.key);
      if (current === null) {
        if (attempt < 5) continue; // released between the two statements: claim again
        throw new Error(`claim of ${request.key} keeps vanishing`);
      }
      if (current.job_id !== request.jobId || current.job_hash !== request.jobHash) {
        return { status: 'conflict', jobId: current.job_id, jobHash: current.job_hash };
      }
      if (current.status === 'succeeded' || current.status === 'failed') {
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
      if (!current.live && attempt < 5) continue; // expired between the two statements: try to take it over
      return { status: 'busy', owner: current.owner, leaseExpiresAt: new Date(Number(current.lease_expires_ms ?? 0)) };
    }
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

  async complete(lease: Lease, outcome: StoredOutcome): Promise<CompleteResult> {
    await this.migrate();
    const { rows } = await this.db.query(
      `UPDATE ${this.table}
       SET status = $3, result = $4::jsonb, error = $5, completed_at = now(), lease_expires_at = NULL, lease_token = NULL
       WHERE idempotency_key = $1 AND lease_token = $2 AND status = 'running' RETURNING 1 AS ok`,
      [lease.key, lease.token, outcome.status, toJsonText(outcome.result), outcome.error ?? null],
    );
    if (rows.length === 1) return { status: 'stored' };
    return { status: 'lease_lost', current: await this.get(lease.key) };
  }

  async release(lease: Lease): Promise<void> {
    await this.migrate();
    await this.db.query(`DELETE FROM ${this.table} WHERE idempotency_key = $1 AND lease_token = $2 AND status = 'running'`, [
      lease.key,
      lease.token,
    ]);
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
