import fs from 'node:fs';
import path from 'node:path';
import type { PGlite, Transaction } from '@electric-sql/pglite';
import { translateSqlError } from '../sql/sql.errors';
import type { SqlDriver, SqlResult, SqlSession } from '../sql/sql.driver';
import { DEFAULT_GROUP_COMMIT_APPENDS } from '../sql/append-batcher';
import { SqlEventStore } from '../sql/sql.event-store';
import { SQL } from '../sql/event-store.sql';

type PgliteQueryable = Pick<PGlite, 'query' | 'exec'> | Transaction;

function sessionOf(db: PgliteQueryable): SqlSession {
  return {
    // PGlite has no named statements to keep; `prepared` does not apply.
    query: async <R>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>> => {
      const result = await db.query<R>(text, params ? [...params] : undefined);
      return { rows: result.rows, rowCount: result.affectedRows ?? 0 };
    },
    exec: async (text: string) => {
      await db.exec(text);
    },
  };
}

/**
 * PGlite is one in-process connection: a statement issued while another caller's transaction is
 * open would run inside that transaction. Every statement and transaction therefore waits its
 * turn in one queue.
 */
class QueuedPgliteDriver implements SqlDriver {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly direct: SqlSession;

  constructor(private readonly db: PGlite) {
    this.direct = sessionOf(db);
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }

  query<R>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
    return this.enqueue(() => this.direct.query<R>(text, params));
  }

  exec(text: string): Promise<void> {
    return this.enqueue(() => this.direct.exec(text));
  }

  transaction<T>(work: (session: SqlSession) => Promise<T>): Promise<T> {
    return this.enqueue(() => this.db.transaction((tx) => work(sessionOf(tx))));
  }

  close(): Promise<void> {
    return this.enqueue(() => this.db.close());
  }
}

/** Where a PGlite store keeps its data. */
export type PgliteLocation = { readonly kind: 'memory' } | { readonly kind: 'directory'; readonly path: string };

/**
 * The event store on PGlite (PostgreSQL compiled to WebAssembly, in this process): the embedded
 * default of the standalone mode. Same SQL and semantics as the PostgreSQL adapter; one process
 * owns a data directory at a time.
 */
export class PgliteEventStore extends SqlEventStore {
  private constructor(driver: SqlDriver) {
    // One connection: one batch at a time, the appends that arrive meanwhile go in the next.
    super(driver, { maxBatches: 1, maxAppends: DEFAULT_GROUP_COMMIT_APPENDS });
  }

  /** Opens (creating if needed) the database in `location`, migrates it and returns the store. */
  static async open(location: PgliteLocation): Promise<PgliteEventStore> {
    // Loaded on demand: deployments on PostgreSQL or KurrentDB never pay for the WebAssembly module.
    const { PGlite } = await import('@electric-sql/pglite');
    let db: PGlite;
    try {
      if (location.kind === 'memory') {
        db = await PGlite.create();
      } else {
        const dir = path.resolve(location.path);
        fs.mkdirSync(dir, { recursive: true });
        db = await PGlite.create(dir);
      }
    } catch (error) {
      throw translateSqlError(error, `open PGlite event store`);
    }
    const driver = new QueuedPgliteDriver(db);
    try {
      await SqlEventStore.migrate(driver);
      // This process owns the directory now: leases still held are a crashed process's.
      await driver.query(SQL.releaseLeases);
    } catch (error) {
      await driver.close().catch(() => undefined);
      throw translateSqlError(error, `open PGlite event store`);
    }
    return new PgliteEventStore(driver);
  }
}
