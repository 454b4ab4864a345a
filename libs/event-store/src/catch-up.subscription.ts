/**
 * The catch-up subscription loop, written once for every adapter: read a batch after the cursor,
 * hand each event to the handler, store the checkpoint (compare-and-set, never backwards), wait
 * when caught up, back off and retry the same event when something fails.
 */
import { EventStoreClosedError, SubscriptionCheckpointConflictError } from './event-store.errors';
import type { AllFilter, EventData, LogReader, RecordedEvent, SubscribeOptions, SubscriptionHandle } from './event-store.port';

/** A checkpoint as stored, with whatever the adapter needs for its compare-and-set. */
export interface StoredCheckpoint<C> {
  readonly cursor: C;
  readonly token: unknown;
}

export interface CatchUpBatch<C> {
  /** Matching events after the cursor, in log order, each with the cursor that includes it. */
  readonly events: ReadonlyArray<{ readonly event: RecordedEvent; readonly cursor: C }>;
  /**
   * When the whole log readable now has been scanned: a cursor at or past everything scanned
   * (including events the filter dropped), so the next read starts there. Null otherwise.
   */
  readonly scannedTo: C | null;
}

/** What an adapter provides to run subscriptions. `C` is its log cursor. */
export interface CatchUpSource<C> {
  readCheckpoint(name: string): Promise<StoredCheckpoint<C> | null>;
  /** Stores `cursor` only if the stored checkpoint is still `previous`; null when it was not. */
  writeCheckpoint(name: string, previous: StoredCheckpoint<C> | null, cursor: C): Promise<StoredCheckpoint<C> | null>;
  /** Matching events strictly after `after` (null: from the start), at most `limit`. */
  readBatch(after: C | null, filter: AllFilter | undefined, limit: number): Promise<CatchUpBatch<C>>;
  compare(a: C, b: C): number;
}

const DEFAULT_BATCH_SIZE = 500;
/** Default batch of a {@link CatchUpReader}. */
export const DEFAULT_READER_BATCH_SIZE = 500;
const DEFAULT_POLL_INTERVAL_MS = 100;
const DEFAULT_RETRY_DELAY_MS = 250;
const MAX_RETRY_DELAY_MS = 30_000;
const CHECKPOINT_CAS_ATTEMPTS = 5;

class HandlerFailure extends Error {
  constructor(
    readonly error: unknown,
    readonly event: RecordedEvent,
  ) {
    super('subscription handler failed', { cause: error });
  }
}

/** One running subscription; created by an adapter's `subscribe`. */
export class CatchUpSubscription<C> implements SubscriptionHandle {
  private stopping = false;
  private pendingWake = false;
  private wake: (() => void) | null = null;
  private wakeOnNotify = false;
  private stored: StoredCheckpoint<C> | null = null;
  /** Everything up to here was handled (or filtered out). */
  private cursor: C | null = null;
  private readonly finished: Promise<void>;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly retryDelayMs: number;

  constructor(
    readonly name: string,
    private readonly source: CatchUpSource<C>,
    private readonly options: SubscribeOptions,
    private readonly onFinished: (subscription: CatchUpSubscription<C>) => void,
  ) {
    this.batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    this.finished = this.run().finally(() => this.onFinished(this));
  }

  /** New events may be readable: skip the current idle wait. */
  notify(): void {
    this.pendingWake = true;
    if (this.wakeOnNotify) this.wake?.();
  }

  stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    return this.finished;
  }

  private report(error: unknown, event?: RecordedEvent): void {
    try {
      this.options.onError?.(error, event);
    } catch {
      // A failing error callback must not kill the loop that reports to it.
    }
  }

  private async run(): Promise<void> {
    let loaded = false;
    let failures = 0;
    while (!this.stopping) {
      try {
        if (!loaded) {
          this.stored = await this.source.readCheckpoint(this.name);
          this.cursor = this.stored?.cursor ?? null;
          loaded = true;
        }
        const batch = await this.source.readBatch(this.cursor, this.options.filter, this.batchSize);
        let handled = 0;
        for (const item of batch.events) {
          if (this.stopping) break;
          try {
            await this.options.handler(item.event);
          } catch (error) {
            throw new HandlerFailure(error, item.event);
          }
          this.cursor = item.cursor;
          handled += 1;
        }
        if (handled === batch.events.length && batch.scannedTo !== null && this.isAhead(batch.scannedTo)) {
          this.cursor = batch.scannedTo;
        }
        // Only batches that handled something are worth a write; idle polls keep the cursor in memory.
        if (handled > 0) await this.persist();
        failures = 0;
        if (batch.events.length < this.batchSize) await this.sleep(this.pollIntervalMs, true);
      } catch (error) {
        // The store was closed under us (close() stops its own subscriptions first): nothing to retry.
        if (error instanceof EventStoreClosedError) return;
        failures += 1;
        if (error instanceof HandlerFailure) this.report(error.error, error.event);
        else this.report(error);
        // Keep the progress made before the failure, so a restart does not redo it.
        if (loaded) await this.persist().catch(() => undefined);
        // New appends do not shorten a back-off: the failure is what we wait out.
        await this.sleep(Math.min(this.retryDelayMs * 2 ** (failures - 1), MAX_RETRY_DELAY_MS), false);
      }
    }
    if (loaded) await this.persist().catch((error: unknown) => this.report(error));
  }

  private isAhead(candidate: C): boolean {
    return this.cursor === null || this.source.compare(candidate, this.cursor) > 0;
  }

  /** Compare-and-set of the checkpoint; it only ever moves forwards. */
  private async persist(): Promise<void> {
    const cursor = this.cursor;
    if (cursor === null) return;
    for (let attempt = 0; attempt < CHECKPOINT_CAS_ATTEMPTS; attempt += 1) {
      if (this.stored !== null && this.source.compare(this.stored.cursor, cursor) >= 0) return;
      const written = await this.source.writeCheckpoint(this.name, this.stored, cursor);
      if (written !== null) {
        this.stored = written;
        return;
      }
      // Another live instance of this name wrote in between: adopt its checkpoint as the base of
      // the next compare-and-set, and keep our own cursor (we never skip events we did not handle).
      this.report(new SubscriptionCheckpointConflictError(this.name));
      this.stored = await this.source.readCheckpoint(this.name);
    }
  }

  /** Waits `ms`; `stop()` always ends the wait, a notification only when `wakeOnNotify`. */
  private sleep(ms: number, wakeOnNotify: boolean): Promise<void> {
    if (this.stopping) return Promise.resolve();
    if (wakeOnNotify && this.pendingWake) {
      this.pendingWake = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        if (wakeOnNotify) this.pendingWake = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
      this.wakeOnNotify = wakeOnNotify;
    });
  }
}

/**
 * `source` without durable checkpoints: every subscription on it starts at the start of the log
 * and keeps its place in memory only (no checkpoint row, nothing to clean up).
 */
export function withoutCheckpoints<C>(source: CatchUpSource<C>): CatchUpSource<C> {
  return {
    readCheckpoint: async () => null,
    writeCheckpoint: async (_name, _previous, cursor) => ({ cursor, token: null }),
    readBatch: (after, filter, limit) => source.readBatch(after, filter, limit),
    compare: (a, b) => source.compare(a, b),
  };
}

/** The port's {@link LogReader} over an adapter's catch-up source: a cursor in memory, batch by batch. */
export class CatchUpReader<C, E extends EventData = EventData> implements LogReader<E> {
  /** Everything up to here was returned (or filtered out). */
  private cursor: C | null = null;

  constructor(
    private readonly source: CatchUpSource<C>,
    private readonly filter: AllFilter | undefined,
    private readonly batchSize: number = DEFAULT_READER_BATCH_SIZE,
  ) {}

  async next(): Promise<RecordedEvent<E>[]> {
    const batch = await this.source.readBatch(this.cursor, this.filter, this.batchSize);
    const last = batch.events[batch.events.length - 1];
    if (last) this.cursor = last.cursor;
    // Skip past what the filter dropped, so the next read does not scan it again.
    if (batch.scannedTo !== null && (this.cursor === null || this.source.compare(batch.scannedTo, this.cursor) > 0)) {
      this.cursor = batch.scannedTo;
    }
    return batch.events.map((item) => item.event as RecordedEvent<E>);
  }

  async catchUp(apply: (event: RecordedEvent<E>) => void | Promise<void>): Promise<number> {
    let total = 0;
    for (;;) {
      const events = await this.next();
      for (const event of events) await apply(event);
      total += events.length;
      if (events.length < this.batchSize) return total;
    }
  }

  reset(): void {
    this.cursor = null;
  }
}
