/**
 * Coalescing of concurrent whole-stream reads: `readStream(s)` calls for different streams that
 * arrive while earlier reads are in flight (or in the same turn of the event loop) leave as one
 * query over all of them, so N commands loading N jobs pay one round trip (one socket write, one
 * statement) instead of N. Issue 15's profile of the approval service put a third of its CPU in
 * the pg driver's socket writes, one per query.
 *
 * A read joins only a batch that has not been sent yet, so it always sees every append that
 * committed before it was called (read-your-writes holds). A batch that fails as a whole is
 * retried stream by stream, so each caller gets its own answer (its own error).
 */
import { BatchPump } from './batch-pump';

export interface ReadCoalescerRunner<R> {
  /** The events of several distinct streams, in the order asked. */
  many(streams: readonly string[]): Promise<R[]>;
  /** The events of one stream. */
  one(stream: string): Promise<R>;
}

interface WaitingRead<R> {
  readonly resolve: (value: R) => void;
  readonly reject: (error: unknown) => void;
}

export class ReadCoalescer<R> {
  /** Reads not yet sent, by stream (callers of one stream share its read). */
  private queue = new Map<string, WaitingRead<R>[]>();
  private readonly pump: BatchPump<[string, WaitingRead<R>[]][]>;

  constructor(
    private readonly runner: ReadCoalescerRunner<R>,
    options: { readonly maxBatches: number; readonly maxStreams: number },
  ) {
    this.pump = new BatchPump(options.maxBatches, () => this.take(options.maxStreams), (batch) => this.run(batch));
  }

  read(stream: string): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const waiting = this.queue.get(stream);
      if (waiting) waiting.push({ resolve, reject });
      else this.queue.set(stream, [{ resolve, reject }]);
      this.pump.kick();
    });
  }

  /** Up to `max` queued streams, taken off the queue (null: nothing queued). */
  private take(max: number): [string, WaitingRead<R>[]][] | null {
    if (this.queue.size === 0) return null;
    const batch: [string, WaitingRead<R>[]][] = [];
    for (const entry of this.queue) {
      batch.push(entry);
      if (batch.length >= max) break;
    }
    for (const [stream] of batch) this.queue.delete(stream);
    return batch;
  }

  private async run(batch: readonly [string, WaitingRead<R>[]][]): Promise<void> {
    if (batch.length > 1) {
      try {
        const results = await this.runner.many(batch.map(([stream]) => stream));
        batch.forEach(([, waiting], i) => waiting.forEach((w) => w.resolve(results[i]!)));
        return;
      } catch {
        // Failed as a whole: each stream alone, so each caller gets its own answer.
      }
    }
    await Promise.all(
      batch.map(async ([stream, waiting]) => {
        try {
          const result = await this.runner.one(stream);
          waiting.forEach((w) => w.resolve(result));
        } catch (error) {
          waiting.forEach((w) => w.reject(error));
        }
      }),
    );
  }
}
