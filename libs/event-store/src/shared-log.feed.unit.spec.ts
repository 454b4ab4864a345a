import { describe, expect, it } from 'vitest';
import { CatchUpSubscription, withoutCheckpoints, type CatchUpBatch, type CatchUpSource } from './catch-up.subscription';
import type { AllFilter, RecordedEvent, SubscribeOptions } from './event-store.port';
import { FakeSource, until } from './testing/fake-catch-up.source';
import { SharedLogFeed } from './shared-log.feed';

/** Counts the log reads, with and without a filter (the feed reads unfiltered). */
class CountingSource extends FakeSource {
  reads = 0;
  override async readBatch(after: number | null, filter: AllFilter | undefined, limit: number): Promise<CatchUpBatch<number>> {
    this.reads += 1;
    return super.readBatch(after, filter, limit);
  }
}

function fedSubscription(
  source: CatchUpSource<number>,
  feed: SharedLogFeed<number>,
  name: string,
  options: Partial<SubscribeOptions>,
  lease: ConstructorParameters<typeof CatchUpSubscription<number>>[4] = null,
) {
  return new CatchUpSubscription<number>(name, source, { pollIntervalMs: 5, retryDelayMs: 1, ...options }, () => undefined, lease, feed);
}

const revisionsOf = (seen: RecordedEvent[]) => seen.map((e) => Number(e.data && (e.data as { n: number }).n));

describe('SharedLogFeed', () => {
  it('feeds every caught-up subscription from one read of the log, each with its own filter and checkpoint', async () => {
    const source = new CountingSource();
    const feed = new SharedLogFeed<number>(source);
    source.append(3, 'A');
    const seenA: RecordedEvent[] = [];
    const seenB: RecordedEvent[] = [];
    const seenAll: RecordedEvent[] = [];
    const subs = [
      fedSubscription(source, feed, 'a', { filter: { eventTypes: ['A'] }, handler: (e) => void seenA.push(e) }),
      fedSubscription(source, feed, 'b', { filter: { eventTypes: ['B'] }, handler: (e) => void seenB.push(e) }),
      fedSubscription(withoutCheckpoints(source), feed, 'all', { handler: (e) => void seenAll.push(e) }),
    ];
    await until(() => subs.every((s) => s.fed));
    const readsWhenJoined = source.reads;
    const feedReadsWhenJoined = feed.reads;
    for (let i = 0; i < 20; i += 1) {
      source.append(1, i % 2 === 0 ? 'A' : 'B');
      feed.notify();
      await until(() => seenAll.length === 4 + i);
    }
    await until(() => seenA.length === 13 && seenB.length === 10);
    // Once fed, no subscription reads the log itself: every read is the feed's one for all three.
    expect(feed.reads - feedReadsWhenJoined).toBeGreaterThanOrEqual(20);
    expect(source.reads - readsWhenJoined).toBe(feed.reads - feedReadsWhenJoined);
    await Promise.all(subs.map((s) => s.stop()));
    expect(revisionsOf(seenAll)).toEqual(Array.from({ length: 23 }, (_, i) => i));
    expect(seenA.every((e) => e.type === 'A')).toBe(true);
    expect(revisionsOf(seenB)).toEqual([4, 6, 8, 10, 12, 14, 16, 18, 20, 22]);
    // Checkpoints still written per subscription; the volatile one stores nothing.
    expect(source.stored.get('a')).toBe(23);
    expect(source.stored.get('b')).toBe(23);
    expect(source.stored.has('all')).toBe(false);
    expect(feed.size).toBe(0);
  });

  it('a subscription that joins later catches up on its own first, then is fed: nothing skipped, nothing twice, in order', async () => {
    const source = new CountingSource();
    const feed = new SharedLogFeed<number>(source, { recentEvents: 4 });
    const first: RecordedEvent[] = [];
    const a = fedSubscription(source, feed, 'a', { handler: (e) => void first.push(e) });
    await until(() => a.fed);
    let appended = 0;
    const writer = setInterval(() => {
      source.append(3);
      appended += 3;
      feed.notify();
    }, 2);
    await until(() => appended >= 60);
    const late: RecordedEvent[] = [];
    const b = fedSubscription(source, feed, 'b', { batchSize: 7, handler: (e) => void late.push(e) });
    await until(() => appended >= 150);
    clearInterval(writer);
    await until(() => b.fed && late.length === appended && first.length === appended);
    await Promise.all([a.stop(), b.stop()]);
    expect(revisionsOf(first)).toEqual(Array.from({ length: appended }, (_, i) => i));
    expect(revisionsOf(late)).toEqual(Array.from({ length: appended }, (_, i) => i));
  });

  it('a slow subscription is dropped back to its own reads past the bounded queue; the others are not held up', async () => {
    const source = new CountingSource();
    const feed = new SharedLogFeed<number>(source, { batchSize: 10, maxQueuedEvents: 20 });
    let release: () => void = () => undefined;
    let gate: Promise<void> | null = null;
    const slow: RecordedEvent[] = [];
    const fast: RecordedEvent[] = [];
    const s = fedSubscription(source, feed, 'slow', {
      handler: async (e) => {
        if (gate) await gate;
        slow.push(e);
      },
    });
    const f = fedSubscription(source, feed, 'fast', { handler: (e) => void fast.push(e) });
    await until(() => s.fed && f.fed);
    gate = new Promise((resolve) => (release = resolve));
    source.append(1);
    feed.notify();
    await until(() => fast.length === 1);
    for (let i = 0; i < 10; i += 1) {
      source.append(5);
      feed.notify();
      await until(() => fast.length === 1 + 5 * (i + 1));
    }
    // The slow one is stuck in its first event, more than 20 events behind: no longer fed.
    expect(s.fed).toBe(false);
    expect(f.fed).toBe(true);
    release();
    gate = null;
    await until(() => slow.length === 51 && s.fed);
    await Promise.all([s.stop(), f.stop()]);
    expect(revisionsOf(slow)).toEqual(Array.from({ length: 51 }, (_, i) => i));
    expect(revisionsOf(fast)).toEqual(Array.from({ length: 51 }, (_, i) => i));
    expect(source.stored.get('slow')).toBe(51);
  });

  it('a failing handler leaves the feed; the event comes again from the store and nothing after it is lost', async () => {
    const source = new CountingSource();
    const feed = new SharedLogFeed<number>(source);
    const seen: RecordedEvent[] = [];
    let failed = 0;
    const sub = fedSubscription(source, feed, 'sub', {
      batchSize: 3,
      handler: (e) => {
        if ((e.data as { n: number }).n === 4 && failed === 0) {
          failed += 1;
          throw new Error('boom');
        }
        seen.push(e);
      },
    });
    await until(() => sub.fed);
    source.append(8);
    feed.notify();
    await until(() => seen.length === 8 && sub.fed);
    await sub.stop();
    expect(failed).toBe(1);
    expect(revisionsOf(seen)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(source.stored.get('sub')).toBe(8);
  });

  it('a failing log read drops every member to its own reads, where the failure is reported and retried', async () => {
    const source = new CountingSource();
    const feed = new SharedLogFeed<number>(source);
    const seen: RecordedEvent[] = [];
    const errors: unknown[] = [];
    const sub = fedSubscription(source, feed, 'sub', { handler: (e) => void seen.push(e), onError: (e) => errors.push(e) });
    await until(() => sub.fed);
    source.failingReads = 2;
    source.append(2);
    feed.notify();
    await until(() => seen.length === 2 && sub.fed);
    await sub.stop();
    expect(errors.map((e) => (e as Error).message)).toEqual(['database down']);
  });

  it('a deposed owner leaves the feed and cannot move the checkpoint; the new owner continues from it', async () => {
    const source = new CountingSource();
    const feed = new SharedLogFeed<number>(source);
    const seen: number[] = [];
    const TTL = 200;
    const owner = fedSubscription(source, feed, 'sub', { handler: (e) => void seen.push(Number(e.revision)) }, { ttlMs: TTL, owner: 'a' });
    await until(() => owner.fed);
    source.append(2);
    feed.notify();
    await until(() => source.stored.get('sub') === 2);
    // Another instance takes the lease over (as after an expiry) and moves the checkpoint.
    source.owners.set('sub', 'b');
    source.versions.set('sub', (source.versions.get('sub') ?? 0) + 1);
    source.stored.set('sub', 2);
    await until(() => !owner.owner, 2_000);
    expect(owner.fed).toBe(false);
    source.append(2);
    feed.notify();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toEqual([0, 1]);
    expect(source.stored.get('sub')).toBe(2);
    await owner.stop();
  });
});
