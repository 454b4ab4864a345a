import { BatchPump } from './batch-pump';
import type { HeadCondition } from '../event-store.rules';
import type { AppendResult } from '../event-store.port';

/** One append waiting for its batch: the stream, its head condition and its events as a JSON array. */
export interface BatchedAppend {
  readonly stream: string;
  readonly condition: HeadCondition;
  readonly ids: readonly string[];
  /** The validated events, already serialised (`[{id, type, data, metadata}, ...]`). */
  readonly json: string;
}

/**
 * What became of a batched append: appended; `unmet` (the condition did not hold, nothing was
 * written: the caller decides carefully, as after a failed one-statement append); or `superseded`
 * (an earlier append to the same stream expecting the same head was appended, so this one cannot
 * hold any more: a certain conflict with the head that append left).
 */
export type BatchedOutcome =
  | { readonly kind: 'appended'; readonly result: AppendResult }
  | { readonly kind: 'unmet' }
  | { readonly kind: 'superseded'; readonly head: bigint };

/** How the batcher reaches the database. */
export interface AppendBatchRunner {
  /**
   * Appends every entry (distinct streams) in one statement, one transaction: per entry its
   * result, or null when its condition did not hold. Rejects when the statement failed as a whole.
   */
  batch(entries: readonly BatchedAppend[]): Promise<(AppendResult | null)[]>;
  /** The same for one entry alone (the fallback when a batch failed as a whole). */
  one(entry: BatchedAppend): Promise<AppendResult | null>;
}

/** Streams whose last landed append the batcher remembers (a stale expectation of one is answered without a statement). */
export const REMEMBERED_HEADS = 4096;

/** Appends per group commit unless configured. */
export const DEFAULT_GROUP_COMMIT_APPENDS = 64;

export interface AppendBatcherOptions {
  /** Batches in flight at once (each holds one connection). */
  readonly maxBatches: number;
  /** Appends in one batch at most. */
  readonly maxAppends: number;
}

/** An append that moved its stream's head from the exact revision `from` to `head`. */
interface Landed {
  readonly from: bigint;
  readonly head: bigint;
  readonly ids: ReadonlySet<string>;
}

function landedOf(outcome: BatchedOutcome, entry: BatchedAppend): Landed | null {
  if (outcome.kind !== 'appended' || entry.condition.exact === null) return null;
  return { from: entry.condition.exact, head: outcome.result.nextRevision, ids: new Set(entry.ids) };
}

interface Waiting {
  readonly entry: BatchedAppend;
  readonly resolve: (outcome: BatchedOutcome) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit of concurrent one-statement appends: appends to different streams that arrive
 * while earlier batches are in flight (or in the same turn of the event loop) are written by one
 * statement in one transaction, so N commands pay one round trip and one commit (one WAL flush)
 * instead of N. Each append keeps its own expected-revision check and its own answer; its promise
 * settles only after the transaction that holds its events committed.
 *
 * Appends to the same stream are never in one batch: the second waits for the first to settle.
 * When the first was appended and the second expected the same head with other event ids, the
 * second cannot hold any more and is answered at once (`superseded`) instead of queueing on the
 * stream's lock in the database: N concurrent commands on one stream cost one write, not N.
 *
 * A batch that fails as a whole (a unique-key race on a new stream, a value the database refuses
 * in one entry, a lost connection) is retried entry by entry, so each append gets its own answer
 * and one bad append never fails the others.
 */
export class AppendBatcher {
  private readonly queue: Waiting[] = [];
  /** Per stream, the last append queued or in flight (later appends of the stream wait for it). */
  private readonly lastOfStream = new Map<string, Promise<Landed | null>>();
  /** Per stream, the last append this batcher saw land (bounded, oldest first): heads only move forward. */
  private readonly landedHeads = new Map<string, Landed>();
  private readonly pump: BatchPump<Waiting[]>;

  constructor(
    private readonly runner: AppendBatchRunner,
    options: AppendBatcherOptions,
  ) {
    this.pump = new BatchPump(
      options.maxBatches,
      () => (this.queue.length > 0 ? this.queue.splice(0, options.maxAppends) : null),
      (batch) => this.run(batch),
    );
  }

  append(entry: BatchedAppend): Promise<BatchedOutcome> {
    const before = this.lastOfStream.get(entry.stream);
    const outcome = before === undefined ? this.after(this.landedHeads.get(entry.stream) ?? null, entry) : before.then((landed) => this.after(landed, entry));
    // A superseded append leaves the head where the append before it did: the next one is judged by that.
    const landed = outcome.then(
      async (o) => (o.kind === 'superseded' ? ((await before) ?? null) : this.remember(entry.stream, landedOf(o, entry))),
      () => null,
    );
    this.lastOfStream.set(entry.stream, landed);
    void landed.then(() => {
      if (this.lastOfStream.get(entry.stream) === landed) this.lastOfStream.delete(entry.stream);
    });
    return outcome;
  }

  /**
   * An append after an earlier append of its stream landed (one it waited for, or the last one
   * remembered, however long ago). That one moved the head away from `landed.from` (heads only
   * move forward), so an append expecting that same head cannot hold; nor can it be an
   * idempotent repeat, since its ids are not the ones stored there. The contended approve's
   * losers that decided on the state before the grant are answered here, without a statement.
   */
  private after(landed: Landed | null, entry: BatchedAppend): Promise<BatchedOutcome> {
    if (landed !== null && entry.condition.exact === landed.from && !entry.ids.some((id) => landed.ids.has(id))) {
      return Promise.resolve({ kind: 'superseded', head: landed.head });
    }
    return this.enqueue(entry);
  }

  private remember(stream: string, landed: Landed | null): Landed | null {
    if (landed === null) return null;
    this.landedHeads.delete(stream);
    this.landedHeads.set(stream, landed);
    if (this.landedHeads.size > REMEMBERED_HEADS) this.landedHeads.delete(this.landedHeads.keys().next().value!);
    return landed;
  }

  private enqueue(entry: BatchedAppend): Promise<BatchedOutcome> {
    return new Promise<BatchedOutcome>((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      // The appends issued in this turn of the event loop (several requests' I/O callbacks) go together.
      this.pump.kick();
    });
  }

  private async run(batch: readonly Waiting[]): Promise<void> {
    let results: (AppendResult | null)[];
    try {
      results = batch.length === 1 ? [await this.runner.one(batch[0]!.entry)] : await this.runner.batch(batch.map((w) => w.entry));
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      // Failed as a whole: nothing of it was written (one transaction); each entry alone.
      await Promise.all(
        batch.map(async (w) => {
          try {
            this.settle(w, await this.runner.one(w.entry));
          } catch (oneError) {
            w.reject(oneError);
          }
        }),
      );
      return;
    }
    batch.forEach((w, i) => this.settle(w, results[i] ?? null));
  }

  private settle(w: Waiting, result: AppendResult | null): void {
    w.resolve(result === null ? { kind: 'unmet' } : { kind: 'appended', result });
  }
}
