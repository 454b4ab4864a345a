import { describe, expect, it } from 'vitest';
import { CatchUpReader, CatchUpSubscription, withoutCheckpoints, type CatchUpBatch, type CatchUpSource, type StoredCheckpoint } from './catch-up.subscription';
import { EventStoreClosedError, SubscriptionCheckpointConflictError } from './event-store.errors';
import type { AllFilter, RecordedEvent, SubscribeOptions } from './event-store.port';
import { matchesFilter } from './event-store.rules';

/** An in-memory log whose cursor is the 1-based index of the last event covered. */
class FakeSource implements CatchUpSource<number> {
  readonly log: RecordedEvent[] = [];
  readonly stored = new Map<string, number>();
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
    const cursor = this.stored.get(name);
    return cursor === undefined ? null : { cursor, token: cursor };
  }

  async writeCheckpoint(name: string, previous: StoredCheckpoint<number> | null, cursor: number): Promise<StoredCheckpoint<number> | null> {
    if (previous?.cursor !== this.stored.get(name)) return null;
    this.stored.set(name, cursor);
    this.writes.push(cursor);
    return { cursor, token: cursor };
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

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function start(source: FakeSource, options: Partial<SubscribeOptions> & Pick<SubscribeOptions, 'handler'>, name = 'sub') {
  return new CatchUpSubscription<number>(name, source, { pollIntervalMs: 5, retryDelayMs: 1, ...options }, () => undefined);
}

describe('CatchUpSubscription', () => {
  it('delivers in order and checkpoints after every batch that handled something', async () => {
    const source = new FakeSource();
    source.append(10);
    const seen: number[] = [];
    const sub = start(source, { batchSize: 4, handler: (e) => void seen.push(Number(e.revision)) });
    await until(() => seen.length === 10);
    await sub.stop();
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(source.writes).toEqual([4, 8, 10]);
  });

  it('stopped inside a batch, it stores exactly what was handled; the next instance continues from there', async () => {
    const source = new FakeSource();
    source.append(10);
    const seen: number[] = [];
    let stopping: Promise<void> | undefined;
    const first: CatchUpSubscription<number> = start(source, {
      batchSize: 4,
      handler: (e) => {
        seen.push(Number(e.revision));
        if (seen.length === 6) stopping = first.stop();
      },
    });
    await until(() => stopping !== undefined);
    await stopping;
    expect(seen).toHaveLength(6);
    expect(source.stored.get('sub')).toBe(6);
    const second = start(source, { batchSize: 4, handler: (e) => void seen.push(Number(e.revision)) });
    await until(() => seen.length === 10);
    await second.stop();
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('moves the checkpoint past events its filter drops', async () => {
    const source = new FakeSource();
    source.append(3, 'Wanted');
    source.append(5, 'Other');
    const seen: string[] = [];
    const sub = start(source, { filter: { eventTypes: ['Wanted'] }, handler: (e) => void seen.push(e.id) });
    await until(() => seen.length === 3);
    await sub.stop();
    expect(source.stored.get('sub')).toBe(8);
  });

  it('redelivers the event whose handler failed, after a back-off, and keeps the progress made before it', async () => {
    const source = new FakeSource();
    source.append(5);
    const seen: number[] = [];
    const errors: Array<[unknown, RecordedEvent | undefined]> = [];
    let failures = 0;
    let storedAtFailure: number | undefined;
    const sub = start(source, {
      batchSize: 10,
      handler: (e) => {
        if (e.revision === 3n && failures < 3) {
          failures += 1;
          if (failures === 2) storedAtFailure = source.stored.get('sub');
          throw new Error('boom');
        }
        seen.push(Number(e.revision));
      },
      onError: (error, event) => errors.push([error, event]),
    });
    await until(() => seen.length === 5);
    await sub.stop();
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(storedAtFailure).toBe(3);
    expect(errors).toHaveLength(3);
    expect(errors.every(([error, event]) => (error as Error).message === 'boom' && event?.revision === 3n)).toBe(true);
  });

  it('reports store failures and retries', async () => {
    const source = new FakeSource();
    source.append(2);
    source.failingReads = 2;
    const errors: unknown[] = [];
    const seen: string[] = [];
    const sub = start(source, { handler: (e) => void seen.push(e.id), onError: (error) => errors.push(error) });
    await until(() => seen.length === 2);
    await sub.stop();
    expect(errors.map((e) => (e as Error).message)).toEqual(['database down', 'database down']);
  });

  it('a checkpoint moved ahead by another instance is never moved back, and no event is skipped', async () => {
    const source = new FakeSource();
    source.append(10);
    const seen: number[] = [];
    const errors: unknown[] = [];
    const sub = start(source, {
      batchSize: 4,
      handler: (e) => {
        seen.push(Number(e.revision));
        if (e.revision === 1n) source.stored.set('sub', 8); // another live instance got further
      },
      onError: (error) => errors.push(error),
    });
    await until(() => seen.length === 10);
    await sub.stop();
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(errors.filter((e) => e instanceof SubscriptionCheckpointConflictError)).toHaveLength(1);
    expect(source.writes).toEqual([10]); // 4 was never written over 8
    expect(source.stored.get('sub')).toBe(10);
  });

  it('a checkpoint moved by another instance but still behind ours is advanced by compare-and-set', async () => {
    const source = new FakeSource();
    source.append(4);
    const seen: number[] = [];
    const sub = start(source, {
      batchSize: 4,
      handler: (e) => {
        seen.push(Number(e.revision));
        if (e.revision === 0n) source.stored.set('sub', 2);
      },
    });
    await until(() => source.stored.get('sub') === 4);
    await sub.stop();
    expect(source.writes).toEqual([4]);
  });

  it('ends by itself when the store is closed under it', async () => {
    const source = new FakeSource();
    source.readBatch = async () => {
      throw new EventStoreClosedError();
    };
    let finished = false;
    const errors: unknown[] = [];
    new CatchUpSubscription<number>('sub', source, { handler: () => undefined, onError: (e) => errors.push(e) }, () => {
      finished = true;
    });
    await until(() => finished, 1_000);
    expect(errors).toEqual([]);
  });

  it('a notification ends the idle wait; stop ends it at once', async () => {
    const source = new FakeSource();
    const seen: string[] = [];
    const sub = start(source, { pollIntervalMs: 60_000, handler: (e) => void seen.push(e.id) });
    await new Promise((resolve) => setTimeout(resolve, 20));
    source.append(1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toEqual([]); // still waiting out its poll interval
    sub.notify();
    await until(() => seen.length === 1, 1_000);
    const stopped = Date.now();
    await sub.stop();
    expect(Date.now() - stopped).toBeLessThan(1_000);
  });
});

describe('non-durable catch-up', () => {
  it('a subscription without checkpoints starts at the start every time and stores nothing', async () => {
    const source = new FakeSource();
    source.stored.set('sub', 3);
    source.append(5);
    for (let run = 0; run < 2; run += 1) {
      const seen: number[] = [];
      const sub = new CatchUpSubscription<number>('sub', withoutCheckpoints(source), { pollIntervalMs: 5, batchSize: 2, handler: (e) => void seen.push((e.data as { n: number }).n) }, () => undefined);
      await until(() => seen.length === 5);
      await sub.stop();
      expect(seen).toEqual([0, 1, 2, 3, 4]);
    }
    expect(source.writes).toEqual([]);
    expect(source.stored.get('sub')).toBe(3);
  });

  it('a reader returns batches in order, moves past filtered events, returns later appends, and starts again after reset', async () => {
    const source = new FakeSource();
    source.append(3, 'A');
    source.append(4, 'B');
    const reads: Array<number | null> = [];
    const counting: CatchUpSource<number> = {
      readCheckpoint: (name) => source.readCheckpoint(name),
      writeCheckpoint: (name, previous, cursor) => source.writeCheckpoint(name, previous, cursor),
      readBatch: (after, filter, limit) => (reads.push(after), source.readBatch(after, filter, limit)),
      compare: (a, b) => source.compare(a, b),
    };
    const reader = new CatchUpReader<number>(counting, { eventTypes: ['A'] }, 2);
    expect((await reader.next()).map((e) => e.id)).toEqual(['id-0', 'id-1']);
    expect((await reader.next()).map((e) => e.id)).toEqual(['id-2']);
    // The B events were scanned by that read: the next one starts after them.
    expect(await reader.next()).toEqual([]);
    expect(reads).toEqual([null, 2, 7]);
    source.append(1, 'A');
    const applied: string[] = [];
    expect(await reader.catchUp((e) => void applied.push(e.id))).toBe(1);
    expect(applied).toEqual(['id-7']);
    reader.reset();
    applied.length = 0;
    expect(await reader.catchUp((e) => void applied.push(e.id))).toBe(4);
    expect(applied).toEqual(['id-0', 'id-1', 'id-2', 'id-7']);
  });
});
