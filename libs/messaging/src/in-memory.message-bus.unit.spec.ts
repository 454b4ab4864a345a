import { describe, expect, it } from 'vitest';
import { InMemoryMessageBus } from './in-memory.message-bus';
import { OutboundMessage, PublishedRecord } from './message-bus.port';
import { PermanentMessageError } from './message-failure';
import { describeMessageBusConformance, eventually } from './testing/message-bus.conformance';

describeMessageBusConformance('in-process bus', () => new InMemoryMessageBus());

/** An in-process bus whose dead-letter topics refuse the first `failures` publishes (a broker outage). */
class FlakyDlqBus extends InMemoryMessageBus {
  refused = 0;
  constructor(private failures: number) {
    super();
  }
  override async publish(topic: string, messages: readonly OutboundMessage[]): Promise<PublishedRecord[]> {
    if (topic.endsWith('.dlq') && this.failures > 0) {
      this.failures -= 1;
      this.refused += 1;
      throw Object.assign(new Error('Connection error: connect ECONNREFUSED'), { name: 'KafkaJSConnectionError', retriable: true });
    }
    return super.publish(topic, messages);
  }
}

describe('InMemoryMessageBus dead letters', () => {
  it('a dead-letter publish that fails is retried (transient): the message is never lost and the partition waits for it', async () => {
    const bus = new FlakyDlqBus(3);
    const seen: string[] = [];
    await bus.publish('t', [
      { key: 'k', value: 'poison' },
      { key: 'k', value: 'after' },
    ]);
    const sub = await bus.subscribe({
      groupId: 'g',
      topics: ['t'],
      deadLetter: {},
      handler: async (m) => {
        if (m.value!.toString() === 'poison') throw new PermanentMessageError('invalid_request', 'bad');
        seen.push(m.value!.toString());
      },
    });
    const dead: string[] = [];
    const dlq = await bus.subscribe({ groupId: 'd', topics: ['t.dlq'], handler: async (m) => void dead.push(`${m.value!.toString()}:${m.headers['error-code']}`) });
    try {
      await eventually(() => seen.length === 1 && dead.length === 1, 'the poison dead-lettered and the next message handled', 10_000);
      expect(bus.refused).toBe(3);
      expect(dead).toEqual(['poison:invalid_request']);
      expect(seen).toEqual(['after']);
    } finally {
      await sub.stop();
      await dlq.stop();
      await bus.close();
    }
  });
});
