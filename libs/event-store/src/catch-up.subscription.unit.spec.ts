import { describe, expect, it } from 'vitest';
import { CatchUpReader, CatchUpSubscription, withoutCheckpoints, type CatchUpSource, type CheckpointWrite, type StoredCheckpoint } from './catch-up.subscription';
import { EventStoreClosedError, SubscriptionCheckpointConflictError, SubscriptionLeaseLostError } from './event-store.errors';
import type { AllFilter, RecordedEvent, SubscribeOptions } from './event-store.port';
import { FakeSource, until } from './testing/fake-catch-up.source';

function start(source: FakeSource, options: Partial<SubscribeOptions>, name = 'sub') {
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
    let storedAtFailure: number | null | undefined;
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

  it('a batch handler gets each read batch at once; the checkpoint moves after it; a failing batch comes again whole', async () => {
    const source = new FakeSource();
    source.append(7);
    const batches: number[][] = [];
    let failures = 0;
    const sub = start(source, {
      batchSize: 3,
      handler: undefined,
      handleBatch: async (events) => {
        const revisions = events.map((e) => Number(e.revision));
        if (revisions[0] === 3 && failures === 0) {
          failures += 1;
          throw new Error('broker down');
        }
        batches.push(revisions);
      },
    });
    await until(() => batches.flat().length === 7);
    await sub.stop();
    expect(batches).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(source.writes).toEqual([3, 6, 7]);
  });

  it('with checkpointIntervalMs, writes at most once per interval (a timer writes the rest), and at stop', async () => {
    const source = new FakeSource();
    const seen: number[] = [];
    const sub = start(source, { batchSize: 2, checkpointIntervalMs: 80, handler: (e) => void seen.push(Number(e.revision)) });
    source.append(6);
    sub.notify();
    await until(() => seen.length === 6);
    // The first batch is written at once; the two after it within the interval are not yet.
    expect(source.writes).toEqual([2]);
    await until(() => source.writes.length === 2, 1_000);
    expect(source.writes).toEqual([2, 6]);
    source.append(1);
    sub.notify();
    await until(() => seen.length === 7);
    await sub.stop();
    expect(source.writes).toEqual([2, 6, 7]);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6]);
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

/** A subscriber's own way to the store, which a test can cut (calls wait until healed): a frozen or partitioned owner. */
class Partitionable implements CatchUpSource<number> {
  private cut: Promise<void> | null = null;
  private heal: (() => void) | null = null;

  constructor(private readonly inner: FakeSource) {}

  partition(): void {
    this.cut = new Promise((resolve) => (this.heal = resolve));
  }

  reconnect(): void {
    this.heal?.();
    this.cut = null;
  }

  private async pass<T>(call: () => Promise<T>): Promise<T> {
    if (this.cut) await this.cut;
    return call();
  }

  readCheckpoint(name: string) {
    return this.pass(() => this.inner.readCheckpoint(name));
  }
  writeCheckpoint(name: string, previous: StoredCheckpoint<number> | null, next: CheckpointWrite<number>) {
    return this.pass(() => this.inner.writeCheckpoint(name, previous, next));
  }
  readBatch(after: number | null, filter: AllFilter | undefined, limit: number) {
    return this.pass(() => this.inner.readBatch(after, filter, limit));
  }
  compare(a: number, b: number): number {
    return a - b;
  }
}

describe('CatchUpSubscription with a lease (one active instance per name)', () => {
  const TTL = 200;
  function leased(source: CatchUpSource<number>, owner: string, seen: number[], changes: string[] = [], extra: Partial<SubscribeOptions> = {}) {
    return new CatchUpSubscription<number>(
      'sub',
      source,
      { pollIntervalMs: 5, retryDelayMs: 1, batchSize: 3, handler: (e) => void seen.push(Number(e.revision)), ...extra },
      () => undefined,
      { ttlMs: TTL, owner, onChange: (owned, { reason }) => changes.push(`${owner} ${owned ? 'acquired' : 'lost'} (${reason})`) },
    );
  }

  /** A log of six events and what subscribers `a` and `b` see of it. */
  function sixEvents() {
    const source = new FakeSource();
    source.append(6);
    return { source, a: [] as number[], b: [] as number[] };
  }

  it('of two subscribers of one name one handles everything and the other stands by', async () => {
    const source = new FakeSource();
    source.append(10);
    const a: number[] = [];
    const b: number[] = [];
    const first = leased(source, 'a', a);
    await until(() => a.length === 10);
    const second = leased(source, 'b', b);
    source.append(5);
    await until(() => a.length === 15);
    // Longer than a ttl: the owner renews, so the standby never takes over.
    await new Promise((resolve) => setTimeout(resolve, TTL * 2));
    expect(b).toEqual([]);
    expect(first.owner).toBe(true);
    expect(second.owner).toBe(false);
    expect(source.owners.get('sub')).toBe('a');
    await Promise.all([second.stop(), first.stop()]);
  });

  it('a clean stop releases the lease: the standby takes over at once and resumes from the checkpoint', async () => {
    const { source, a, b } = sixEvents();
    const changes: string[] = [];
    const first = leased(source, 'a', a, changes);
    await until(() => a.length === 6);
    const second = leased(source, 'b', b, changes);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await first.stop();
    const stoppedAt = performance.now();
    source.append(4);
    await until(() => b.length === 4);
    expect(performance.now() - stoppedAt).toBeLessThan(TTL);
    expect([...a, ...b]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await second.stop();
    expect(changes).toEqual(['a acquired (vacant)', 'a lost (released on stop)', 'b acquired (released)', 'b lost (released on stop)']);
    expect(source.owners.get('sub')).toBeNull();
  });

  it('an owner that stops renewing is replaced after the ttl; deposed, it cannot move the checkpoint and stops handling', async () => {
    const { source, a, b } = sixEvents();
    const errors: unknown[] = [];
    const frozen = new Partitionable(source);
    const first = leased(frozen, 'a', a, [], { onError: (error) => errors.push(error) });
    await until(() => a.length === 6 && source.stored.get('sub') === 6);
    const second = leased(source, 'b', b);
    await new Promise((resolve) => setTimeout(resolve, 20));
    frozen.partition();
    const frozenAt = performance.now();
    source.append(3);
    await until(() => b.length === 3);
    const tookOver = performance.now() - frozenAt;
    expect(tookOver).toBeGreaterThanOrEqual(TTL * 0.6); // the owner's last renewal may have been up to ttl/3 before the freeze
    expect(tookOver).toBeLessThan(TTL * 3);
    expect(b).toEqual([6, 7, 8]); // from the checkpoint, nothing skipped
    // The old owner comes back: its next write fails, it finds another owner and stands by.
    frozen.reconnect();
    await until(() => errors.some((e) => e instanceof SubscriptionLeaseLostError));
    source.append(2);
    await until(() => b.length === 5);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(first.owner).toBe(false);
    expect(a.length).toBeLessThanOrEqual(6 + 3); // at most the batch it had in flight
    expect(source.owners.get('sub')).toBe('b');
    expect(source.stored.get('sub')).toBe(11);
    await Promise.all([first.stop(), second.stop()]);
    expect(source.stored.get('sub')).toBe(11);
  });

  it('an idle owner renews its lease every ttl/3', async () => {
    const source = new FakeSource();
    const sub = leased(source, 'a', []);
    await until(() => source.versions.get('sub') === 1);
    await new Promise((resolve) => setTimeout(resolve, TTL * 2));
    // 2 ttl at one renewal per ttl/3: about 6 (timers on a busy machine are late, never early).
    expect(source.versions.get('sub')).toBeGreaterThanOrEqual(3);
    expect(source.versions.get('sub')).toBeLessThanOrEqual(8);
    await sub.stop();
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
      writeCheckpoint: (name, previous, next) => source.writeCheckpoint(name, previous, next),
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
