import { signoffTopics } from '@signoff/contracts';
import { EventStore, RecordedEvent, SubscribeOptions } from '@signoff/event-store';
import { MessageBus, OutboundMessage } from '@signoff/messaging';
import { describe, expect, it } from 'vitest';
import { SIGNOFF_TOPICS } from './core.tokens';
import { EventRelay, eventRelayProvider } from './event-relay';

/** A store that records the subscriptions started on it (nothing is read). */
function fakeStore() {
  const started: Array<{ name: string; options: SubscribeOptions; stopped: boolean }> = [];
  const store = {
    subscribe: (name: string, options: SubscribeOptions) => {
      const entry = { name, options, stopped: false };
      started.push(entry);
      return { name, stop: async () => void (entry.stopped = true) };
    },
  } as unknown as EventStore;
  return { store, started };
}

function fakeBus() {
  const published: Array<{ topic: string; messages: readonly OutboundMessage[] }> = [];
  const bus = { publish: async (topic: string, messages: readonly OutboundMessage[]) => void published.push({ topic, messages }) } as unknown as MessageBus;
  return { bus, published };
}

const event = (id: string, type: string): RecordedEvent =>
  ({ id, type, data: { job_id: id }, metadata: {}, streamId: `job-${id}`, revision: 0n, position: 1n, createdAt: new Date(0) }) as RecordedEvent;

describe('eventRelayProvider', () => {
  it('builds a relay on the store, bus and topic names; it subscribes under its name at bootstrap, publishes what toMessage maps, and stops in onModuleDestroy', async () => {
    const provider = eventRelayProvider({
      name: 'test.relay',
      eventTypes: ['A'],
      streamPrefix: 'job-',
      topic: (topics) => topics.approved,
      toMessage: (e) => (e.id === 'skip' ? null : { key: e.id, value: { id: e.id } }),
    });
    expect(provider.inject).toEqual([EventStore, MessageBus, SIGNOFF_TOPICS]);
    expect(typeof provider.provide).toBe('symbol');
    const { store, started } = fakeStore();
    const { bus, published } = fakeBus();
    const relay = (await provider.useFactory(store, bus, signoffTopics('acme.'))) as EventRelay;
    expect(relay).toBeInstanceOf(EventRelay);
    expect(relay.name).toBe('test.relay');
    expect(started).toHaveLength(0);

    relay.onApplicationBootstrap();
    expect(started).toHaveLength(1);
    expect(started[0]!.name).toBe('test.relay');
    expect(started[0]!.options.filter).toEqual({ eventTypes: ['A'], streamPrefix: 'job-' });
    expect(started[0]!.options.handler).toBeUndefined();
    await started[0]!.options.handleBatch!([event('j1', 'A'), event('skip', 'A'), event('j2', 'A')]);
    // One publish for the batch (one produce request), without what toMessage skipped.
    expect(published).toEqual([
      {
        topic: 'acme.jobs.approved',
        messages: [
          { key: 'j1', value: { id: 'j1' } },
          { key: 'j2', value: { id: 'j2' } },
        ],
      },
    ]);

    await relay.onModuleDestroy();
    expect(started[0]!.stopped).toBe(true);
  });

  it('splits a batch of large messages into publishes of at most about 256 KiB, in log order', async () => {
    const provider = eventRelayProvider({
      name: 'big.relay',
      eventTypes: ['A'],
      topic: (topics) => topics.audit,
      toMessage: (e) => ({ key: e.id, value: { id: e.id, blob: 'x'.repeat(100 * 1024) } }),
    });
    const { store, started } = fakeStore();
    const { bus, published } = fakeBus();
    const relay = (await provider.useFactory(store, bus, signoffTopics())) as EventRelay;
    relay.onApplicationBootstrap();
    await started[0]!.options.handleBatch!(Array.from({ length: 5 }, (_, i) => event(`j${i}`, 'A')));
    expect(published.map((p) => p.messages.map((m) => m.key))).toEqual([['j0', 'j1'], ['j2', 'j3'], ['j4']]);
  });

  it('a definition factory gets the store and the injected values', async () => {
    const seen: unknown[] = [];
    const provider = eventRelayProvider(
      (store: EventStore, extra: string[]) => {
        seen.push(store, extra);
        return { name: 'with-deps', eventTypes: ['A'], topic: (topics) => topics.audit, toMessage: () => null };
      },
      ['EXTRA'],
    );
    expect(provider.inject).toEqual([EventStore, MessageBus, SIGNOFF_TOPICS, 'EXTRA']);
    const { store, started } = fakeStore();
    const relay = (await provider.useFactory(store, fakeBus().bus, signoffTopics(), ['x'])) as EventRelay;
    expect(seen).toEqual([store, ['x']]);
    relay.onApplicationBootstrap();
    expect(started[0]!.name).toBe('with-deps');
  });
});
