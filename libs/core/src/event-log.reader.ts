import type { SignoffEvent } from '@signoff/contracts';
import type { EventStore, RecordedEvent } from '@signoff/event-store';

/**
 * Reads events of the given types from the global log page by page, from position 0, in log
 * order: a catch-up subscription without a stored checkpoint, for in-memory indexes (the dispatch
 * service's dispatch log and dispatch-status projection, the policy service's list of UNKNOWN
 * jobs) that must be rebuilt from the start of the log at every start; `EventStore.subscribe`
 * resumes after a durable checkpoint and would skip what the new process never saw. No stream
 * filter: the dispatch log reads job streams and the policy stream in one order, and every reader
 * checks each event's stream itself.
 */
export class EventLogReader {
  private last: { position: bigint; id: string } | null = null;

  constructor(
    private readonly store: EventStore,
    private readonly eventTypes: readonly string[],
    private readonly pageSize = 5000,
  ) {}

  /** Back to position 0. */
  reset(): void {
    this.last = null;
  }

  /** The next page of matching events after the last one read ([] when caught up). */
  async next(): Promise<RecordedEvent<SignoffEvent>[]> {
    const filter = { eventTypes: this.eventTypes };
    if (this.last === null) {
      const page = await this.store.readAll<SignoffEvent>({ maxCount: this.pageSize, filter });
      this.remember(page);
      return page;
    }
    // `fromPosition` is inclusive: ask for one more and drop the event already read.
    const page = await this.store.readAll<SignoffEvent>({ fromPosition: this.last.position, maxCount: this.pageSize + 1, filter });
    const fresh = page.length > 0 && page[0].id === this.last.id ? page.slice(1) : page;
    this.remember(fresh);
    return fresh;
  }

  /** Reads until caught up; calls `apply` for every event; returns how many were read. */
  async catchUp(apply: (event: RecordedEvent<SignoffEvent>) => void): Promise<number> {
    let total = 0;
    for (;;) {
      const page = await this.next();
      for (const event of page) apply(event);
      total += page.length;
      if (page.length < this.pageSize) return total;
    }
  }

  private remember(page: readonly RecordedEvent<SignoffEvent>[]): void {
    const lastEvent = page[page.length - 1];
    if (lastEvent) this.last = { position: lastEvent.position, id: lastEvent.id };
  }
}
