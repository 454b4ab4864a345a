/**
 * An in-memory catch-up source for the subscription loop's unit specs (a log whose cursor is the
 * 1-based index of the last event covered, checkpoints with the SQL adapters' compare-and-set).
 */
import type { CatchUpBatch, CatchUpSource, CheckpointWrite, StoredCheckpoint } from '../catch-up.subscription';
import type { AllFilter, RecordedEvent } from '../event-store.port';
import { matchesFilter } from '../event-store.rules';

/** An in-memory log whose cursor is the 1-based index of the last event covered. */
export class FakeSource implements CatchUpSource<number> {
  readonly log: RecordedEvent[] = [];
  /** The stored cursors (a test may move one as a writer that ignores leases would). */
  readonly stored = new Map<string, number | null>();
  readonly owners = new Map<string, string | null>();
  readonly versions = new Map<string, number>();
  /** The cursors of writes that moved the checkpoint. */
  readonly writes: number[] = [];
  failingReads = 0;

  append(count: number, type = 'E', streamId = 's'): void {
    for (let i = 0; i < count; i += 1) {
      const n = this.log.length;
      this.log.push({
        id: `id-${n}`,
        type,
        data: { n },
        metadata: {},
        streamId,
        revision: BigInt(n),
        position: BigInt(n + 1),
        createdAt: new Date(0),
      });
    }
  }

  async readCheckpoint(name: string): Promise<StoredCheckpoint<number> | null> {
    if (!this.stored.has(name)) return null;
    return { cursor: this.stored.get(name) ?? null, owner: this.owners.get(name) ?? null, token: this.versions.get(name) ?? 0 };
  }

  async writeCheckpoint(name: string, previous: StoredCheckpoint<number> | null, next: CheckpointWrite<number>): Promise<StoredCheckpoint<number> | null> {
    // The SQL adapters' compare-and-set: the record's version and its cursor.
    if (previous === null ? this.stored.has(name) : previous.token !== (this.versions.get(name) ?? 0) || previous.cursor !== this.stored.get(name)) return null;
    const version = (this.versions.get(name) ?? 0) + 1;
    if (next.cursor !== null && next.cursor !== this.stored.get(name)) this.writes.push(next.cursor);
    this.stored.set(name, next.cursor);
    this.owners.set(name, next.owner);
    this.versions.set(name, version);
    return { ...next, token: version };
  }

  async readBatch(after: number | null, filter: AllFilter | undefined, limit: number): Promise<CatchUpBatch<number>> {
    if (this.failingReads > 0) {
      this.failingReads -= 1;
      throw new Error('database down');
    }
    const events: Array<{ event: RecordedEvent; cursor: number }> = [];
    for (let i = after ?? 0; i < this.log.length && events.length < limit; i += 1) {
      if (matchesFilter(this.log[i]!, filter)) events.push({ event: this.log[i]!, cursor: i + 1 });
    }
    return { events, scannedTo: events.length < limit ? this.log.length : null };
  }

  compare(a: number, b: number): number {
    return a - b;
  }
}

export async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

