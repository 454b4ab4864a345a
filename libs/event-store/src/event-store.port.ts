/**
 * The event store port: EventStoreDB semantics (streams with gap-free revisions, optimistic
 * concurrency by expected revision, idempotent appends by event id, one global log order) behind
 * an abstract class that doubles as the Nest DI token. Adapters: PostgreSQL, PGlite, KurrentDB.
 */

import { EventStoreArgumentError } from './event-store.errors';

/** The shape every stored event has: plain JSON `{type, data, metadata}`. */
export interface EventData {
  readonly type: string;
  /** A JSON object or array (what `JSON.stringify` round-trips). */
  readonly data: unknown;
  /** A JSON object; `{}` when omitted. */
  readonly metadata?: unknown;
}

/**
 * An event to append. `id` is a UUID the caller derives from the command (see
 * {@link deterministicUuid}), never a random one in a retry path: appending the same ids at the
 * same place again is then a no-op that returns the original result.
 */
export type NewEvent<E extends EventData = EventData> = E & { readonly id: string };

/** Where a stored event sits: in its stream (`revision`) and in the global log (`position`). */
export interface RecordedEventInfo {
  /** The event id given at append time (lower-case UUID). */
  readonly id: string;
  readonly streamId: string;
  /** 0-based, gap-free number of the event inside its stream. */
  readonly revision: bigint;
  /**
   * Identifies the event in the global log (PostgreSQL/PGlite: a bigserial; KurrentDB: the commit
   * position). Unique per event on the SQL adapters. The global log ORDER is not necessarily
   * ascending `position` on PostgreSQL (it is ordered by writing transaction first, see README).
   */
  readonly position: bigint;
  readonly createdAt: Date;
  readonly metadata: unknown;
}

/**
 * A stored event. The type parameter is a compile-time promise of the caller, not a validation:
 * `readStream<JobEvent>(...)` gives a discriminated union to `switch` on.
 */
export type RecordedEvent<E extends EventData = EventData> = E & RecordedEventInfo;

/**
 * What the writer expects the stream to look like:
 * - `'any'`: no check;
 * - `'no_stream'`: the stream has no event yet;
 * - `'stream_exists'`: the stream has at least one event;
 * - a bigint: the revision of the stream's last event (a stream with one event is at `0n`).
 */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | bigint;

/** The revision of a stream's last event, or `'no_stream'` when it has none. */
export type CurrentRevision = bigint | 'no_stream';

export interface AppendOptions {
  readonly expectedRevision: ExpectedRevision;
}

export interface AppendResult {
  /** Revision of the last event of the stream after the append (pass it as the next expected revision). */
  readonly nextRevision: bigint;
  /** Global position of the last appended event (`-1n` for an empty append to a stream without events). */
  readonly position: bigint;
}

export type ReadDirection = 'forwards' | 'backwards';

/** One stream's part of {@link EventStore.appendToStreams}. */
export interface StreamAppend<E extends EventData = EventData> {
  readonly stream: string;
  readonly events: readonly NewEvent<E>[];
  readonly expectedRevision: ExpectedRevision;
}

/** What one stream's append of {@link EventStore.appendToStreams} gave: its result, or the error `appendToStream` would have thrown. */
export type StreamAppendOutcome = { readonly ok: true; readonly result: AppendResult } | { readonly ok: false; readonly error: unknown };

export interface ReadStreamOptions {
  /** Inclusive start revision; default: the first event forwards, the last one backwards. */
  readonly fromRevision?: bigint;
  readonly direction?: ReadDirection;
  /** At most this many events; default: all. */
  readonly maxCount?: number;
}

/** Selects events of the global log. Both parts must match when both are given. */
export interface AllFilter {
  /** Only streams whose id starts with this prefix (e.g. `job-`). */
  readonly streamPrefix?: string;
  /** Only these event types (an empty list matches nothing). */
  readonly eventTypes?: readonly string[];
}

export interface ReadAllOptions {
  /**
   * Inclusive: the first event returned is the one at this position (EventStoreDB semantics).
   * Default `0n`, the start of the log. To page, pass the last event's position and drop it.
   */
  readonly fromPosition?: bigint;
  /** At most this many events; default: all that are readable now. */
  readonly maxCount?: number;
  readonly filter?: AllFilter;
}

/** Handles one event of a subscription; the checkpoint moves past an event only once this resolves. */
export type SubscriptionHandler<E extends EventData = EventData> = (event: RecordedEvent<E>) => Promise<void> | void;

export interface SubscribeOptions<E extends EventData = EventData> {
  readonly filter?: AllFilter;
  /** Handles one event at a time. Exactly one of `handler` and `handleBatch` is given. */
  readonly handler?: SubscriptionHandler<E>;
  /**
   * Handles a whole batch (the matching events of one read, at most `batchSize`, in log order) at
   * once, e.g. one publish for all of them; the checkpoint moves past the batch only once it
   * resolves. When it throws, the same events are given again after a back-off (whatever part
   * of the batch took effect is repeated: at least once).
   */
  readonly handleBatch?: (events: RecordedEvent<E>[]) => Promise<void>;
  /** Events fetched (and checkpointed) per round; default 500. */
  readonly batchSize?: number;
  /** Idle wait between polls once caught up; default 100 ms. */
  readonly pollIntervalMs?: number;
  /** First wait after a failing handler or store error (doubles up to 30 s); default 250 ms. */
  readonly retryDelayMs?: number;
  /**
   * At most one checkpoint write per this many ms: a batch handled sooner after the last write
   * is checkpointed by a timer once the interval is over (or at stop), so a busy subscription
   * writes a few times a second instead of after every batch. A crash in between hands the events
   * since the last write again (at least once, as for a batch in flight). Default 0: after every
   * batch that handled something.
   */
  readonly checkpointIntervalMs?: number;
  /**
   * `subscribe` only: the lease ttl of this subscription (see {@link EventStore.subscribe}); the
   * store's default (SUBSCRIPTION_LEASE_MS, 5000 ms) when omitted.
   */
  readonly leaseMs?: number;
  /**
   * Told about every failure (the event is retried, never skipped), about a lease lost to
   * another instance (SubscriptionLeaseLostError) and about checkpoint conflicts with a writer
   * that ignores leases. Default: nothing.
   */
  readonly onError?: (error: unknown, event?: RecordedEvent<E>) => void;
}

/** A running catch-up subscription (durable or not). */
export interface SubscriptionHandle {
  readonly name: string;
  /**
   * Lets the event being handled finish, stores the checkpoint of everything handled so far and
   * resolves once the subscription is idle. Idempotent.
   */
  stop(): Promise<void>;
}

/** What a {@link EventStore.readFromStart} reader reads. */
export interface LogReaderOptions {
  readonly filter?: AllFilter;
  /** Events per read; default 500. */
  readonly batchSize?: number;
}

/**
 * Reads the global log from its start, in log order, one batch per call, holding its place in
 * memory only (nothing is stored): for in-memory indexes rebuilt at every start of a process.
 * Calls must not overlap (await one before the next).
 */
export interface LogReader<E extends EventData = EventData> {
  /**
   * The next matching events after everything returned so far, at most `batchSize`. Fewer (maybe
   * none) once it has caught up with what is readable now; a later call returns what was
   * appended since.
   */
  next(): Promise<RecordedEvent<E>[]>;
  /** Calls `apply` for every matching event up to what is readable now; resolves with how many. */
  catchUp(apply: (event: RecordedEvent<E>) => void | Promise<void>): Promise<number>;
  /** Back to the start of the log. */
  reset(): void;
}

/** The multi-stream calls name each stream once. */
function assertDistinctStreams(streams: readonly string[]): void {
  if (new Set(streams).size !== streams.length) throw new EventStoreArgumentError('a stream may appear only once per multi-stream call');
}

/**
 * The event store port (and Nest DI token). All methods reject with an {@link EventStoreError}
 * subclass, never with a driver error.
 */
export abstract class EventStore {
  /**
   * Appends `events` atomically to the end of `stream` if `expectedRevision` holds.
   * Rejects with WrongExpectedVersionError when it does not (someone else wrote first: reload,
   * decide again, retry). Re-appending the same event ids at the same place resolves with the
   * original result and writes nothing.
   */
  abstract appendToStream<E extends EventData>(
    stream: string,
    events: readonly NewEvent<E>[],
    options: AppendOptions,
  ): Promise<AppendResult>;

  /** The events of one stream, in revision order (or reverse); `[]` when the stream does not exist. */
  abstract readStream<E extends EventData = EventData>(
    stream: string,
    options?: ReadStreamOptions,
  ): Promise<RecordedEvent<E>[]>;

  /**
   * Appends to several distinct streams at once: for each, exactly what `appendToStream` with the
   * same arguments would do (its expected revision checked, a repeat answered idempotently), and
   * its own outcome, in the order given. Not atomic across streams: one stream's conflict does not
   * stop the others. An adapter may write all of them in one round trip (the SQL adapters do);
   * this default calls `appendToStream` for each. Rejects only when the request itself is invalid
   * (the same stream twice).
   */
  async appendToStreams<E extends EventData>(appends: readonly StreamAppend<E>[]): Promise<StreamAppendOutcome[]> {
    assertDistinctStreams(appends.map((a) => a.stream));
    return Promise.all(
      appends.map((a) =>
        this.appendToStream(a.stream, a.events, { expectedRevision: a.expectedRevision }).then(
          (result): StreamAppendOutcome => ({ ok: true, result }),
          (error: unknown): StreamAppendOutcome => ({ ok: false, error }),
        ),
      ),
    );
  }

  /**
   * The events of several distinct streams, each forwards in revision order (`[]` for a stream
   * that does not exist), in the order given: what `readStream` of each gives. An adapter may read
   * them in one round trip (the SQL adapters do); this default calls `readStream` for each.
   */
  async readStreams<E extends EventData = EventData>(streams: readonly string[]): Promise<RecordedEvent<E>[][]> {
    assertDistinctStreams(streams);
    return Promise.all(streams.map((stream) => this.readStream<E>(stream)));
  }

  /**
   * The global log in its one consistent order. On PostgreSQL only events of transactions that
   * can no longer be overtaken are returned (see README, "Global order"), so a read right after a
   * commit may lag by the duration of concurrently open transactions.
   */
  abstract readAll<E extends EventData = EventData>(options?: ReadAllOptions): Promise<RecordedEvent<E>[]>;

  /**
   * Starts a catch-up subscription: every event matching the filter, in global log order, at
   * least once, resuming after the durable checkpoint stored under `name` (one logical consumer
   * per name). A handler that throws gets the same event again after a back-off.
   *
   * Exclusive across instances: of all running subscriptions of one name (in any process on the
   * same store) only the one holding the name's lease handles events; the others stand by. The
   * lease is kept in the checkpoint record and every write of it is the checkpoint's
   * compare-and-set: the owner renews it every ttl/3, a standby takes it over once the record
   * has not changed for the ttl by its own clock (the owner died or hangs) or at once when the
   * owner released it (`stop()`, `close()`), and a deposed owner cannot move the checkpoint (it
   * stops handling; the batch it had in flight may be handled again: at least once).
   */
  abstract subscribe<E extends EventData = EventData>(name: string, options: SubscribeOptions<E>): SubscriptionHandle;

  /**
   * Starts a NON-durable catch-up subscription: every event matching the filter from the start of
   * the log, in global log order, then the new ones as they are appended, as `subscribe` does,
   * but its place is kept in memory only: nothing is stored under `name` (it only labels the
   * handle), and every call starts from the start again. For in-memory read models that are
   * rebuilt at every start of a process.
   */
  abstract subscribeFromStart<E extends EventData = EventData>(name: string, options: SubscribeOptions<E>): SubscriptionHandle;

  /**
   * A non-durable reader of the global log from its start (see {@link LogReader}): what
   * `readAll` paged by hand would give, without positions to carry, and skipping past the events
   * the filter drops. Nothing is stored.
   */
  abstract readFromStart<E extends EventData = EventData>(options?: LogReaderOptions): LogReader<E>;

  /** Stops every subscription of this instance and releases connections. Idempotent. */
  abstract close(): Promise<void>;
}
