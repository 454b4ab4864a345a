import {
  AppendOptions,
  AppendResult,
  EventData,
  EventStore,
  LogReader,
  LogReaderOptions,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StreamAppend,
  StreamAppendOutcome,
  SubscribeOptions,
  SubscriptionHandle,
} from '@signoff/event-store';

/** Most streams in one coalesced read or append. */
export const MAX_COALESCED_STREAMS = 500;

interface Waiting<T, R> {
  readonly stream: string;
  readonly item: T;
  readonly resolve: (value: R) => void;
  readonly reject: (error: unknown) => void;
}

/** Calls of one kind in flight at once (the next batch fills while the store works on one). */
const CALLS_IN_FLIGHT = 2;

/**
 * At most {@link CALLS_IN_FLIGHT} calls at a time for a kind of request: while they are in flight
 * the next requests queue and leave together in the next call (as the BatchingPublisher does,
 * without a timer: idle, a request leaves at once). A stream appears in one call at a time; its
 * later requests wait for a later call, so each stream's requests still run in the order they
 * were made.
 */
class Coalescer<T, R> {
  private queue: Waiting<T, R>[] = [];
  private running = 0;
  /** Streams of the calls in flight. */
  private readonly busy = new Set<string>();

  constructor(private readonly call: (items: readonly Waiting<T, R>[]) => Promise<StreamOutcome<R>[]>) {}

  run(stream: string, item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ stream, item, resolve, reject });
      if (this.running < CALLS_IN_FLIGHT) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running += 1;
    try {
      for (;;) {
        const streams = new Set<string>();
        const batch: Waiting<T, R>[] = [];
        const rest: Waiting<T, R>[] = [];
        for (const waiting of this.queue) {
          if (batch.length < MAX_COALESCED_STREAMS && !streams.has(waiting.stream) && !this.busy.has(waiting.stream)) {
            streams.add(waiting.stream);
            batch.push(waiting);
          } else rest.push(waiting);
        }
        this.queue = rest;
        // Only requests of streams busy in another call are left: that call's drain takes them.
        if (batch.length === 0) return;
        for (const stream of streams) this.busy.add(stream);
        try {
          const outcomes = await this.call(batch);
          batch.forEach((waiting, i) => {
            const outcome = outcomes[i];
            if (outcome.ok) waiting.resolve(outcome.value);
            else waiting.reject(outcome.error);
          });
        } catch (error) {
          for (const waiting of batch) waiting.reject(error);
        } finally {
          for (const stream of streams) this.busy.delete(stream);
        }
      }
    } finally {
      this.running -= 1;
    }
  }
}

type StreamOutcome<R> = { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: unknown };

interface PendingAppend {
  readonly events: readonly NewEvent[];
  readonly options: AppendOptions;
}

/**
 * The event store as the dispatch use cases see it: the same port, but concurrent whole-stream
 * reads leave as one `readStreams` and concurrent appends as one `appendToStreams` (one round trip
 * and, on PostgreSQL, one commit for up to {@link MAX_COALESCED_STREAMS} streams). Each caller
 * gets exactly what `readStream` / `appendToStream` would have given it (its own result, its own
 * WrongExpectedVersionError), so the command handler's expected-revision loop is unchanged. A
 * burst of notifications or stuck jobs then costs a few round trips per batch instead of three
 * per job. Everything else goes straight to the store.
 */
export class CoalescingEventStore extends EventStore {
  private readonly reads: Coalescer<null, RecordedEvent[]>;
  private readonly appends: Coalescer<PendingAppend, AppendResult>;

  constructor(private readonly store: EventStore) {
    super();
    this.reads = new Coalescer(async (batch) => {
      try {
        const read = await store.readStreams(batch.map((w) => w.stream));
        return read.map((value) => ({ ok: true, value }));
      } catch (error) {
        if (batch.length === 1) throw error;
        // One stream the store refuses (or an outage) must not answer for the others: each
        // caller gets what its own readStream gives.
        return Promise.all(
          batch.map((w) => store.readStream(w.stream).then((value): StreamOutcome<RecordedEvent[]> => ({ ok: true, value }), (e: unknown): StreamOutcome<RecordedEvent[]> => ({ ok: false, error: e }))),
        );
      }
    });
    this.appends = new Coalescer(async (batch) => {
      const outcomes: StreamAppendOutcome[] =
        batch.length === 1
          ? [await store.appendToStream(batch[0].stream, batch[0].item.events, batch[0].item.options).then((result) => ({ ok: true as const, result }), (error: unknown) => ({ ok: false as const, error }))]
          : await store.appendToStreams(batch.map((w) => ({ stream: w.stream, events: w.item.events, expectedRevision: w.item.options.expectedRevision })));
      return outcomes.map((o) => (o.ok ? { ok: true, value: o.result } : { ok: false, error: o.error }));
    });
  }

  appendToStream<E extends EventData>(stream: string, events: readonly NewEvent<E>[], options: AppendOptions): Promise<AppendResult> {
    return this.appends.run(stream, { events, options });
  }

  readStream<E extends EventData = EventData>(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent<E>[]> {
    // Only whole-stream forward reads coalesce; a ranged or backwards read is rare here.
    if (options && (options.direction === 'backwards' || options.fromRevision !== undefined || options.maxCount !== undefined)) {
      return this.store.readStream<E>(stream, options);
    }
    return this.reads.run(stream, null) as Promise<RecordedEvent<E>[]>;
  }

  override appendToStreams<E extends EventData>(appends: readonly StreamAppend<E>[]): Promise<StreamAppendOutcome[]> {
    return this.store.appendToStreams(appends);
  }

  override readStreams<E extends EventData = EventData>(streams: readonly string[]): Promise<RecordedEvent<E>[][]> {
    return this.store.readStreams<E>(streams);
  }

  readAll<E extends EventData = EventData>(options?: ReadAllOptions): Promise<RecordedEvent<E>[]> {
    return this.store.readAll<E>(options);
  }

  subscribe<E extends EventData = EventData>(name: string, options: SubscribeOptions<E>): SubscriptionHandle {
    return this.store.subscribe(name, options);
  }

  subscribeFromStart<E extends EventData = EventData>(name: string, options: SubscribeOptions<E>): SubscriptionHandle {
    return this.store.subscribeFromStart(name, options);
  }

  readFromStart<E extends EventData = EventData>(options?: LogReaderOptions): LogReader<E> {
    return this.store.readFromStart<E>(options);
  }

  /** The store is the composition root's: closing it is not this view's business. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
