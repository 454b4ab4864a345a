/**
 * The one copy of the event store's SQL, run unchanged by the PostgreSQL (node-postgres) and the
 * PGlite adapters. Everything lives in the `event_store` schema so the store can share a database
 * with other tables.
 *
 * Global order. Every row records the writing transaction (`tx_id`, `pg_current_xact_id()`) and
 * a `position` (bigserial). Positions are taken when a row is inserted, not when its transaction
 * commits, so a reader that paged by position alone would skip an event whose transaction
 * committed after a later position became visible. Readers therefore take only rows whose
 * transaction is older than the oldest transaction still running (`tx_id <
 * pg_snapshot_xmin(pg_current_snapshot())`: every such transaction has finished, nothing can
 * still appear below that line) and order them by `(tx_id, position)`. A reader's cursor is that
 * pair; subscriptions checkpoint it.
 */

/** A migration: applied once, in version order, inside the migration transaction. */
export interface SqlMigration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** Key of the transaction-scoped advisory lock that serialises concurrent starters' migrations ("SIGNOFF" in ASCII). */
export const MIGRATION_LOCK_KEY = 0x5349474e4f4646n;

export const MIGRATIONS: readonly SqlMigration[] = [
  {
    version: 1,
    name: 'events, streams and subscription checkpoints',
    sql: `
      CREATE TABLE event_store.streams (
        stream_id text PRIMARY KEY,
        -- Revision of the stream's last event. Appenders lock this row, which serialises them per stream.
        revision bigint NOT NULL CHECK (revision >= 0)
      );
      CREATE TABLE event_store.events (
        position bigserial PRIMARY KEY,
        tx_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
        stream_id text NOT NULL,
        revision bigint NOT NULL CHECK (revision >= 0),
        event_id uuid NOT NULL,
        type text NOT NULL,
        data jsonb NOT NULL,
        metadata jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT events_stream_revision_key UNIQUE (stream_id, revision),
        CONSTRAINT events_stream_event_id_key UNIQUE (stream_id, event_id)
      );
      -- The global log order.
      CREATE INDEX events_log_order_idx ON event_store.events (tx_id, position);
      CREATE TABLE event_store.subscriptions (
        name text PRIMARY KEY,
        -- The cursor (tx_id, position): every matching event at or before it was handled.
        tx_id xid8 NOT NULL,
        position bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    version: 2,
    name: 'subscription leases: one active instance per subscription name',
    sql: `
      -- The lease of a durable subscription lives in its checkpoint row, so that every write of
      -- it (checkpoint or heartbeat) is one compare-and-set on lease_version: a deposed owner can
      -- never move the checkpoint. The cursor is null while the lease is held before anything
      -- was handled. Existing rows start released (owner null): the first instance takes them.
      ALTER TABLE event_store.subscriptions
        ALTER COLUMN tx_id DROP NOT NULL,
        ALTER COLUMN position DROP NOT NULL,
        ADD COLUMN owner text,
        ADD COLUMN lease_version bigint NOT NULL DEFAULT 0;
    `,
  },
];

/** The schema version this build expects. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

// created_at travels as epoch milliseconds: building a Date from a number is far cheaper than
// parsing timestamp text, and it is a large share of the cost of reading the log.
const EVENT_COLUMNS = `e.position, e.tx_id::text AS tx_id, e.stream_id, e.revision, e.event_id::text AS event_id,
  e.type, e.data, e.metadata, (extract(epoch FROM e.created_at) * 1000)::float8 AS created_ms`;

export const SQL = {
  lockMigrations: `SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`,
  createMigrationTable: `
    CREATE SCHEMA IF NOT EXISTS event_store;
    CREATE TABLE IF NOT EXISTS event_store.schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    );`,
  appliedMigrations: `SELECT version FROM event_store.schema_migrations ORDER BY version`,
  recordMigration: `INSERT INTO event_store.schema_migrations (version, name) VALUES ($1, $2)`,

  /** $1 stream. Waits for a concurrent appender of the same stream; no row: no such stream. */
  lockStream: `SELECT revision FROM event_store.streams WHERE stream_id = $1 FOR UPDATE`,
  /**
   * $1 stream, $2 uuid[]: the committed head (no lock) and whether any id of the batch is stored,
   * the lock-free pre-check of a failed append.
   */
  peekStream: `SELECT (SELECT revision FROM event_store.streams WHERE stream_id = $1) AS revision,
    EXISTS (SELECT 1 FROM event_store.events WHERE stream_id = $1 AND event_id = ANY($2::uuid[])) AS has_ids`,
  /** $1 stream, $2 uuid[]: which ids of a batch the stream already holds. */
  findEventIds: `SELECT event_id::text AS id, revision, position FROM event_store.events
    WHERE stream_id = $1 AND event_id = ANY($2::uuid[])`,
  /**
   * The append, in one statement (one round trip, the stream lock held only while it runs):
   * lock the stream's head row, check it against the expectation ($2 exact current revision,
   * -1 for no stream, null for any; $3 the stream must exist), and only then insert $4 (a jsonb
   * array of {id, type, data, metadata}) with the next revisions and move the head.
   * `next_revision` is null when the expectation did not hold (nothing was written). A concurrent
   * creator of the same new stream makes it fail on a unique key instead (never both win).
   */
  appendEvents: `
    WITH head AS (
      SELECT revision FROM event_store.streams WHERE stream_id = $1 FOR UPDATE
    ), current_head AS (
      SELECT coalesce((SELECT revision FROM head), -1) AS revision
    ), allowed AS (
      SELECT revision FROM current_head
      WHERE ($2::bigint IS NULL OR revision = $2::bigint) AND (NOT $3::boolean OR revision >= 0)
    ), appended AS (
      INSERT INTO event_store.events (stream_id, revision, event_id, type, data, metadata)
      SELECT $1, allowed.revision + e.ord, (e.value->>'id')::uuid, e.value->>'type', e.value->'data', e.value->'metadata'
      FROM allowed, jsonb_array_elements($4::jsonb) WITH ORDINALITY AS e(value, ord)
      ORDER BY e.ord
      RETURNING position, revision
    ), moved AS (
      INSERT INTO event_store.streams (stream_id, revision)
      SELECT $1, max(revision) FROM appended HAVING count(*) > 0
      ON CONFLICT (stream_id) DO UPDATE SET revision = EXCLUDED.revision
    )
    SELECT (SELECT max(revision) FROM appended) AS next_revision, (SELECT max(position) FROM appended) AS position`,
  /**
   * Group commit: the appends of several distinct streams in one statement, one transaction.
   * $1 is a jsonb array of {s: stream, x: exact revision as text (-1 for no stream, null for any),
   * m: the stream must exist, e: [{id, type, data, metadata}]}. Each entry is checked against its
   * own locked head exactly as `appendEvents` checks one; the heads are locked in stream order (two
   * batches never wait on each other in a cycle). Events get global positions in entry order and,
   * within an entry, in event order. One row per entry, in entry order (`i`, from 1):
   * `next_revision` null when its condition did not hold (nothing of it was written).
   */
  appendBatch: `
    WITH input AS MATERIALIZED (
      SELECT b.i, b.value->>'s' AS stream_id, (b.value->>'x')::bigint AS exact, (b.value->>'m')::boolean AS must_exist, b.value->'e' AS events
      FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS b(value, i)
    ), head AS MATERIALIZED (
      -- "= ANY(ARRAY(...))", not "IN (SELECT ...)": the planner takes a function's output for 100
      -- rows, and against a streams table of a few thousand rows it chose a hash join over a
      -- sequential scan of every stream, per batch (a batch's cost grew with the number of jobs).
      SELECT s.stream_id, s.revision FROM event_store.streams s
      WHERE s.stream_id = ANY(ARRAY(SELECT stream_id FROM input))
      ORDER BY s.stream_id
      FOR UPDATE
    ), allowed AS MATERIALIZED (
      SELECT input.i, input.stream_id, coalesce(head.revision, -1) AS revision, input.events
      FROM input LEFT JOIN head ON head.stream_id = input.stream_id
      WHERE (input.exact IS NULL OR coalesce(head.revision, -1) = input.exact) AND (NOT input.must_exist OR head.revision IS NOT NULL)
    ), appended AS (
      INSERT INTO event_store.events (stream_id, revision, event_id, type, data, metadata)
      SELECT a.stream_id, a.revision + e.ord, (e.value->>'id')::uuid, e.value->>'type', e.value->'data', e.value->'metadata'
      FROM allowed a, jsonb_array_elements(a.events) WITH ORDINALITY AS e(value, ord)
      ORDER BY a.i, e.ord
      RETURNING stream_id, position, revision
    ), results AS MATERIALIZED (
      SELECT stream_id, max(revision) AS next_revision, max(position) AS position FROM appended GROUP BY stream_id
    ), moved AS (
      INSERT INTO event_store.streams (stream_id, revision)
      SELECT stream_id, next_revision FROM results
      ON CONFLICT (stream_id) DO UPDATE SET revision = EXCLUDED.revision
    )
    SELECT input.i, results.next_revision, results.position
    FROM input LEFT JOIN results ON results.stream_id = input.stream_id
    ORDER BY input.i`,
  /** $1 text[] streams: their events, each stream forwards. */
  readStreamsForwards: `SELECT ${EVENT_COLUMNS} FROM event_store.events e
    WHERE e.stream_id = ANY($1::text[]) ORDER BY e.stream_id, e.revision ASC`,
  /** $1 stream: its last event (for an empty append). */
  streamHead: `SELECT revision, position FROM event_store.events WHERE stream_id = $1 ORDER BY revision DESC LIMIT 1`,
  /** $1 stream, $2 first revision (inclusive), $3 limit (null: all). */
  readStreamForwards: `SELECT ${EVENT_COLUMNS} FROM event_store.events e
    WHERE e.stream_id = $1 AND e.revision >= $2::bigint ORDER BY e.revision ASC LIMIT $3`,
  /** $1 stream, $2 first revision (inclusive, going down), $3 limit (null: all). */
  readStreamBackwards: `SELECT ${EVENT_COLUMNS} FROM event_store.events e
    WHERE e.stream_id = $1 AND e.revision <= $2::bigint ORDER BY e.revision DESC LIMIT $3`,
  /** $1 position: the transaction of the event at that position. */
  txOfPosition: `SELECT tx_id::text AS tx_id FROM event_store.events WHERE position = $1::bigint`,
  /**
   * The global log after the cursor ($1 tx_id, $2 position; exclusive), only from finished
   * transactions: a window of at most $6 rows of the log in log order, and of those the ones that
   * match the optional $3 stream prefix and $4 event types, at most $5. Every row carries the
   * snapshot's xmin, how many rows the window scanned and the cursor of the last one (one row with
   * null event columns when nothing matched), so the reader knows whether it reached the visibility
   * line (`scanned < $6`) or must go on after the window.
   *
   * The window is read by the log-order index alone and the filters apply to it afterwards. Written
   * as one filtered scan, PostgreSQL's custom plans combined the prefix filter with the
   * (stream_id, event_id) index, a scan of every event of every matching stream on each call: a
   * subscription's poll cost grew with the size of the log.
   */
  readLog: `
    WITH snapshot AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin),
    scan AS MATERIALIZED (
      SELECT ev.position, ev.tx_id, ev.stream_id, ev.revision, ev.event_id, ev.type, ev.data, ev.metadata, ev.created_at
      FROM event_store.events ev
      WHERE ev.tx_id < (SELECT xmin FROM snapshot)
        AND (ev.tx_id, ev.position) > ($1::xid8, $2::bigint)
      ORDER BY ev.tx_id, ev.position
      LIMIT $6
    ), last AS (
      SELECT s.tx_id, s.position FROM scan s ORDER BY s.tx_id DESC, s.position DESC LIMIT 1
    ), summary AS (
      SELECT (SELECT xmin FROM snapshot)::text AS snapshot_xmin, (SELECT count(*)::int FROM scan) AS scanned,
        last.tx_id::text AS last_tx_id, last.position AS last_position
      FROM (SELECT 1) AS one LEFT JOIN last ON true
    )
    SELECT summary.snapshot_xmin, summary.scanned, summary.last_tx_id, summary.last_position, ${EVENT_COLUMNS}
    FROM summary
    LEFT JOIN LATERAL (
      SELECT * FROM scan m
      WHERE ($3::text IS NULL OR starts_with(m.stream_id, $3::text))
        AND ($4::text[] IS NULL OR m.type = ANY($4::text[]))
      ORDER BY m.tx_id, m.position
      LIMIT $5
    ) e ON true
    ORDER BY e.tx_id, e.position`,

  /**
   * Hands back every lease (PGlite at open: one process owns a data directory at a time, so a
   * lease still held is a dead process's, and a restart after a crash need not wait out its ttl).
   */
  releaseLeases: `UPDATE event_store.subscriptions SET owner = NULL, lease_version = lease_version + 1, updated_at = now()
    WHERE owner IS NOT NULL`,
  readCheckpoint: `SELECT tx_id::text AS tx_id, position, owner, lease_version::text AS lease_version
    FROM event_store.subscriptions WHERE name = $1`,
  /** $1 name, $2 tx_id, $3 position, $4 owner: the first record of a name (0 rows: someone was first). */
  insertCheckpoint: `INSERT INTO event_store.subscriptions (name, tx_id, position, owner, lease_version)
    VALUES ($1, $2::xid8, $3::bigint, $4, 1)
    ON CONFLICT (name) DO NOTHING RETURNING lease_version::text AS lease_version`,
  /**
   * Compare-and-set: $1 name, $2 the lease_version read before, $3/$4 the cursor read before (a
   * writer of an older build moves it without the version), $5/$6 the new cursor, $7 the new
   * owner (0 rows: the record changed).
   */
  updateCheckpoint: `UPDATE event_store.subscriptions
    SET tx_id = $5::xid8, position = $6::bigint, owner = $7, lease_version = lease_version + 1, updated_at = now()
    WHERE name = $1 AND lease_version = $2::bigint
      AND tx_id IS NOT DISTINCT FROM $3::xid8 AND position IS NOT DISTINCT FROM $4::bigint
    RETURNING lease_version::text AS lease_version`,
} as const;
