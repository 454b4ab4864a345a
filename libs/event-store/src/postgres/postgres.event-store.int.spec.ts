import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../../test/support/infra';
import { EventStoreError, EventStoreUnavailableError } from '../event-store.errors';
import { createEventStore } from '../event-store.factory';
import type { EventStore, NewEvent, RecordedEvent } from '../event-store.port';
import { SCHEMA_VERSION, SQL } from '../sql/event-store.sql';
import { describeEventStoreConformance } from '../testing/event-store.conformance';

describeEventStoreConformance(
  'PostgreSQL event store',
  async () => {
    const db = await createTestDatabase('es');
    return { open: () => createEventStore(db.url), destroy: db.drop };
  },
  { uniqueEventIds: true },
);

function event(type: string): NewEvent {
  return { id: randomUUID(), type, data: { type }, metadata: {} };
}

async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('PostgreSQL event store specifics', () => {
  let db: { url: string; drop: () => Promise<void> };
  let store: EventStore;
  let admin: Client;
  let holder: Client;

  beforeAll(async () => {
    db = await createTestDatabase('es_pg');
    store = await createEventStore(db.url);
    admin = new Client({ connectionString: db.url });
    holder = new Client({ connectionString: db.url });
    await Promise.all([admin.connect(), holder.connect()]);
  });

  afterAll(async () => {
    await store?.close();
    await Promise.all([admin?.end(), holder?.end()]);
    await db?.drop();
  });

  /**
   * Makes appends to `stream` stop inside their transaction, after their event row is inserted,
   * until `holder` releases advisory lock `key`. Every append also records the timeouts of the
   * session that runs it (rolled back with it, so only committed appends leave a record).
   */
  async function holdAppendsTo(stream: string, key: number): Promise<() => Promise<void>> {
    const fn = `hold_${key}`;
    await admin.query(`CREATE TABLE IF NOT EXISTS public.append_sessions (stream_id text, statement_timeout text, idle_timeout text)`);
    await admin.query(`
      CREATE FUNCTION public.${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO public.append_sessions VALUES (NEW.stream_id, current_setting('statement_timeout'),
          current_setting('idle_in_transaction_session_timeout'));
        IF NEW.stream_id = '${stream}' THEN
          PERFORM pg_advisory_xact_lock(${key});
        END IF;
        RETURN NEW;
      END $$`);
    await admin.query(`CREATE TRIGGER ${fn} AFTER INSERT ON event_store.events FOR EACH ROW EXECUTE FUNCTION public.${fn}()`);
    await holder.query('SELECT pg_advisory_lock($1)', [key]);
    return async () => {
      await holder.query('SELECT pg_advisory_unlock($1)', [key]);
      await admin.query(`DROP TRIGGER ${fn} ON event_store.events`);
      await admin.query(`DROP FUNCTION public.${fn}()`);
    };
  }

  async function waitersOnAdvisoryLock(): Promise<number> {
    const result = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks
       WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    return result.rows[0]!.n;
  }

  it('a subscriber never skips an event whose transaction commits after a later event became visible', async () => {
    const prefix = `late-${randomUUID().slice(0, 8)}-`;
    const streamA = `${prefix}a`;
    const streamB = `${prefix}b`;
    const release = await holdAppendsTo(streamA, 4201);
    const seen: RecordedEvent[] = [];
    const subscription = store.subscribe(`${prefix}sub`, {
      filter: { streamPrefix: prefix },
      pollIntervalMs: 10,
      handler: (e) => {
        seen.push(e);
      },
    });
    try {
      // Transaction A: takes its transaction id and position, inserts its event, then stays open.
      const appendA = store.appendToStream(streamA, [event('A')], { expectedRevision: 'no_stream' });
      await eventually(async () => (await waitersOnAdvisoryLock()) === 1, 'transaction A to be held open');
      // Transaction B: appends and commits while A is still open.
      const b = await store.appendToStream(streamB, [event('B')], { expectedRevision: 'no_stream' });

      // B is committed and A is not: a reader paging by position alone would now pass A's position.
      const committed = await admin.query<{ stream_id: string }>(
        `SELECT stream_id FROM event_store.events WHERE starts_with(stream_id, $1) ORDER BY position`,
        [prefix],
      );
      expect(committed.rows.map((row) => row.stream_id)).toEqual([streamB]);
      await new Promise((resolve) => setTimeout(resolve, 300)); // many poll rounds
      expect(seen).toEqual([]); // B waits behind A's open transaction instead of overtaking it
      expect(await store.readAll({ filter: { streamPrefix: prefix } })).toEqual([]);

      await holder.query('SELECT pg_advisory_unlock($1)', [4201]);
      const a = await appendA;
      expect(a.position).toBeLessThan(b.position); // A took the lower position but committed last
      await eventually(() => seen.length >= 2, 'both events');
      await subscription.stop();
      expect(seen.map((e) => e.streamId)).toEqual([streamA, streamB]);
      expect((await store.readAll({ filter: { streamPrefix: prefix } })).map((e) => e.streamId)).toEqual([streamA, streamB]);
    } finally {
      await subscription.stop();
      await release();
    }
  });

  it('sets statement and idle-in-transaction timeouts on its connections; a stuck append fails as unavailable', async () => {
    const short = await createEventStore(db.url, { postgres: { statementTimeoutMs: 300, idleInTransactionTimeoutMs: 4_000 } });
    const stream = `stuck-${randomUUID().slice(0, 8)}`;
    const release = await holdAppendsTo(stream, 4202);
    try {
      await short.appendToStream(`${stream}-ok`, [event('A')], { expectedRevision: 'any' });
      const sessions = await admin.query(`SELECT statement_timeout, idle_timeout FROM public.append_sessions WHERE stream_id = $1`, [
        `${stream}-ok`,
      ]);
      expect(sessions.rows).toEqual([{ statement_timeout: '300ms', idle_timeout: '4s' }]);

      const started = Date.now();
      const error = await short.appendToStream(stream, [event('A')], { expectedRevision: 'any' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EventStoreUnavailableError);
      expect((error as Error).message).toMatch(/57014/);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(await store.readStream(stream)).toEqual([]);
    } finally {
      await release();
      await short.close();
    }
  });

  it('concurrent starters migrate the schema exactly once', async () => {
    const fresh = await createTestDatabase('es_mig');
    try {
      const stores = await Promise.all(Array.from({ length: 5 }, () => createEventStore(fresh.url)));
      const client = new Client({ connectionString: fresh.url });
      await client.connect();
      try {
        const versions = await client.query<{ version: number }>(`SELECT version FROM event_store.schema_migrations ORDER BY version`);
        expect(versions.rows.map((row) => row.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
        // A database migrated by a newer build is refused, not misread.
        await client.query(`INSERT INTO event_store.schema_migrations (version, name) VALUES (999, 'from the future')`);
        const error = await createEventStore(fresh.url).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(EventStoreError);
        expect((error as Error).message).toMatch(/version 999, newer than this build/);
      } finally {
        await client.end();
        await Promise.all(stores.map((s) => s.close()));
      }
    } finally {
      await fresh.drop();
    }
  });

  it('an unreachable server is EventStoreUnavailableError, not a driver error', async () => {
    const error = await createEventStore('postgres://postgres@127.0.0.1:1/none', { postgres: { connectionTimeoutMs: 2_000 } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EventStoreUnavailableError);
  });
  it('reads the log by its log-order index alone, whatever the statistics say: a filtered poll near the head does not scan the streams index', async () => {
    // Statistics taken before the prefix's events exist, as on a young or fast-growing log (every
    // bench, a fresh deployment): they say the prefix is rare, which made the planner answer a
    // filtered poll by scanning every event of the prefix's streams in the (stream_id, event_id) index.
    const prefix = `plan-${randomUUID().slice(0, 8)}-`;
    await admin.query('ALTER TABLE event_store.events SET (autovacuum_enabled = off)');
    await admin.query('ANALYZE event_store.events');
    for (let s = 0; s < 40; s += 1) {
      await store.appendToStream(`${prefix}${s}`, Array.from({ length: 50 }, () => event(s % 2 === 0 ? 'PolicyEvaluated' : 'JobSubmitted')), { expectedRevision: 'no_stream' });
    }
    const head = await admin.query<{ tx_id: string; position: string }>(`SELECT tx_id::text, position::text FROM event_store.events ORDER BY tx_id DESC, position DESC OFFSET 30 LIMIT 1`);
    const near = head.rows[0]!;
    const explain = new Client({ connectionString: db.url });
    await explain.connect();
    try {
      await explain.query(`PREPARE read_log AS ${SQL.readLog}`);
      // Custom plans are what node-postgres' first executions and every unnamed statement get.
      await explain.query(`SET plan_cache_mode = force_custom_plan`);
      const indexes = new Set<string>();
      const collect = (node: unknown): void => {
        if (Array.isArray(node)) node.forEach(collect);
        else if (node && typeof node === 'object') {
          for (const [key, value] of Object.entries(node)) {
            if (key === 'Index Name' && typeof value === 'string') indexes.add(value);
            else collect(value);
          }
        }
      };
      for (const [tx, position] of [[near.tx_id, near.position], ['0', '0']]) {
        for (const filter of [`'${prefix}', ARRAY['PolicyEvaluated']`, `'${prefix}', NULL`, `NULL, ARRAY['PolicyEvaluated']`]) {
          const plan = await explain.query(`EXPLAIN (FORMAT JSON) EXECUTE read_log('${tx}', ${position}, ${filter}, 500, 4096)`);
          collect(plan.rows);
        }
      }
      expect([...indexes].filter((name) => name !== 'events_log_order_idx')).toEqual([]);
    } finally {
      await explain.end();
      await admin.query('ALTER TABLE event_store.events RESET (autovacuum_enabled)');
    }
  });
  it('a group-commit batch finds its streams by the primary key, not by a scan of every stream (its cost does not grow with the number of jobs)', async () => {
    const prefix = `heads-${randomUUID().slice(0, 8)}-`;
    for (let round = 0; round < 6; round += 1) {
      await store.appendToStreams(Array.from({ length: 500 }, (_, i) => ({ stream: `${prefix}${round}-${i}`, events: [event('JobSubmitted')], expectedRevision: 'no_stream' as const })));
    }
    await admin.query('ANALYZE event_store.streams');
    const entries = Array.from({ length: 14 }, (_, i) => ({ s: `${prefix}0-${i}`, x: '0', m: false, e: [{ id: randomUUID(), type: 'JobApproved', data: {}, metadata: {} }] }));
    const explain = new Client({ connectionString: db.url });
    await explain.connect();
    try {
      await explain.query('BEGIN');
      const plan = await explain.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${SQL.appendBatch}`, [JSON.stringify(entries)]);
      await explain.query('ROLLBACK');
      const scans: string[] = [];
      const collect = (node: unknown): void => {
        if (Array.isArray(node)) node.forEach(collect);
        else if (node && typeof node === 'object') {
          const n = node as Record<string, unknown>;
          if (n['Relation Name'] === 'streams' && typeof n['Node Type'] === 'string') scans.push(n['Node Type']);
          Object.values(n).forEach(collect);
        }
      };
      collect(plan.rows);
      expect(scans.length).toBeGreaterThan(0);
      expect(scans.filter((type) => type === 'Seq Scan')).toEqual([]);
    } finally {
      await explain.end();
    }
  });
});
