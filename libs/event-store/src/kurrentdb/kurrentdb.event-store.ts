import { randomUUID } from 'node:crypto';
import type {
  AllStreamResolvedEvent,
  AppendStreamState,
  EventData as KurrentEventData,
  KurrentDBClient,
  Position,
  ReadPosition,
  ResolvedEvent,
} from '@kurrent/kurrentdb-client';
import { CatchUpEventStore } from '../catch-up.event-store';
import { type CatchUpBatch, type CatchUpSource, type CheckpointWrite, type StoredCheckpoint } from '../catch-up.subscription';
import {
  EventStoreArgumentError,
  EventStoreClosedError,
  EventStoreError,
  EventStoreUnavailableError,
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
} from '../event-store.port';
import {
  matchesFilter,
  validateEvents,
  validateExpectedRevision,
  validateReadAllOptions,
  validateReadStreamOptions,
  validateStreamId,
  type ValidEvent,
} from '../event-store.rules';

type KurrentModule = typeof import('@kurrent/kurrentdb-client');

/** Streams holding subscription checkpoints; hidden from readAll and subscriptions. */
export const CHECKPOINT_STREAM_PREFIX = '_signoff-checkpoint-';
const CHECKPOINT_EVENT_TYPE = 'SignoffSubscriptionCheckpoint';
/** Settings of the KurrentDB adapter. */
export interface KurrentDbEventStoreOptions {
  /** Events per `$all` read request; default 1,000. */
  readonly pageSize?: number;
}

/** The port's expectation as the client's `streamState` (the constants are the same strings). */
export function toStreamState(expected: ExpectedRevision): AppendStreamState {
  return expected;
}

/** Orders KurrentDB log positions (commit, then prepare), as $all is ordered. */
export function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

/**
 * A client error as an EventStoreError. The client's errors carry a string `type`
 * (`wrong-expected-version`, `unavailable`, ...); matching on it avoids depending on class
 * identity across module copies.
 */
export function translateKurrentError(
  error: unknown,
  doing: string,
  append?: { readonly stream: string; readonly expected: ExpectedRevision },
): EventStoreError {
  if (error instanceof EventStoreError) return error;
  const type = (error as { type?: unknown } | null)?.type;
  const message = error instanceof Error ? error.message : String(error);
  if (type === 'wrong-expected-version' && append) {
    const actual = (error as { actualState?: unknown }).actualState;
    const current: CurrentRevision = typeof actual === 'bigint' ? actual : 'no_stream';
    return new WrongExpectedVersionError(append.stream, append.expected, current);
  }
  if (
    type === 'unavailable' ||
    type === 'deadline-exceeded' ||
    type === 'timeout' ||
    type === 'cancelled' ||
    type === 'not-leader'
  ) {
    return new EventStoreUnavailableError(`${doing}: ${message}`, { cause: error });
  }
  if (type === 'invalid-argument' || type === 'maximum-append-size-exceeded') {
    return new EventStoreArgumentError(`${doing}: ${message}`, { cause: error });
  }
  return new EventStoreError('store_failure', `${doing}: ${message}`, { cause: error });
}

function isStreamNotFound(error: unknown): boolean {
  return (error as { type?: unknown } | null)?.type === 'stream-not-found';
}

function parseMetadata(metadata: unknown): unknown {
  if (metadata instanceof Uint8Array) {
    if (metadata.length === 0) return {};
    try {
      return JSON.parse(Buffer.from(metadata).toString('utf8')) as unknown;
    } catch {
      return {};
    }
  }
  return metadata ?? {};
}

/** A KurrentDB recorded event as the port's RecordedEvent. */
export function fromResolvedEvent(resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent | null {
  const event = resolved.event;
  if (!event) return null;
  return {
    id: event.id,
    type: event.type,
    data: event.data,
    metadata: parseMetadata(event.metadata),
    streamId: event.streamId,
    revision: event.revision,
    position: event.position?.commit ?? resolved.commitPosition ?? -1n,
    createdAt: event.created,
  };
}

function toEventData(event: ValidEvent): KurrentEventData {
  return {
    id: event.id,
    contentType: 'application/json',
    type: event.type,
    data: event.data as Record<string, unknown>,
    metadata: event.metadata as Record<string, unknown>,
  };
}

/** The client only knows the `kurrentdb` schemes; `esdb` ones would log a deprecation warning. */
export function toKurrentConnectionString(url: string): string {
  return url.replace(/^esdb(\+discover)?:\/\//, (_match, discover: string | undefined) => `kurrentdb${discover ?? ''}://`);
}

/**
 * The event store on KurrentDB / EventStoreDB through @kurrent/kurrentdb-client. Expected
 * revisions and idempotency are the server's own. Subscription checkpoints are stored in streams
 * `_signoff-checkpoint-<name>` (compare-and-set by expected revision), and these streams are
 * hidden from readAll and subscriptions. Unlike the SQL adapters, the server does not refuse an
 * event id that is already elsewhere in the stream.
 */
export class KurrentDbEventStore extends CatchUpEventStore<Position> {
  protected readonly source: CatchUpSource<Position>;

  private readonly pageSize: number;

  private constructor(
    private readonly client: KurrentDBClient,
    private readonly kurrent: KurrentModule,
    options: KurrentDbEventStoreOptions,
  ) {
    super();
    this.pageSize = options.pageSize ?? 1_000;
    this.source = {
      readCheckpoint: (name) => this.guard('read checkpoint', () => this.readCheckpoint(name)),
      writeCheckpoint: (name, previous, next) => this.guard('write checkpoint', () => this.writeCheckpoint(name, previous, next)),
      readBatch: (after, filter, limit) => this.guard('read $all', () => this.readBatch(after, filter, limit)),
      compare: comparePositions,
    };
  }

  /**
   * Connects with a `kurrentdb://`, `kurrentdb+discover://`, `esdb://` or `esdb+discover://`
   * connection string and checks that `$all` can be read (subscriptions need it).
   */
  static async connect(url: string, options: KurrentDbEventStoreOptions = {}): Promise<KurrentDbEventStore> {
    const kurrent = await import('@kurrent/kurrentdb-client');
    let client: KurrentDBClient;
    try {
      client = kurrent.KurrentDBClient.connectionString(toKurrentConnectionString(url));
    } catch (error) {
      throw new EventStoreArgumentError(`invalid KurrentDB connection string: ${(error as Error).message}`, { cause: error });
    }
    return KurrentDbEventStore.fromClient(client, options);
  }

  /**
   * Wraps a client built by the caller (e.g. with a credentials provider or client certificates)
   * after checking that `$all` can be read. The store disposes the client on close().
   */
  static async fromClient(client: KurrentDBClient, options: KurrentDbEventStoreOptions = {}): Promise<KurrentDbEventStore> {
    const kurrent = await import('@kurrent/kurrentdb-client');
    try {
      for await (const _event of client.readAll({ maxCount: 1, fromPosition: kurrent.START })) break;
    } catch (error) {
      await client.dispose().catch(() => undefined);
      throw translateKurrentError(error, 'open KurrentDB event store');
    }
    return new KurrentDbEventStore(client, kurrent, options);
  }

  /** Subscriptions still store their last checkpoint while close() stops them. */
  private async guard<T>(doing: string, work: () => Promise<T>): Promise<T> {
    if (this.closed) throw new EventStoreClosedError();
    try {
      return await work();
    } catch (error) {
      throw translateKurrentError(error, doing);
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
    let result;
    try {
      result = await this.client.appendToStream(stream, batch.map(toEventData), { streamState: toStreamState(expected) });
    } catch (error) {
      throw translateKurrentError(error, 'append', { stream, expected });
    }
    this.notifySubscriptions();
    return { nextRevision: result.nextExpectedRevision, position: result.position?.commit ?? -1n };
  }

  async readStream<E extends EventData = EventData>(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent<E>[]> {
    this.assertOpen();
    validateStreamId(stream);
    validateReadStreamOptions(options);
    return this.readStreamEvents<E>(stream, options);
  }

  private async readStreamEvents<E extends EventData = EventData>(stream: string, options: ReadStreamOptions): Promise<RecordedEvent<E>[]> {
    if (options.maxCount === 0) return [];
    const backwards = options.direction === 'backwards';
    const events: RecordedEvent[] = [];
    try {
      const reads = this.client.readStream(stream, {
        direction: backwards ? this.kurrent.BACKWARDS : this.kurrent.FORWARDS,
        fromRevision: options.fromRevision ?? (backwards ? this.kurrent.END : this.kurrent.START),
        ...(options.maxCount !== undefined ? { maxCount: options.maxCount } : {}),
      });
      for await (const resolved of reads) {
        const event = fromResolvedEvent(resolved);
        if (event) events.push(event);
      }
    } catch (error) {
      if (isStreamNotFound(error)) return [];
      throw translateKurrentError(error, 'read stream');
    }
    return events as RecordedEvent<E>[];
  }

  /**
   * $all from `from` (inclusive), without system events and checkpoint streams, paging through
   * the server. `skip` drops the event at exactly that position (exclusive reads).
   */
  private async *scanAll(from: ReadPosition, skip: Position | null): AsyncGenerator<{ event: RecordedEvent; position: Position }> {
    let start = from;
    let skipping = skip;
    for (;;) {
      let read = 0;
      let last: Position | null = null;
      for await (const resolved of this.client.readAll({
        fromPosition: start,
        maxCount: this.pageSize,
        direction: this.kurrent.FORWARDS,
        filter: this.kurrent.excludeSystemEvents(),
      })) {
        read += 1;
        const position = resolved.event?.position;
        const event = fromResolvedEvent(resolved);
        if (!position || !event) continue;
        last = position;
        if (skipping && comparePositions(position, skipping) === 0) continue;
        if (event.streamId.startsWith(CHECKPOINT_STREAM_PREFIX)) continue;
        yield { event, position };
      }
      if (read < this.pageSize || last === null) return;
      // The next page starts at the last event read (inclusive), which it must not yield again.
      start = last;
      skipping = last;
    }
  }

  async readAll<E extends EventData = EventData>(options: ReadAllOptions = {}): Promise<RecordedEvent<E>[]> {
    this.assertOpen();
    validateReadAllOptions(options);
    const wanted = options.maxCount ?? Number.POSITIVE_INFINITY;
    const events: RecordedEvent[] = [];
    if (wanted === 0) return [];
    const from: ReadPosition =
      options.fromPosition === undefined || options.fromPosition === 0n
        ? this.kurrent.START
        : { commit: options.fromPosition, prepare: options.fromPosition };
    return this.guard('read $all', async () => {
      for await (const item of this.scanAll(from, null)) {
        if (!matchesFilter(item.event, options.filter)) continue;
        events.push(item.event);
        if (events.length >= wanted) break;
      }
      return events as RecordedEvent<E>[];
    });
  }

  private async readBatch(after: Position | null, filter: AllFilter | undefined, limit: number): Promise<CatchUpBatch<Position>> {
    const events: Array<{ event: RecordedEvent; cursor: Position }> = [];
    let scanned: Position | null = after;
    for await (const item of this.scanAll(after ?? this.kurrent.START, after)) {
      scanned = item.position;
      if (!matchesFilter(item.event, filter)) continue;
      events.push({ event: item.event, cursor: item.position });
      if (events.length >= limit) return { events, scannedTo: null };
    }
    return { events, scannedTo: scanned };
  }

  private checkpointStream(name: string): string {
    return `${CHECKPOINT_STREAM_PREFIX}${name}`;
  }

  private async readCheckpoint(name: string): Promise<StoredCheckpoint<Position> | null> {
    const events = await this.readStreamEvents(this.checkpointStream(name), { direction: 'backwards', maxCount: 1 });
    const last = events[0];
    if (!last) return null;
    // Records of builds before leases carry no owner: they read as released.
    const data = last.data as { commit: string | null; prepare: string | null; owner?: string | null };
    const cursor = data.commit === null || data.prepare === null ? null : { commit: BigInt(data.commit), prepare: BigInt(data.prepare) };
    return { cursor, owner: data.owner ?? null, token: last.revision };
  }

  private async writeCheckpoint(
    name: string,
    previous: StoredCheckpoint<Position> | null,
    next: CheckpointWrite<Position>,
  ): Promise<StoredCheckpoint<Position> | null> {
    const stream = this.checkpointStream(name);
    // Every write (a checkpoint or a lease renewal) is one event appended by expected revision:
    // the revision is the lease's token, so a deposed owner's write fails.
    const data = { commit: next.cursor?.commit.toString() ?? null, prepare: next.cursor?.prepare.toString() ?? null, owner: next.owner };
    try {
      const result = await this.client.appendToStream(
        stream,
        [
          {
            // A fresh id on purpose: with a derived one, a stale instance writing the same cursor
            // as the live one would pass as an idempotent repeat instead of failing the compare-and-set.
            id: randomUUID(),
            contentType: 'application/json',
            type: CHECKPOINT_EVENT_TYPE,
            data,
            metadata: {},
          },
        ],
        { streamState: previous === null ? this.kurrent.NO_STREAM : (previous.token as bigint) },
      );
      if (previous === null) {
        // Only the latest checkpoint matters; let the server drop older ones.
        await this.client.setStreamMetadata(stream, { maxCount: 10 }).catch(() => undefined);
      }
      return { cursor: next.cursor, owner: next.owner, token: result.nextExpectedRevision };
    } catch (error) {
      if ((error as { type?: unknown } | null)?.type === 'wrong-expected-version') return null;
      throw error;
    }
  }

  protected async dispose(): Promise<void> {
    await this.client.dispose();
  }
}
