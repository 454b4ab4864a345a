import { Pool, PoolClient } from 'pg';
import type { SqlQueryable } from './claim-store.port';

/** Runs work in one database transaction on one connection (the transactional mode's claim transaction). */
export interface SqlTransactionRunner {
  /**
   * BEGIN, `work(tx, signal)`, COMMIT; ROLLBACK when `work` throws. `signal` fires when the
   * connection is lost mid-transaction (the server then rolls the transaction back).
   * `idleTimeoutMs`: the server ends the transaction (rolling it back) when it sits idle longer,
   * so a frozen holder cannot keep the claim row locked for ever; while this process is alive it
   * keeps the transaction from going idle that long (a `SELECT 1` on it every third of the time),
   * as renewals keep a lease: a slow handler keeps its transaction, a frozen process loses it.
   */
  run<T>(work: (tx: SqlQueryable, signal: AbortSignal) => Promise<T>, options: { readonly idleTimeoutMs: number }): Promise<T>;
}

/** Transactions on connections checked out of a node-postgres pool. */
export function poolTransactions(pool: Pool): SqlTransactionRunner {
  return {
    async run(work, { idleTimeoutMs }) {
      const client: PoolClient = await pool.connect();
      const lost = new AbortController();
      let broken: Error | null = null;
      const onError = (error: Error) => {
        broken = error;
        lost.abort(error);
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        // SET takes no parameters; the value is an integer we computed.
        await client.query(`SET LOCAL idle_in_transaction_session_timeout = ${Math.max(1, Math.round(idleTimeoutMs))}`);
        const keepalive = setInterval(() => {
          // Queued between the handler's own statements, never inside one; an error here is the handler's to see.
          if (!lost.signal.aborted) client.query('SELECT 1').catch(() => undefined);
        }, Math.max(10, Math.floor(idleTimeoutMs / 3)));
        let result: Awaited<ReturnType<typeof work>>;
        try {
          result = await work(client, lost.signal);
        } finally {
          clearInterval(keepalive);
        }
        // COMMIT of a transaction aborted by a failed statement answers ROLLBACK, not an error.
        const commit = await client.query('COMMIT');
        if (commit.command === 'ROLLBACK') throw new Error('the claim transaction was aborted and rolled back at COMMIT');
        return result;
      } catch (error) {
        if (broken === null) {
          await client.query('ROLLBACK').catch((rollbackError: Error) => {
            broken = rollbackError;
          });
        }
        throw error;
      } finally {
        client.removeListener('error', onError);
        // A connection that failed is destroyed, not returned to the pool.
        client.release(broken ?? undefined);
      }
    },
  };
}

interface PGliteLike extends SqlQueryable {
  transaction<T>(callback: (tx: SqlQueryable) => Promise<T>): Promise<T>;
}

function isPGliteLike(db: SqlQueryable): db is PGliteLike {
  return typeof (db as Partial<PGliteLike>).transaction === 'function';
}

/**
 * Transactions of a PGlite instance. PGlite is one connection: while a transaction is open every
 * other query of the instance waits for it, so transactional jobs of one process run one at a time.
 * The database lives in the process, so a crash loses the open transaction with the process.
 */
export function pgliteTransactions(db: PGliteLike): SqlTransactionRunner {
  return {
    run(work) {
      const never = new AbortController().signal;
      return db.transaction((tx) => work(tx, never));
    },
  };
}

/** The transaction runner of a database handle: a pg Pool or a PGlite instance; null for anything else (a lone pg Client). */
export function transactionsFor(db: SqlQueryable): SqlTransactionRunner | null {
  if (db instanceof Pool) return poolTransactions(db);
  if (isPGliteLike(db)) return pgliteTransactions(db);
  return null;
}
