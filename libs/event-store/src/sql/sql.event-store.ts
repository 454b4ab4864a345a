import {
  classifyRepeat,
  expectationHolds,
  headCondition,
  validateEvents,
  type HeadCondition,
  validateExpectedRevision,
  validateReadAllOptions,
  validateReadStreamOptions,
  validateStreamId,
  type StoredEventRef,
  type ValidEvent,
} from '../event-store.rules';
import { CatchUpEventStore } from '../catch-up.event-store';
import { type CatchUpBatch, type CatchUpSource, type CheckpointWrite, type StoredCheckpoint } from '../catch-up.subscription';
import {
  DuplicateEventIdError,
  EventStoreArgumentError,
  EventStoreClosedError,
  EventStoreError,
  WrongExpectedVersionError,
} from '../event-store.errors';
import {
  type AllFilter,
  type AppendOptions,
  type AppendResult,
  type CurrentRevision,
  type EventData,
  type ExpectedRevision,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type StreamAppend,
  type StreamAppendOutcome,
} from '../event-store.port';
import { MIGRATIONS, SCHEMA_VERSION, SQL } from './event-store.sql';
import type { SqlDriver, SqlSession } from './sql.driver';
import { AppendBatcher, type AppendBatcherOptions, type BatchedAppend } from './append-batcher';
import { ReadCoalescer } from './read-coalescer';
import { isUniqueViolation, translateSqlError } from './sql.errors';
import type { AuditTreeStore } from '../audit-tree/audit-tree.store';
import { SqlAuditTreeStore } from '../audit-tree/sql.audit-tree.store';

/**
 * A place in the SQL global log: the writing transaction and the event's position. The log is
 * ordered by `(txId, position)`; a cursor means "everything up to and including this".
 */
export interface LogCursor {
  readonly txId: bigint;
  readonly position: bigint;
}

/** Before the first event. */
export const LOG_START: LogCursor = { txId: 0n, position: 0n };

/** Orders cursors as the global log does: by transaction, then position. */
export function compareLogCursors(a: LogCursor, b: LogCursor): number {
  if (a.txId !== b.txId) return a.txId < b.txId ? -1 : 1;
  if (a.position !== b.position) return a.position < b.position ? -1 : 1;
  return 0;
}

/** A row of {@link SQL.readLog}: the window's summary, and a matching event or nulls. */
interface LogRow extends Omit<EventRow, 'position'> {
  readonly position: EventRow['position'] | null;
  readonly snapshot_xmin: string;
  readonly scanned: number | string;
  readonly last_tx_id: string | null;
  readonly last_position: string | number | null;
}

interface EventRow {
  readonly position: string | number | bigint;
  readonly tx_id: string;
  readonly stream_id: string;
  readonly revision: string | number | bigint;
  readonly event_id: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly created_ms: number | string;
}

function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    id: row.event_id,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    streamId: row.stream_id,
    revision: BigInt(row.revision),
    position: BigInt(row.position),
    createdAt: new Date(Number(row.created_ms)),
  };
}

/** Retries of an append whose transaction lost a race on a unique key (the retry sees the winner). */
const APPEND_ATTEMPTS = 4;
/** Page size of readAll without maxCount. */
const READ_ALL_PAGE = 5_000;
/** Rows of the log one statement of a filtered read scans (see {@link SQL.readLog}). */
export const DEFAULT_LOG_SCAN_WINDOW = 4096;

/**
 * The event store on PostgreSQL SQL, shared by the PostgreSQL and PGlite adapters: they differ
 * only in the driver (pool vs. one in-process connection behind a queue).
 */
export class SqlEventStore extends CatchUpEventStore<LogCursor> {
  protected readonly source: CatchUpSource<LogCursor>;
  private auditTreeStore: AuditTreeStore | null = null;

  /** Group commit of concurrent appends (null: every append is its own statement). */
  private readonly batcher: AppendBatcher | null;
  /** Coalescing of concurrent whole-stream reads, on whenever group commit is (null: off). */
  private readonly reads: ReadCoalescer<EventRow[]> | null;

  /**
   * `groupCommit`: batch concurrent appends to distinct streams into one statement (see
   * {@link AppendBatcher}). `logScanWindow`: rows of the log one statement of a filtered read scans.
   */
  protected constructor(
    private readonly driver: SqlDriver,
    groupCommit: AppendBatcherOptions | null = null,
    private readonly logScanWindow: number = DEFAULT_LOG_SCAN_WINDOW,
  ) {
    super();
    this.batcher =
      groupCommit === null
        ? null
        : new AppendBatcher({ batch: (entries) => this.appendBatch(entries), one: (entry) => this.appendIfExpected(this.driver, entry.stream, entry.condition, entry.json) }, groupCommit);
    this.reads =
      groupCommit === null
        ? null
        : new ReadCoalescer<EventRow[]>(
            {
              many: async (streams) => this.groupRows(streams, (await this.driver.query<EventRow>(SQL.readStreamsForwards, [[...streams]], true)).rows),
              one: async (stream) => (await this.driver.query<EventRow>(SQL.readStreamForwards, [stream, '0', null], true)).rows,
            },
            { maxBatches: groupCommit.maxBatches, maxStreams: groupCommit.maxAppends },
          );
    this.source = {
      readCheckpoint: (name) => this.guard('read checkpoint', () => this.readCheckpoint(name)),
      writeCheckpoint: (name, previous, next) => this.guard('write checkpoint', () => this.writeCheckpoint(name, previous, next)),
      readBatch: (after, filter, limit) => this.guard('read log', () => this.readLog(after ?? LOG_START, filter, limit)),
      compare: compareLogCursors,
    };
  }

  /**
   * Brings the schema to this build's version. Concurrent starters serialise on an advisory lock
   * inside the migration transaction, so exactly one applies each migration. A database migrated
   * by a newer build is refused rather than misread.
   */
  protected static async migrate(driver: SqlDriver): Promise<void> {
    await driver.transaction(async (session) => {
      await session.query(SQL.lockMigrations);
      await session.exec(SQL.createMigrationTable);
      const applied = new Set(
        (await session.query<{ version: number }>(SQL.appliedMigrations)).rows.map((row) => Number(row.version)),
      );
      const newest = Math.max(0, ...applied);
      if (newest > SCHEMA_VERSION) {
        throw new EventStoreError(
          'store_failure',
          `The event_store schema is at version ${newest}, newer than this build understands (${SCHEMA_VERSION}); upgrade Signoff`,
        );
      }
      for (const migration of MIGRATIONS) {
        if (applied.has(migration.version)) continue;
        await session.exec(migration.sql);
        await session.query(SQL.recordMigration, [migration.version, migration.name]);
      }
    });
  }

  /**
   * Runs `work`, translating whatever the driver throws. Subscriptions still store their last
   * checkpoint while close() stops them, so only a closed driver refuses here.
   */
  private async guard<T>(doing: string, work: () => Promise<T>): Promise<T> {
    if (this.closed) throw new EventStoreClosedError();
    try {
      return await work();
    } catch (error) {
      if (this.closed && !(error instanceof EventStoreError)) throw new EventStoreClosedError();
      throw translateSqlError(error, doing);
    }
  }

  async appendToStream<E extends EventData>(
    stream: string,
    events: readonly NewEvent<E>[],
    options: AppendOptions,
  ): Promise<AppendResult> {
    this.assertOpen();
    validateStreamId(stream);
    const expected = validateExpectedRevision(options?.expectedRevision);
    const batch = validateEvents(events);
    if (batch.length === 0) return this.guard('append', () => this.appendNothing(stream, expected));
    const result = await this.guard('append', async () => {
      const json = JSON.stringify(batch);
      for (let attempt = 1; ; attempt += 1) {
        try {
          if (attempt === 1) {
            // The common case in one round trip (shared with concurrent appends when batched):
            // the expectation holds and the ids are new.
            const fast = await this.appendFast(stream, expected, batch, json);
            if (fast !== null) return fast;
          }
          // The expectation did not hold, or a concurrent writer won a race on a unique key.
          // Lock-free pre-check first: a committed head that contradicts the expectation, with none
          // of these ids stored, is a certain conflict (heads only move forward), so contended
          // losers do not queue on the stream lock a second time.
          const peek = await this.driver.query<{ revision: string | null; has_ids: boolean }>(SQL.peekStream, [stream, batch.map((event) => event.id)]);
          const head: CurrentRevision = peek.rows[0]?.revision != null ? BigInt(peek.rows[0].revision) : 'no_stream';
          if (!peek.rows[0]?.has_ids && !expectationHolds(expected, head)) throw new WrongExpectedVersionError(stream, expected, head);
          // Otherwise decide carefully (repeat, conflict or append) under the stream lock.
          return await this.driver.transaction((session) => this.appendCarefully(session, stream, batch, expected, json));
        } catch (error) {
          // The next attempt sees the winner's committed rows and decides accordingly.
          if (isUniqueViolation(error) && attempt < APPEND_ATTEMPTS) continue;
          throw error;
        }
      }
    });
    this.notifySubscriptions();
    return result;
  }

  /**
   * The first try of an append: one statement, alone or in a group commit. Null when the
   * expectation did not hold (nothing written); a certain conflict (an append just before it,
   * expecting the same head, was written) throws at once.
   */
  private async appendFast(stream: string, expected: ExpectedRevision, batch: readonly ValidEvent[], json: string): Promise<AppendResult | null> {
    const condition = headCondition(expected);
    if (this.batcher === null) return this.appendIfExpected(this.driver, stream, condition, json);
    const outcome = await this.batcher.append({ stream, condition, ids: batch.map((event) => event.id), json });
    switch (outcome.kind) {
      case 'appended':
        return outcome.result;
      case 'unmet':
        return null;
      case 'superseded':
        throw new WrongExpectedVersionError(stream, expected, outcome.head);
      default: {
        const unreachable: never = outcome;
        throw new Error(`unhandled append outcome ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** The appends of a group commit in one statement: per entry its result, or null when its condition did not hold. */
  private async appendBatch(entries: readonly BatchedAppend[]): Promise<(AppendResult | null)[]> {
    const input = `[${entries
      .map((e) => `{"s":${JSON.stringify(e.stream)},"x":${e.condition.exact === null ? 'null' : `"${e.condition.exact}"`},"m":${e.condition.mustExist},"e":${e.json}}`)
      .join(',')}]`;
    const result = await this.driver.query<{ next_revision: string | null; position: string | null }>(SQL.appendBatch, [input], true);
    return entries.map((_, i) => {
      const row = result.rows[i];
      if (!row || row.next_revision === null || row.position === null) return null;
      return { nextRevision: BigInt(row.next_revision), position: BigInt(row.position) };
    });
  }

  /**
   * Several streams in one statement (one round trip, one commit) when every expectation is
   * exact or absent and nothing races; a stream the statement did not write (its expectation did
   * not hold, or a repeat of stored ids), and all of them when the statement failed (a race on a
   * unique key), go through appendToStream one by one, which answers each exactly as a single call
   * does.
   */
  override async appendToStreams<E extends EventData>(appends: readonly StreamAppend<E>[]): Promise<StreamAppendOutcome[]> {
    this.assertOpen();
    if (new Set(appends.map((a) => a.stream)).size !== appends.length) {
      throw new EventStoreArgumentError('a stream may appear only once per multi-stream call');
    }
    const outcomes: (StreamAppendOutcome | undefined)[] = new Array(appends.length);
    const batchable: { index: number; entry: BatchedAppend }[] = [];
    appends.forEach((a, index) => {
      try {
        validateStreamId(a.stream);
        const expected = validateExpectedRevision(a.expectedRevision);
        const events = validateEvents(a.events);
        if (events.length === 0) return;
        const entry = { stream: a.stream, condition: headCondition(expected), ids: events.map((event) => event.id), json: JSON.stringify(events) };
        batchable.push({ index, entry });
      } catch (error) {
        outcomes[index] = { ok: false, error };
      }
    });
    if (batchable.length > 1) {
      try {
        const results = await this.guard('append', () => this.appendBatch(batchable.map((b) => b.entry)));
        let written = 0;
        batchable.forEach((b, i) => {
          const result = results[i];
          if (result) {
            outcomes[b.index] = { ok: true, result };
            written += 1;
          }
        });
        if (written > 0) this.notifySubscriptions();
      } catch (error) {
        // A closed store refuses every stream alike; a race on a unique key is settled one by one.
        if (error instanceof EventStoreClosedError) throw error;
      }
    }
    return Promise.all(
      appends.map(
        (a, index) =>
          outcomes[index] ??
          this.appendToStream(a.stream, a.events, { expectedRevision: a.expectedRevision }).then(
            (result): StreamAppendOutcome => ({ ok: true, result }),
            (error: unknown): StreamAppendOutcome => ({ ok: false, error }),
          ),
      ),
    );
  }

  /** Several streams' events in one query. */
  override async readStreams<E extends EventData = EventData>(streams: readonly string[]): Promise<RecordedEvent<E>[][]> {
    this.assertOpen();
    if (new Set(streams).size !== streams.length) throw new EventStoreArgumentError('a stream may appear only once per multi-stream call');
    for (const stream of streams) validateStreamId(stream);
    if (streams.length === 0) return [];
    const rows = await this.guard('read streams', () => this.driver.query<EventRow>(SQL.readStreamsForwards, [[...streams]], true));
    return this.groupRows(streams, rows.rows).map((events) => events.map(toRecordedEvent) as RecordedEvent<E>[]);
  }

  /** The rows of a multi-stream read, per stream in the order asked. */
  private groupRows(streams: readonly string[], rows: readonly EventRow[]): EventRow[][] {
    const byStream = new Map<string, EventRow[]>(streams.map((stream) => [stream, []]));
    for (const row of rows) byStream.get(row.stream_id)?.push(row);
    return streams.map((stream) => byStream.get(stream)!);
  }

  /** Runs the one-statement append; null when the expectation did not hold (nothing written). */
  private async appendIfExpected(
    session: SqlSession,
    stream: string,
    condition: HeadCondition,
    json: string,
  ): Promise<AppendResult | null> {
    const result = await session.query<{ next_revision: string | null; position: string | null }>(
      SQL.appendEvents,
      [stream, condition.exact === null ? null : condition.exact.toString(), condition.mustExist, json],
      true,
    );
    const row = result.rows[0];
    if (!row || row.next_revision === null || row.position === null) return null;
    return { nextRevision: BigInt(row.next_revision), position: BigInt(row.position) };
  }

  /**
   * The careful append, in one transaction:
   * 1. lock the stream's head row (appenders of one stream queue here);
   * 2. if these ids are already stored exactly where the expectation puts them, return the
   *    original result (EventStoreDB idempotency); otherwise a failed expectation is a
   *    WrongExpectedVersionError and ids stored elsewhere a DuplicateEventIdError;
   * 3. append at the locked head.
   */
  private async appendCarefully(
    session: SqlSession,
    stream: string,
    batch: readonly ValidEvent[],
    expected: ExpectedRevision,
    json: string,
  ): Promise<AppendResult> {
    const head = await session.query<{ revision: string }>(SQL.lockStream, [stream]);
    const current: CurrentRevision = head.rows[0] ? BigInt(head.rows[0].revision) : 'no_stream';
    const found = await session.query<{ id: string; revision: string; position: string }>(SQL.findEventIds, [
      stream,
      batch.map((event) => event.id),
    ]);
    const stored: StoredEventRef[] = found.rows.map((row) => ({
      id: row.id,
      revision: BigInt(row.revision),
      position: BigInt(row.position),
    }));
    const verdict = classifyRepeat(
      batch.map((event) => event.id),
      stored,
      expected,
    );
    if (verdict.kind === 'idempotent') return verdict.result;
    if (!expectationHolds(expected, current)) throw new WrongExpectedVersionError(stream, expected, current);
    if (verdict.kind === 'duplicate') throw new DuplicateEventIdError(stream, verdict.ids);
    const appended = await this.appendIfExpected(session, stream, { exact: current === 'no_stream' ? -1n : current, mustExist: false }, json);
    // We hold the stream lock, so the head cannot have moved since step 1.
    if (appended === null) throw new EventStoreError('store_failure', `append to "${stream}": stream head moved under its lock`);
    return appended;
  }

  /** An empty append only checks the expectation (EventStoreDB allows it). */
  private async appendNothing(stream: string, expected: ExpectedRevision): Promise<AppendResult> {
    const last = await this.driver.query<{ revision: string; position: string }>(SQL.streamHead, [stream]);
    const row = last.rows[0];
    const current: CurrentRevision = row ? BigInt(row.revision) : 'no_stream';
    if (!expectationHolds(expected, current)) throw new WrongExpectedVersionError(stream, expected, current);
    return row ? { nextRevision: BigInt(row.revision), position: BigInt(row.position) } : { nextRevision: -1n, position: -1n };
  }

  async readStream<E extends EventData = EventData>(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent<E>[]> {
    this.assertOpen();
    validateStreamId(stream);
    validateReadStreamOptions(options);
    const backwards = options.direction === 'backwards';
    // Backwards without a start revision begins at the last event, whatever its revision.
    const from = options.fromRevision ?? (backwards ? BigInt(Number.MAX_SAFE_INTEGER) : 0n);
    // A whole stream forwards (loading an aggregate): shared with concurrent loads of other streams.
    if (this.reads !== null && !backwards && from === 0n && options.maxCount === undefined) {
      const rows = await this.guard('read stream', () => this.reads!.read(stream));
      return rows.map(toRecordedEvent) as RecordedEvent<E>[];
    }
    const rows = await this.guard('read stream', () =>
      this.driver.query<EventRow>(
        backwards ? SQL.readStreamBackwards : SQL.readStreamForwards,
        [stream, from.toString(), options.maxCount ?? null],
        true,
      ),
    );
    return rows.rows.map(toRecordedEvent) as RecordedEvent<E>[];
  }

  async readAll<E extends EventData = EventData>(options: ReadAllOptions = {}): Promise<RecordedEvent<E>[]> {
    this.assertOpen();
    validateReadAllOptions(options);
    return this.guard('read all', async () => {
      let after = LOG_START;
      const from = options.fromPosition ?? 0n;
      if (from > 0n) {
        const found = await this.driver.query<{ tx_id: string }>(SQL.txOfPosition, [from.toString()]);
        if (!found.rows[0]) throw new EventStoreArgumentError(`fromPosition ${from} is not the position of a stored event`);
        // Positions are integers, so "from (tx, p) inclusive" is "after (tx, p - 1)".
        after = { txId: BigInt(found.rows[0].tx_id), position: from - 1n };
      }
      const wanted = options.maxCount ?? Number.POSITIVE_INFINITY;
      const events: RecordedEvent[] = [];
      while (events.length < wanted) {
        const limit = Math.min(READ_ALL_PAGE, wanted - events.length);
        const page = await this.readLog(after, options.filter, limit);
        for (const item of page.events) events.push(item.event);
        if (page.events.length < limit) break;
        after = page.events[page.events.length - 1]!.cursor;
      }
      return events as RecordedEvent<E>[];
    });
  }

  private async readLog(after: LogCursor, filter: AllFilter | undefined, limit: number): Promise<CatchUpBatch<LogCursor>> {
    const prefix = filter?.streamPrefix ?? null;
    const types = filter?.eventTypes ? [...filter.eventTypes] : null;
    // Unfiltered, every scanned row is returned: the window is the limit. Filtered, a window of
    // the log per statement, as many as it takes to fill the batch or reach the visibility line.
    const window = prefix === null && types === null ? limit : Math.max(limit, this.logScanWindow);
    const events: Array<CatchUpBatch<LogCursor>['events'][number]> = [];
    let cursor = after;
    for (;;) {
      const result = await this.driver.query<LogRow>(SQL.readLog, [cursor.txId.toString(), cursor.position.toString(), prefix, types, limit - events.length, window], true);
      for (const row of result.rows) {
        if (row.position === null) continue;
        events.push({ event: toRecordedEvent(row as EventRow), cursor: { txId: BigInt(row.tx_id), position: BigInt(row.position) } });
      }
      if (events.length >= limit) return { events, scannedTo: null };
      const summary = result.rows[0];
      if (!summary || Number(summary.scanned) < window || summary.last_tx_id === null || summary.last_position === null) {
        // The window ended before it was full: every transaction below xmin has been scanned,
        // matching or not.
        return { events, scannedTo: summary ? { txId: BigInt(summary.snapshot_xmin), position: 0n } : null };
      }
      cursor = { txId: BigInt(summary.last_tx_id), position: BigInt(summary.last_position) };
    }
  }

  private async readCheckpoint(name: string): Promise<StoredCheckpoint<LogCursor> | null> {
    const result = await this.driver.query<{ tx_id: string | null; position: string | null; owner: string | null; lease_version: string }>(
      SQL.readCheckpoint,
      [name],
    );
    const row = result.rows[0];
    if (!row) return null;
    const cursor = row.tx_id === null || row.position === null ? null : { txId: BigInt(row.tx_id), position: BigInt(row.position) };
    return { cursor, owner: row.owner, token: row.lease_version };
  }

  private async writeCheckpoint(
    name: string,
    previous: StoredCheckpoint<LogCursor> | null,
    next: CheckpointWrite<LogCursor>,
  ): Promise<StoredCheckpoint<LogCursor> | null> {
    const text = (cursor: LogCursor | null | undefined) => [cursor?.txId.toString() ?? null, cursor?.position.toString() ?? null];
    const result =
      previous === null
        ? await this.driver.query<{ lease_version: string }>(SQL.insertCheckpoint, [name, ...text(next.cursor), next.owner])
        : await this.driver.query<{ lease_version: string }>(SQL.updateCheckpoint, [
            name,
            previous.token as string,
            ...text(previous.cursor),
            ...text(next.cursor),
            next.owner,
          ]);
    const row = result.rows[0];
    return row ? { cursor: next.cursor, owner: next.owner, token: row.lease_version } : null;
  }

  /** Where the audit tree keeps its leaves and signed heads: this store's own database (schema `audit_log`). */
  auditTree(): AuditTreeStore {
    return (this.auditTreeStore ??= new SqlAuditTreeStore(this.driver));
  }

  protected dispose(): Promise<void> {
    return this.driver.close();
  }
}
