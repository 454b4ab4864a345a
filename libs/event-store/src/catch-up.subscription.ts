/**
 * The catch-up subscription loop, written once for every adapter: read a batch after the cursor,
 * hand each event to the handler, store the checkpoint (compare-and-set, never backwards), wait
 * when caught up, back off and retry the same event when something fails; for durable
 * subscriptions, hold the lease that makes one instance of a name the only one handling.
 */
import { EventStoreClosedError, SubscriptionCheckpointConflictError, SubscriptionLeaseLostError } from './event-store.errors';
import type { AllFilter, EventData, LogReader, RecordedEvent, SubscribeOptions, SubscriptionHandle } from './event-store.port';
import { decideAfterConflict, decideStandby, renewalDue, standbyPollMs, type LeaseWatch } from './subscription-lease.decider';
import type { LogFeedMember, SharedLogFeed } from './shared-log.feed';

/** A checkpoint as stored, with whatever the adapter needs for its compare-and-set. */
export interface StoredCheckpoint<C> {
  /** Null while the lease is held but nothing was handled yet. */
  readonly cursor: C | null;
  /** The running subscription holding the lease (see {@link decideStandby}); null when released. */
  readonly owner: string | null;
  /** Changes on every write (a primitive, compared with `===`). */
  readonly token: unknown;
}

/** What a checkpoint write stores. */
export interface CheckpointWrite<C> {
  readonly cursor: C | null;
  readonly owner: string | null;
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
  /**
   * Stores `next` only if the stored record is still `previous` (same token; null: there is no
   * record yet); resolves with the new record, or null when the record had changed.
   */
  writeCheckpoint(name: string, previous: StoredCheckpoint<C> | null, next: CheckpointWrite<C>): Promise<StoredCheckpoint<C> | null>;
  /** Matching events strictly after `after` (null: from the start), at most `limit`. */
  readBatch(after: C | null, filter: AllFilter | undefined, limit: number): Promise<CatchUpBatch<C>>;
  compare(a: C, b: C): number;
}

/**
 * Makes a durable subscription exclusive across instances: one owner handles, the others stand
 * by and take over once the owner released the lease or stopped renewing it for `ttlMs`.
 */
export interface SubscriptionLease {
  readonly ttlMs: number;
  /** This running subscription in the record; unique per subscription object. */
  readonly owner: string;
  /** Told when this subscription acquires (true) or loses / releases (false) the lease. */
  readonly onChange?: (owned: boolean, detail: { readonly reason: string }) => void;
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

/**
 * One running subscription; created by an adapter's `subscribe`. With a {@link SubscriptionLease}
 * it handles events only while it owns the lease (renewed by a timer every ttl/3, so a slow
 * handler does not lose it while the process lives) and stands by otherwise; `stop()` releases
 * the lease so a standby takes over at once. With a {@link SharedLogFeed} it reads the log
 * itself only until it has caught up, then takes its events from the process's one shared read
 * (and reads on its own again whenever the feed drops it, a handler fails or the lease is lost).
 */
export class CatchUpSubscription<C> implements SubscriptionHandle {
  private stopping = false;
  private pendingWake = false;
  private wake: (() => void) | null = null;
  private wakeOnNotify = false;
  private stored: StoredCheckpoint<C> | null = null;
  /** Everything up to here was handled (or filtered out). */
  private cursor: C | null = null;
  /** The checkpoint is loaded and (with a lease) ours: events may be handled. */
  private owning = false;
  private lastWriteAt = 0;
  private renewal: ReturnType<typeof setInterval> | null = null;
  /** A checkpoint write put off by `checkpointIntervalMs`. */
  private deferred: ReturnType<typeof setTimeout> | null = null;
  /** Checkpoint writes (batch ends, renewals, the release) run one at a time. */
  private writes: Promise<unknown> = Promise.resolve();
  /** Fed by the shared log read (null: reading the log itself). */
  private member: LogFeedMember<C> | null = null;
  private readonly finished: Promise<void>;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly retryDelayMs: number;

  constructor(
    readonly name: string,
    private readonly source: CatchUpSource<C>,
    private readonly options: SubscribeOptions,
    private readonly onFinished: (subscription: CatchUpSubscription<C>) => void,
    private readonly lease: SubscriptionLease | null = null,
    private readonly feed: SharedLogFeed<C> | null = null,
  ) {
    this.batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    this.finished = this.run().finally(() => this.onFinished(this));
  }

  /** Whether this subscription handles events now (always, once loaded, without a lease). */
  get owner(): boolean {
    return this.owning;
  }

  /** New events may be readable: skip the current idle wait. */
  notify(): void {
    this.pendingWake = true;
    if (this.wakeOnNotify) this.wake?.();
  }

  stop(): Promise<void> {
    this.stopping = true;
    this.leaveFeed();
    this.wake?.();
    return this.finished;
  }

  /** Whether it takes its events from the shared log read now (for tests). */
  get fed(): boolean {
    return this.member?.joined ?? false;
  }

  private leaveFeed(): void {
    this.member?.leave();
    this.member = null;
  }

  /** The next batch: from the shared feed while joined, else read after our cursor. Null: just left the feed. */
  private async nextBatch(): Promise<CatchUpBatch<C> | null> {
    if (this.member !== null) {
      const fed = await this.member.take(this.batchSize);
      if (fed !== null) return fed;
      this.member = null;
      return null;
    }
    return this.source.readBatch(this.cursor, this.options.filter, this.batchSize);
  }

  private report(error: unknown, event?: RecordedEvent): void {
    try {
      this.options.onError?.(error, event);
    } catch {
      // A failing error callback must not kill the loop that reports to it.
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        if (!this.owning) {
          if (!(await this.acquire())) break;
        }
        const batch = await this.nextBatch();
        if (batch === null) continue;
        const handled = await this.handle(batch.events);
        if (!this.owning) continue;
        const complete = handled === batch.events.length;
        if (complete && batch.scannedTo !== null && this.isAhead(batch.scannedTo)) {
          this.cursor = batch.scannedTo;
        }
        // Only batches that handled something are worth a write; idle polls keep the cursor in memory.
        if (handled > 0) await this.checkpoint();
        failures = 0;
        if (this.member === null && this.owning && batch.events.length < this.batchSize) {
          // Caught up with everything readable: from now on the shared read feeds us (when it can).
          if (complete && batch.scannedTo !== null && !this.stopping && this.feed !== null) {
            this.member = this.feed.join(this.cursor, this.options.filter, this.pollIntervalMs);
          }
          if (this.member === null) await this.sleep(this.pollIntervalMs, true);
        }
      } catch (error) {
        // The events taken from the feed after the failed one are gone from it: read them again ourselves.
        this.leaveFeed();
        // The store was closed under us (close() stops its own subscriptions first): nothing to retry.
        if (error instanceof EventStoreClosedError) {
          this.endRenewal();
          this.endDeferred();
          return;
        }
        failures += 1;
        if (error instanceof HandlerFailure) this.report(error.error, error.event);
        else this.report(error);
        // Keep the progress made before the failure, so a restart does not redo it.
        if (this.owning) await this.persist(false).catch(() => undefined);
        // New appends do not shorten a back-off: the failure is what we wait out.
        await this.sleep(Math.min(this.retryDelayMs * 2 ** (failures - 1), MAX_RETRY_DELAY_MS), false);
      }
    }
    if (this.owning) await this.release().catch((error: unknown) => this.report(error));
  }

  /** Hands the batch to the handler; how many events were handled (the cursor includes them). */
  private async handle(events: CatchUpBatch<C>['events']): Promise<number> {
    const { handler, handleBatch } = this.options;
    if (handleBatch) {
      const last = events[events.length - 1];
      if (last === undefined || this.stopping || !this.owning) return 0;
      try {
        await handleBatch(events.map((item) => item.event));
      } catch (error) {
        throw new HandlerFailure(error, events[0]!.event);
      }
      this.cursor = last.cursor;
      return events.length;
    }
    let handled = 0;
    for (const item of events) {
      // Deposed by a renewal that found another owner: not one more event.
      if (this.stopping || !this.owning) break;
      try {
        await handler!(item.event);
      } catch (error) {
        throw new HandlerFailure(error, item.event);
      }
      this.cursor = item.cursor;
      handled += 1;
    }
    return handled;
  }

  /**
   * Loads the checkpoint; with a lease, stands by until this subscription holds it. False when
   * stopped first.
   */
  private async acquire(): Promise<boolean> {
    const lease = this.lease;
    if (lease === null) {
      this.stored = await this.source.readCheckpoint(this.name);
      this.cursor = this.stored?.cursor ?? null;
      this.owning = true;
      return true;
    }
    let watch: LeaseWatch | null = null;
    while (!this.stopping) {
      const record = await this.source.readCheckpoint(this.name);
      const decision = decideStandby(record, watch, lease.owner, performance.now(), lease.ttlMs);
      if (decision.kind === 'wait') {
        watch = decision.watch;
        await this.sleep(standbyPollMs(lease.ttlMs), false);
        continue;
      }
      const written = await this.source.writeCheckpoint(this.name, record, { cursor: record?.cursor ?? null, owner: lease.owner });
      // Another standby was faster: watch the record it wrote.
      if (written === null) continue;
      this.stored = written;
      this.cursor = written.cursor;
      this.owning = true;
      this.lastWriteAt = performance.now();
      this.startRenewal(lease);
      this.tell(true, decision.reason);
      return true;
    }
    return false;
  }

  /** After a batch that handled something: the checkpoint now, or once `checkpointIntervalMs` since the last write is over. */
  private async checkpoint(): Promise<void> {
    const interval = this.options.checkpointIntervalMs ?? 0;
    const wait = this.lastWriteAt + interval - performance.now();
    if (interval <= 0 || wait <= 0) return this.persist(false);
    if (this.deferred !== null) return;
    this.deferred = setTimeout(() => {
      this.deferred = null;
      this.persist(false).catch((error: unknown) => this.report(error));
    }, Math.ceil(wait));
    this.deferred.unref?.();
  }

  private endDeferred(): void {
    if (this.deferred !== null) clearTimeout(this.deferred);
    this.deferred = null;
  }

  private startRenewal(lease: SubscriptionLease): void {
    this.endRenewal();
    this.renewal = setInterval(() => {
      if (!this.owning || !renewalDue(this.lastWriteAt, performance.now(), lease.ttlMs)) return;
      this.persist(true).catch((error: unknown) => this.report(error));
    }, Math.max(1, Math.round(lease.ttlMs / 9)));
    this.renewal.unref?.();
  }

  private endRenewal(): void {
    if (this.renewal !== null) clearInterval(this.renewal);
    this.renewal = null;
  }

  private tell(owned: boolean, reason: string): void {
    try {
      this.lease?.onChange?.(owned, { reason });
    } catch {
      // An observer must not break the subscription.
    }
  }

  /** Deposed: another instance holds the lease. Stop handling; stand by again. */
  private lose(): void {
    this.leaveFeed();
    this.endDeferred();
    this.owning = false;
    this.stored = null;
    this.cursor = null;
    this.endRenewal();
    this.report(new SubscriptionLeaseLostError(this.name));
    this.tell(false, 'taken over by another instance');
  }

  private isAhead(candidate: C): boolean {
    return this.cursor === null || this.source.compare(candidate, this.cursor) > 0;
  }

  /** The stored cursor or ours, whichever is further: what a write may store (never backwards). */
  private furthest(): C | null {
    const stored = this.stored?.cursor ?? null;
    if (stored === null) return this.cursor;
    return this.cursor !== null && this.source.compare(this.cursor, stored) > 0 ? this.cursor : stored;
  }

  /** Runs checkpoint writes one at a time (the renewal timer and the loop share the record's token). */
  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = this.writes.then(work, work);
    this.writes = next.catch(() => undefined);
    return next;
  }

  /**
   * Compare-and-set of the checkpoint; it only ever moves forwards. `renew`: write even when the
   * cursor did not move (the lease's heartbeat).
   */
  private persist(renew: boolean): Promise<void> {
    return this.serialized(async () => {
      for (let attempt = 0; attempt < CHECKPOINT_CAS_ATTEMPTS; attempt += 1) {
        if (!this.owning) return;
        const cursor = this.furthest();
        const moved = cursor !== null && (this.stored?.cursor == null || this.source.compare(cursor, this.stored.cursor) > 0);
        if (!moved && !renew) return;
        const written = await this.source.writeCheckpoint(this.name, this.stored, { cursor, owner: this.lease?.owner ?? null });
        if (written !== null) {
          this.stored = written;
          this.lastWriteAt = performance.now();
          return;
        }
        const current = await this.source.readCheckpoint(this.name);
        if (this.lease !== null && decideAfterConflict(current, this.lease.owner) === 'deposed') return this.lose();
        // A writer that ignores leases (an older build) moved it: adopt its record as the base of
        // the next compare-and-set, and keep our own cursor (we never skip events we did not handle).
        this.report(new SubscriptionCheckpointConflictError(this.name));
        this.stored = current;
      }
    });
  }

  /** On stop: the last checkpoint, and the lease handed back so a standby takes over at once. */
  private async release(): Promise<void> {
    this.endRenewal();
    this.endDeferred();
    await this.persist(false);
    if (this.lease === null || !this.owning) return;
    await this.serialized(async () => {
      if (!this.owning) return;
      const written = await this.source.writeCheckpoint(this.name, this.stored, { cursor: this.furthest(), owner: null });
      this.owning = false;
      if (written !== null) this.stored = written;
      this.tell(false, written !== null ? 'released on stop' : 'taken over by another instance');
    });
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
    writeCheckpoint: async (_name, _previous, next) => ({ ...next, token: null }),
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
