import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock } from '@signoff/core/testing';
import { createEventStore, EventStore } from '@signoff/event-store';
import { webhookClaimStreamId, WebhookDeliveryClaims } from './webhook-delivery.claim';

describe('per-message webhook claims, on PGlite', () => {
  let store: EventStore;
  const clock = new FixedClock(new Date('2026-03-02T10:00:00.000Z'));
  const never = new AbortController().signal;
  const claims = (holder: string) => new WebhookDeliveryClaims(store, clock, 'ops', holder, 60_000, 10);

  beforeAll(async () => {
    store = await createEventStore('pglite://memory');
  });
  afterAll(async () => {
    await store?.close();
  });

  it('the first claimant sends; the other waits for it to settle, then skips', async () => {
    const a = claims('a');
    const b = claims('b');
    expect(await a.claim('e1', never)).toBe('mine');
    let answered: string | null = null;
    const waiting = b.claim('e1', never).then((outcome) => (answered = outcome));
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBeNull();
    await a.settle('e1');
    expect(await waiting).toBe('settled');
    // A late third instance skips it too.
    expect(await claims('c').claim('e1', never)).toBe('settled');
  });

  it('a released claim is taken over at once, an expired one after its lease, and a stop ends the wait', async () => {
    const a = claims('a');
    expect(await a.claim('e2', never)).toBe('mine');
    // The same holder again (its handler retried after a store error): still its own.
    expect(await a.claim('e2', never)).toBe('mine');
    await a.release('e2');
    expect(await claims('b').claim('e2', never)).toBe('mine');

    expect(await a.claim('e3', never)).toBe('mine');
    const stop = new AbortController();
    const waiting = claims('b').claim('e3', stop.signal);
    await new Promise((r) => setTimeout(r, 50));
    stop.abort();
    expect(await waiting).toBe('stopped');

    clock.advance(60_001);
    expect(await claims('b').claim('e3', never)).toBe('mine');
    expect((await store.readStream(webhookClaimStreamId('ops', 'e3'))).map((e) => [e.type, (e.data as { holder: string }).holder])).toEqual([
      ['WebhookDeliveryClaimed', 'a'],
      ['WebhookDeliveryClaimed', 'b'],
    ]);
  });

  it('a holder renews its claim while it works; one that stops renewing (died) is taken over within a lease', async () => {
    const a = new WebhookDeliveryClaims(store, clock, 'ops', 'a', 300, 10);
    expect(await a.claim('e4', never)).toBe('mine');
    const hold = a.hold('e4');
    // Three leases of work: every renewal moves `until`, so b keeps waiting.
    const b = new WebhookDeliveryClaims(store, clock, 'ops', 'b', 300, 10);
    const stop = new AbortController();
    let answered: string | null = null;
    const waiting = b.claim('e4', stop.signal).then((outcome) => (answered = outcome));
    for (let i = 0; i < 9; i += 1) {
      await new Promise((r) => setTimeout(r, 100));
      clock.advance(100);
    }
    expect(answered).toBeNull();
    expect(hold.lost.aborted).toBe(false);
    // a dies: no more renewals (a renewal already in flight lands first, else it would move
    // `until` past the frozen clock); b takes over once the last `until` passed.
    await hold.stop();
    clock.advance(301);
    expect(await waiting).toBe('mine');
    const types = (await store.readStream(webhookClaimStreamId('ops', 'e4'))).map((e) => (e.data as { holder: string }).holder);
    expect(types.filter((h) => h === 'a').length).toBeGreaterThan(2);
    expect(types[types.length - 1]).toBe('b');
  });

  it('a holder that stalled past its lease finds its renewal refused and learns it lost the message', async () => {
    const a = new WebhookDeliveryClaims(store, clock, 'ops', 'a', 300, 10);
    expect(await a.claim('e5', never)).toBe('mine');
    clock.advance(301);
    expect(await new WebhookDeliveryClaims(store, clock, 'ops', 'b', 300, 10).claim('e5', never)).toBe('mine');
    expect(await a.renew('e5')).toBe(false);
    const hold = a.hold('e5');
    await new Promise((r) => setTimeout(r, 250));
    expect(hold.lost.aborted).toBe(true);
    await hold.stop();
  });
});
