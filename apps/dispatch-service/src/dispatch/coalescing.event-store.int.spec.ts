import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEventStore, EventStore, WrongExpectedVersionError } from '@signoff/event-store';
import { CoalescingEventStore } from './coalescing.event-store';

const event = (type: string) => ({ id: randomUUID(), type, data: { type }, metadata: {} });

describe('CoalescingEventStore (on PGlite)', () => {
  let store: EventStore;

  beforeAll(async () => {
    store = await createEventStore('pglite://memory');
  });

  afterAll(async () => {
    await store.close();
  });

  it('concurrent reads and appends leave as few multi-stream calls, each caller gets its own answer', async () => {
    const view = new CoalescingEventStore(store);
    const reads = vi.spyOn(store, 'readStreams');
    const appends = vi.spyOn(store, 'appendToStreams');
    const streams = Array.from({ length: 50 }, (_, i) => `coalesce-${randomUUID().slice(0, 8)}-${i}`);
    await store.appendToStream(streams[0], [event('Existing')], { expectedRevision: 'no_stream' });

    const results = await Promise.allSettled(streams.map((s) => view.appendToStream(s, [event('New')], { expectedRevision: 'no_stream' })));
    // The first stream already existed: its caller alone gets the conflict, as appendToStream would give it.
    expect(results[0].status === 'rejected' && results[0].reason).toBeInstanceOf(WrongExpectedVersionError);
    expect(results.slice(1).every((r) => r.status === 'fulfilled' && r.value.nextRevision === 0n)).toBe(true);
    // Two calls go out at once; the rest waited and left together.
    expect(appends.mock.calls.length).toBeLessThanOrEqual(2);

    const read = await Promise.all(streams.map((s) => view.readStream(s)));
    expect(read.map((events) => events.map((e) => e.type))).toEqual(streams.map((_, i) => (i === 0 ? ['Existing'] : ['New'])));
    expect(reads.mock.calls.length).toBeLessThanOrEqual(3);
    reads.mockRestore();
    appends.mockRestore();
  });

  it('a stream the store refuses fails only its own read', async () => {
    const view = new CoalescingEventStore(store);
    const good = `coalesce-good-${randomUUID().slice(0, 8)}`;
    await store.appendToStream(good, [event('A')], { expectedRevision: 'no_stream' });
    const reads = vi.spyOn(store, 'readStreams');
    // The first two reads leave alone (two calls in flight); the next three share one call.
    const [, , first, refused, second] = await Promise.allSettled([
      view.readStream(`${good}-x`),
      view.readStream(`${good}-y`),
      view.readStream(good),
      view.readStream('bad\u0000stream'),
      view.readStream(good.replace('good', 'none')),
    ]);
    expect(reads.mock.calls.map(([streams]) => streams.length)).toContain(3);
    reads.mockRestore();
    expect(first.status === 'fulfilled' && first.value.map((e) => e.type)).toEqual(['A']);
    expect(refused.status).toBe('rejected');
    expect(second.status === 'fulfilled' && second.value).toEqual([]);
  });

  it('requests for one stream run in the order they were made, never in the same call', async () => {
    const view = new CoalescingEventStore(store);
    const stream = `coalesce-order-${randomUUID().slice(0, 8)}`;
    const other = `coalesce-other-${randomUUID().slice(0, 8)}`;
    const [first, second, elsewhere, third] = await Promise.all([
      view.appendToStream(stream, [event('A')], { expectedRevision: 'no_stream' }),
      view.appendToStream(stream, [event('B')], { expectedRevision: 0n }),
      view.appendToStream(other, [event('X')], { expectedRevision: 'no_stream' }),
      view.appendToStream(stream, [event('C')], { expectedRevision: 1n }),
    ]);
    expect([first.nextRevision, second.nextRevision, elsewhere.nextRevision, third.nextRevision]).toEqual([0n, 1n, 0n, 2n]);
    expect((await view.readStream(stream)).map((e) => e.type)).toEqual(['A', 'B', 'C']);
  });
});
