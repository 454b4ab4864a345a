/**
 * The little the SQL event store needs from a database driver, so node-postgres and PGlite can
 * run the same SQL and the same store code.
 */

export interface SqlResult<R> {
  readonly rows: R[];
  /** Rows inserted, updated or deleted by the statement. */
  readonly rowCount: number;
}

/** A connection (or a transaction on one) that runs statements. */
export interface SqlSession {
  /**
   * One statement with `$n` parameters. `prepared`: a hot statement worth parsing and planning
   * once per connection (drivers without named statements ignore it).
   */
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[], prepared?: boolean): Promise<SqlResult<R>>;
  /** Several statements without parameters (migrations). */
  exec(text: string): Promise<void>;
}

/** A database: statements outside a transaction, transactions, and shutdown. */
export interface SqlDriver extends SqlSession {
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it rejects. */
  transaction<T>(work: (session: SqlSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
