/**
 * One reader of the global log per store, shared by the process's catch-up subscriptions that
 * are at the head (issue 15): it reads `$all` forwards, unfiltered, once, and hands each member
 * the events its own filter matches. Before it, every subscription read the log itself after
 * every append (0.4 log reads per approve, each a socket write of ~200 µs of CPU).
 *
 * What it does not change: each subscription keeps its own cursor, checkpoint, lease and
 * filter, and handles its events in its own loop; a member is only a queue the feed fills. A
 * subscription joins once its own read found it caught up, at a cursor the feed can serve from
 * (its recent events are kept for that); it leaves, and reads on its own again from its own
 * cursor, when it falls more than a bounded queue behind (a slow handler never holds the others
 * up), when a handler fails (the batch comes again from the store), when it loses its lease or
 * stops, and when the feed's read fails.
 *
 * Members are handed the same event objects (one parse per read, not one per subscription):
 * handlers read events, none may change them (none in this repository does).
 */
import { matchesFilter } from './event-store.rules';
import type { AllFilter, RecordedEvent } from './event-store.port';
import type { CatchUpBatch } from './catch-up.subscription';

/** The part of an adapter's catch-up source the feed reads. */
export interface LogFeedSource<C> {
  readBatch(after: C | null, filter: AllFilter | undefined, limit: number): Promise<CatchUpBatch<C>>;
  compare(a: C, b: C): number;
}

export interface SharedLogFeedOptions {
  /** Events per read of the log; default 1000. */
  readonly batchSize?: number;
  /** The most recent events kept so a subscription a little behind can still join; default 2000. */
  readonly recentEvents?: number;
  /** A member with more events than this waiting is dropped back to its own reads; default 5000. */
  readonly maxQueuedEvents?: number;
}

const DEFAULT_FEED_BATCH = 1000;
const DEFAULT_RECENT_EVENTS = 2000;
const DEFAULT_MAX_QUEUED = 5000;

type Item<C> = { readonly event: RecordedEvent; readonly cursor: C };

/** Null is before every cursor (the start of the log). */
function compareOrNull<C>(compare: (a: C, b: C) => number, a: C | null, b: C | null): number {
  if (a === null) return b === null ? 0 : -1;
  if (b === null) return 1;
  return compare(a, b);
}

/**
 * One subscription's place in the feed: the matching events the feed read after the cursor it
 * joined at, in log order, not yet taken.
 */
export class LogFeedMember<C> {
  private readonly queue: Item<C>[] = [];
  /** Index of the first event not taken yet (the queue is compacted now and then). */
  private head = 0;
  /** The feed's reads reached here: the cursor after the last queued event, or further. */
  private reachedTo: C | null;
  /** `reachedTo` moved since the last take (filtered-out events only, maybe): worth telling the subscription. */
  private advanced = false;
  private active = true;
  private waiter: ((value: boolean) => void) | null = null;

  constructor(
    private readonly feed: SharedLogFeed<C>,
    readonly filter: AllFilter | undefined,
    readonly pollIntervalMs: number,
    from: C | null,
  ) {
    this.reachedTo = from;
  }

  /** Still fed (false once dropped or left: read from the store again). */
  get joined(): boolean {
    return this.active;
  }

  get queued(): number {
    return this.queue.length - this.head;
  }

  /**
   * The next matching events (at most `limit`; none when the feed only read past events the
   * filter drops), waiting for the feed when it has read nothing new; `scannedTo` when they are
   * all the feed read so far. Null once the member is no longer fed: the caller reads from the
   * store from its own cursor.
   */
  async take(limit: number): Promise<CatchUpBatch<C> | null> {
    while (this.active && this.queued === 0 && !this.advanced) {
      await new Promise<boolean>((resolve) => (this.waiter = resolve));
    }
    if (!this.active) return null;
    this.advanced = false;
    const end = Math.min(this.queue.length, this.head + limit);
    const events = this.queue.slice(this.head, end);
    this.head = end;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return { events, scannedTo: this.queued === 0 ? this.reachedTo : null };
  }

  /** No longer fed; a pending `take` resolves with null. Idempotent. */
  leave(): void {
    if (!this.active) return;
    this.active = false;
    this.queue.length = 0;
    this.head = 0;
    this.feed.remove(this);
    this.wakeUp();
  }

  /** The feed read `items` (everything after the previous `to`, up to `to`); false: dropped for lagging. */
  offer(items: readonly Item<C>[], to: C, compare: (a: C, b: C) => number, maxQueued: number): boolean {
    if (!this.active || compareOrNull(compare, to, this.reachedTo) <= 0) return true;
    for (const item of items) {
      if (compareOrNull(compare, item.cursor, this.reachedTo) > 0 && matchesFilter(item.event, this.filter)) this.queue.push(item);
    }
    this.reachedTo = to;
    this.advanced = true;
    if (this.queued > maxQueued) return false;
    this.wakeUp();
    return true;
  }

  private wakeUp(): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.(true);
  }
}

/** See the file's comment. `C` is the adapter's log cursor. */
export class SharedLogFeed<C> {
  private readonly members = new Set<LogFeedMember<C>>();
  /** Everything up to here was read and offered to the members. */
  private readTo: C | null = null;
  /** The last events read (all of them, unfiltered), covering everything in `(recentFrom, readTo]`. */
  private recent: Item<C>[] = [];
  private recentFrom: C | null = null;
  private running = false;
  private closed = false;
  /** Moves when the feed restarts at a new cursor: a read begun before is not offered. */
  private epoch = 0;
  private pendingWake = false;
  private wake: (() => void) | null = null;
  private readonly batchSize: number;
  private readonly recentEvents: number;
  private readonly maxQueued: number;
  /** Log reads made (for tests and profiles). */
  reads = 0;

  constructor(
    private readonly source: LogFeedSource<C>,
    options: SharedLogFeedOptions = {},
  ) {
    this.batchSize = options.batchSize ?? DEFAULT_FEED_BATCH;
    this.recentEvents = options.recentEvents ?? DEFAULT_RECENT_EVENTS;
    this.maxQueued = Math.max(options.maxQueuedEvents ?? DEFAULT_MAX_QUEUED, this.batchSize);
  }

  get size(): number {
    return this.members.size;
  }

  /**
   * A member that is fed every matching event after `cursor` (a subscription that has handled, or
   * filtered out, everything up to it and found nothing more readable), or null when the feed no
   * longer holds what lies between `cursor` and what it read (keep reading on your own).
   */
  join(cursor: C | null, filter: AllFilter | undefined, pollIntervalMs: number): LogFeedMember<C> | null {
    if (this.closed) return null;
    const compare = (a: C | null, b: C | null) => compareOrNull(this.source.compare, a, b);
    if (this.members.size === 0) {
      // Nobody is fed: start reading where this subscription stands (nothing older is needed).
      this.epoch += 1;
      this.readTo = cursor;
      this.recent = [];
      this.recentFrom = cursor;
    } else if (compare(cursor, this.recentFrom) < 0) {
      return null;
    }
    const member = new LogFeedMember<C>(this, filter, pollIntervalMs, cursor);
    this.members.add(member);
    if (this.readTo !== null && compare(this.readTo, cursor) > 0) member.offer(this.recent, this.readTo, this.source.compare, Number.POSITIVE_INFINITY);
    if (!this.running) void this.run();
    else this.wake?.();
    return member;
  }

  /** New events may be readable (an append of this process): read without waiting out the poll. */
  notify(): void {
    this.pendingWake = true;
    this.wake?.();
  }

  /** Drops every member (each reads on its own, and finds the store closed) and reads no more. */
  close(): void {
    this.closed = true;
    this.dropAll();
    this.wake?.();
  }

  /** Called by a member that leaves. */
  remove(member: LogFeedMember<C>): void {
    this.members.delete(member);
    if (this.members.size === 0) this.wake?.();
  }

  private dropAll(): void {
    for (const member of [...this.members]) member.leave();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      let full = false;
      while (this.members.size > 0 && !this.closed) {
        if (!full) await this.idle();
        if (this.members.size === 0 || this.closed) break;
        this.pendingWake = false;
        const epoch = this.epoch;
        const from = this.readTo;
        let batch: CatchUpBatch<C>;
        try {
          this.reads += 1;
          batch = await this.source.readBatch(from, undefined, this.batchSize);
        } catch {
          // Each member reads on its own again, where the failure is reported and backed off.
          this.dropAll();
          break;
        }
        if (epoch !== this.epoch) {
          full = true;
          continue;
        }
        full = batch.events.length >= this.batchSize;
        const last = batch.events[batch.events.length - 1];
        const to = batch.scannedTo ?? last?.cursor ?? null;
        if (to === null || compareOrNull(this.source.compare, to, this.readTo) <= 0) continue;
        this.remember(batch.events);
        for (const member of [...this.members]) {
          if (!member.offer(batch.events, to, this.source.compare, this.maxQueued)) member.leave();
        }
        this.readTo = to;
      }
    } catch {
      // Nothing above should throw; if it does, nobody waits on a feed that stopped.
      this.dropAll();
    } finally {
      this.running = false;
      // A member may have joined while the last read was in flight, after the loop decided to end.
      if (this.members.size > 0 && !this.closed) void this.run();
    }
  }

  private remember(events: readonly Item<C>[]): void {
    for (const item of events) this.recent.push(item);
    const excess = this.recent.length - this.recentEvents;
    if (excess > 0) {
      this.recentFrom = this.recent[excess - 1]!.cursor;
      this.recent = this.recent.slice(excess);
    }
  }

  /** Waits for a notification or the shortest poll interval of the members. */
  private idle(): Promise<void> {
    if (this.pendingWake) {
      this.pendingWake = false;
      return Promise.resolve();
    }
    let ms = Number.POSITIVE_INFINITY;
    for (const member of this.members) ms = Math.min(ms, member.pollIntervalMs);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, Number.isFinite(ms) ? ms : 0);
      this.wake = done;
    });
  }
}
