import { createHash } from 'node:crypto';
import { Pool, type PoolClient, type QueryConfig } from 'pg';
import { EventStoreArgumentError } from '../event-store.errors';
import { translateSqlError } from '../sql/sql.errors';
import type { SqlDriver, SqlResult, SqlSession } from '../sql/sql.driver';
import { SqlEventStore } from '../sql/sql.event-store';
import { DEFAULT_GROUP_COMMIT_APPENDS, type AppendBatcherOptions } from '../sql/append-batcher';

/** Settings of the PostgreSQL adapter (all optional). */
export interface PostgresEventStoreOptions {
  /** Connections in the pool; default 10. */
  readonly maxConnections?: number;
  /**
   * `statement_timeout` of every connection; default 30 s. Bounds how long an append may wait for
   * a stream lock, so one stuck writer cannot hold others (or the log's visibility line) forever.
   */
  readonly statementTimeoutMs?: number;
  /**
   * `idle_in_transaction_session_timeout` of every connection; default 10 s. A transaction left
   * open by a stalled client would otherwise hold back every subscriber (they only read below
   * the oldest running transaction).
   */
  readonly idleInTransactionTimeoutMs?: number;
  /** How long to wait for a free pool connection; default 10 s. */
  readonly connectionTimeoutMs?: number;
  /** `application_name`, visible in pg_stat_activity; default `signoff-event-store`. */
  readonly applicationName?: string;
  /**
   * Use named prepared statements for the hot statements (append, stream and log reads): their
   * planning costs as much as their execution. Default true; turn off behind a connection pooler
   * in transaction mode that cannot keep them.
   */
  readonly preparedStatements?: boolean;
  /**
   * Group commit: concurrent appends to distinct streams share one statement and one commit
   * (`false`: each append is its own statement). `maxBatches`: batches in flight at once (default
   * half the pool); `maxAppends`: appends per batch (default 64). Default on.
   */
  readonly groupCommit?: boolean | { readonly maxBatches?: number; readonly maxAppends?: number };
  /** Rows of the log one statement of a filtered read (a subscription with a filter) scans; default 4096. */
  readonly logScanWindow?: number;
}

const statementNames = new Map<string, string>();

/** A stable name per statement text, so each connection parses and plans it once. */
function statement(text: string, params: readonly unknown[] | undefined, prepared: boolean): QueryConfig {
  const values = params ? [...params] : undefined;
  if (!prepared) return { text, values };
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `signoff_es_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    statementNames.set(text, name);
  }
  return { name, text, values };
}

function sessionOf(client: PoolClient, prepare: boolean): SqlSession {
  return {
    query: async <R>(text: string, params?: readonly unknown[], prepared = false): Promise<SqlResult<R>> => {
      const result = await client.query(statement(text, params, prepare && prepared));
      return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
    },
    exec: async (text: string) => {
      await client.query(text);
    },
  };
}

/** node-postgres pool as a SqlDriver: autocommit statements, or BEGIN/COMMIT on one client. */
class PoolDriver implements SqlDriver {
  constructor(
    private readonly pool: Pool,
    private readonly prepare: boolean,
  ) {}

  async query<R>(text: string, params?: readonly unknown[], prepared = false): Promise<SqlResult<R>> {
    const result = await this.pool.query(statement(text, params, this.prepare && prepared));
    return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
  }

  async exec(text: string): Promise<void> {
    await this.pool.query(text);
  }

  async transaction<T>(work: (session: SqlSession) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(sessionOf(client, this.prepare));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // The connection is unusable (e.g. terminated by a timeout): drop it instead of reusing it.
        broken = rollbackError as Error;
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * The event store on a PostgreSQL server (13+; xid8 and pg_current_snapshot are needed), through
 * a node-postgres pool. Open it with {@link PostgresEventStore.connect}.
 */
export class PostgresEventStore extends SqlEventStore {
  private constructor(driver: SqlDriver, groupCommit: AppendBatcherOptions | null, logScanWindow: number | undefined) {
    super(driver, groupCommit, logScanWindow);
  }

  /** Connects, migrates the `event_store` schema to this build's version and returns the store. */
  static async connect(url: string, options: PostgresEventStoreOptions = {}): Promise<PostgresEventStore> {
    const maxConnections = options.maxConnections ?? 10;
    if (options.logScanWindow !== undefined && !(Number.isSafeInteger(options.logScanWindow) && options.logScanWindow >= 1)) {
      throw new EventStoreArgumentError(`logScanWindow must be a positive integer, got ${String(options.logScanWindow)}`);
    }
    const pool = new Pool({
      connectionString: url,
      max: maxConnections,
      statement_timeout: options.statementTimeoutMs ?? 30_000,
      idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs ?? 10_000,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
      application_name: options.applicationName ?? 'signoff-event-store',
    });
    // An idle client that dies (server restart, terminated backend) is discarded by the pool and
    // replaced on next use; without a listener the error event would crash the process.
    pool.on('error', () => undefined);
    const driver = new PoolDriver(pool, options.preparedStatements ?? true);
    try {
      await SqlEventStore.migrate(driver);
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw translateSqlError(error, `open PostgreSQL event store`);
    }
    const group = options.groupCommit ?? true;
    return new PostgresEventStore(
      driver,
      group === false
        ? null
        : {
            maxBatches: (group === true ? undefined : group.maxBatches) ?? Math.max(1, Math.floor(maxConnections / 2)),
            maxAppends: (group === true ? undefined : group.maxAppends) ?? DEFAULT_GROUP_COMMIT_APPENDS,
          },
      options.logScanWindow,
    );
  }
}
