import type { SqlDriver } from '../sql/sql.driver';
import { translateSqlError } from '../sql/sql.errors';
import { AuditTreeDivergedError, AuditTreeStore, type AuditLeaf, type StoredTreeHead } from './audit-tree.store';

/** Key of the advisory lock that serialises creating the `audit_log` schema ("AUDITLOG"). */
const AUDIT_SCHEMA_LOCK_KEY = 0x41554449544c4f47n;

/**
 * The audit tree's tables, kept apart from `event_store` (own schema, own creation) so the event
 * store's migrations stay as they are. Leaves and heads are only ever inserted.
 */
const AUDIT_SCHEMA = `
  CREATE SCHEMA IF NOT EXISTS audit_log;
  CREATE TABLE IF NOT EXISTS audit_log.leaves (
    leaf_index bigint PRIMARY KEY CHECK (leaf_index >= 0),
    stream_id text NOT NULL,
    event_id uuid NOT NULL,
    position bigint NOT NULL,
    tenant text,
    leaf_hash bytea NOT NULL CHECK (length(leaf_hash) = 32)
  );
  CREATE INDEX IF NOT EXISTS leaves_event_id_idx ON audit_log.leaves (event_id);
  CREATE TABLE IF NOT EXISTS audit_log.tree_heads (
    tree_size bigint PRIMARY KEY CHECK (tree_size >= 0),
    root_hash bytea NOT NULL CHECK (length(root_hash) = 32),
    timestamp_ms bigint NOT NULL,
    key_id text NOT NULL,
    signature text NOT NULL
  );`;

const LEAF_COLUMNS = `leaf_index, stream_id, event_id::text AS event_id, position, tenant, encode(leaf_hash, 'hex') AS leaf_hash`;
const HEAD_COLUMNS = `tree_size, encode(root_hash, 'hex') AS root_hash, timestamp_ms, key_id, signature`;

interface LeafRow {
  leaf_index: string | number;
  stream_id: string;
  event_id: string;
  position: string | number;
  tenant: string | null;
  leaf_hash: string;
}
interface HeadRow {
  tree_size: string | number;
  root_hash: string;
  timestamp_ms: string | number;
  key_id: string;
  signature: string;
}

const toLeaf = (row: LeafRow): AuditLeaf => ({
  leaf_index: Number(row.leaf_index),
  stream_id: row.stream_id,
  event_id: row.event_id,
  position: BigInt(row.position),
  tenant: row.tenant,
  leaf_hash: row.leaf_hash,
});
const toHead = (row: HeadRow): StoredTreeHead => ({
  tree_size: Number(row.tree_size),
  root_hash: row.root_hash,
  timestamp: Number(row.timestamp_ms),
  key_id: row.key_id,
  signature: row.signature,
});
const sameLeaf = (a: AuditLeaf, b: AuditLeaf): boolean =>
  a.leaf_index === b.leaf_index && a.stream_id === b.stream_id && a.event_id === b.event_id && a.leaf_hash === b.leaf_hash;

/** {@link AuditTreeStore} on the SQL event store's connection (PostgreSQL pool or PGlite). */
export class SqlAuditTreeStore extends AuditTreeStore {
  constructor(private readonly driver: SqlDriver) {
    super();
  }

  private async run<T>(doing: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof AuditTreeDivergedError) throw error;
      throw translateSqlError(error, doing);
    }
  }

  migrate(): Promise<void> {
    return this.run('create the audit_log schema', () =>
      this.driver.transaction(async (session) => {
        await session.query(`SELECT pg_advisory_xact_lock(${AUDIT_SCHEMA_LOCK_KEY})`);
        await session.exec(AUDIT_SCHEMA);
      }),
    );
  }

  readLeaves(fromIndex: number, limit: number): Promise<AuditLeaf[]> {
    return this.run('read audit leaves', async () => {
      const result = await this.driver.query<LeafRow>(`SELECT ${LEAF_COLUMNS} FROM audit_log.leaves WHERE leaf_index >= $1 ORDER BY leaf_index LIMIT $2`, [fromIndex, limit], true);
      return result.rows.map(toLeaf);
    });
  }

  appendLeaves(leaves: readonly AuditLeaf[]): Promise<void> {
    if (leaves.length === 0) return Promise.resolve();
    return this.run('append audit leaves', async () => {
      const json = JSON.stringify(leaves.map((l) => ({ ...l, position: l.position.toString() })));
      const inserted = await this.driver.query(
        `INSERT INTO audit_log.leaves (leaf_index, stream_id, event_id, position, tenant, leaf_hash)
         SELECT (l->>'leaf_index')::bigint, l->>'stream_id', (l->>'event_id')::uuid, (l->>'position')::bigint, l->>'tenant', decode(l->>'leaf_hash', 'hex')
         FROM jsonb_array_elements($1::jsonb) AS l
         ON CONFLICT (leaf_index) DO NOTHING`,
        [json],
        true,
      );
      if (inserted.rowCount === leaves.length) return;
      // Some indexes were stored already (another instance, or a repeat): they must hold the same leaves.
      const stored = await this.readLeaves(leaves[0]!.leaf_index, leaves.length);
      for (const leaf of leaves) {
        const existing = stored.find((s) => s.leaf_index === leaf.leaf_index);
        if (!existing || !sameLeaf(existing, leaf)) throw new AuditTreeDivergedError(leaf.leaf_index);
      }
    });
  }

  findLeaves(eventId: string): Promise<AuditLeaf[]> {
    return this.run('find audit leaves', async () => {
      const result = await this.driver.query<LeafRow>(`SELECT ${LEAF_COLUMNS} FROM audit_log.leaves WHERE event_id = $1::uuid ORDER BY leaf_index`, [eventId], true);
      return result.rows.map(toLeaf);
    });
  }

  appendHead(head: StoredTreeHead): Promise<void> {
    return this.run('append a tree head', async () => {
      await this.driver.query(
        `INSERT INTO audit_log.tree_heads (tree_size, root_hash, timestamp_ms, key_id, signature)
         VALUES ($1, decode($2, 'hex'), $3, $4, $5) ON CONFLICT (tree_size) DO NOTHING`,
        [head.tree_size, head.root_hash, head.timestamp, head.key_id, head.signature],
      );
    });
  }

  latestHead(): Promise<StoredTreeHead | null> {
    return this.run('read the latest tree head', async () => {
      const result = await this.driver.query<HeadRow>(`SELECT ${HEAD_COLUMNS} FROM audit_log.tree_heads ORDER BY tree_size DESC LIMIT 1`, [], true);
      return result.rows[0] ? toHead(result.rows[0]) : null;
    });
  }

  readHeads(fromSize: number, limit: number): Promise<StoredTreeHead[]> {
    return this.run('read tree heads', async () => {
      const result = await this.driver.query<HeadRow>(`SELECT ${HEAD_COLUMNS} FROM audit_log.tree_heads WHERE tree_size >= $1 ORDER BY tree_size LIMIT $2`, [fromSize, limit]);
      return result.rows.map(toHead);
    });
  }

  headCovering(size: number): Promise<StoredTreeHead | null> {
    return this.run('read a tree head', async () => {
      const result = await this.driver.query<HeadRow>(`SELECT ${HEAD_COLUMNS} FROM audit_log.tree_heads WHERE tree_size >= $1 ORDER BY tree_size LIMIT 1`, [size], true);
      return result.rows[0] ? toHead(result.rows[0]) : null;
    });
  }

  eventsAfter(position: bigint | null, cap: number): Promise<number> {
    return this.run('measure the audit tree lag', async () => {
      const result =
        position === null
          ? await this.driver.query<{ n: string | number }>(`SELECT count(*) AS n FROM (SELECT 1 FROM event_store.events LIMIT $1) t`, [cap])
          : await this.driver.query<{ n: string | number }>(
              `SELECT count(*) AS n FROM (
                 SELECT 1 FROM event_store.events e, (SELECT tx_id FROM event_store.events WHERE position = $1::bigint) last
                 WHERE (e.tx_id, e.position) > (last.tx_id, $1::bigint) LIMIT $2) t`,
              [position.toString(), cap],
            );
      return Number(result.rows[0]?.n ?? 0);
    });
  }
}
