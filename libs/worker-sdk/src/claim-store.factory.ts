import fs from 'node:fs';
import path from 'node:path';
import { Pool } from 'pg';
import { ClaimStore } from './claim-store.port';
import { SqlClaimStore, SqlQueryable } from './sql-claim.store';

export interface OpenClaimStoreOptions {
  readonly tableName?: string;
  /** Pool size for a `postgres://` URL (default 4). */
  readonly maxConnections?: number;
}

/**
 * Opens the claim store a URL names, like EVENT_STORE_URL does for events:
 * - `postgres://…` / `postgresql://…`: a PostgreSQL server (shared by every worker instance);
 * - `pglite://memory` or `pglite://<dir>`: PGlite in this process (the standalone mode; one
 *   process per directory, and not the directory of the event store, which that store locks).
 * Or pass any {@link SqlQueryable} (a pg Pool, a pg Client, a PGlite instance) you already hold:
 * it is not closed by the store.
 */
export async function openClaimStore(target: string | SqlQueryable, options: OpenClaimStoreOptions = {}): Promise<ClaimStore> {
  if (typeof target !== 'string') {
    const store = new SqlClaimStore(target, { tableName: options.tableName });
    await store.migrate();
    return store;
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(target)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') {
    const pool = new Pool({ connectionString: target, max: options.maxConnections ?? 4 });
    // An idle connection dropped by the server must not crash the worker.
    pool.on('error', () => undefined);
    const store = new SqlClaimStore(pool, { tableName: options.tableName, onClose: () => pool.end() });
    try {
      await store.migrate();
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    return store;
  }
  if (scheme === 'pglite') {
    const rest = target.slice('pglite://'.length);
    if (rest === '') throw new Error('pglite:// needs a directory (pglite://./.signoff/worker) or "memory"');
    const { PGlite } = await import('@electric-sql/pglite');
    let db: InstanceType<typeof PGlite>;
    if (rest === 'memory') db = await PGlite.create();
    else {
      const dir = path.resolve(rest);
      fs.mkdirSync(dir, { recursive: true });
      db = await PGlite.create(dir);
    }
    const store = new SqlClaimStore(db as unknown as SqlQueryable, { tableName: options.tableName, onClose: () => db.close() });
    await store.migrate();
    return store;
  }
  throw new Error(`unsupported claim store URL ${scheme ? `scheme "${scheme}://"` : '(no scheme)'}; use postgres://… or pglite://<dir>|memory`);
}
