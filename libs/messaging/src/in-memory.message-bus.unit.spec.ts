import { describe, expect, it } from 'vitest';
import { SignoffError } from '@signoff/contracts';
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

  it('a 503 auth_unavailable (the key set cannot be fetched) is retried until it passes, never dead-lettered; an evaluation over its budget is dead-lettered at once', async () => {
    const bus = new InMemoryMessageBus();
    let keysDown = 3;
    const seen: string[] = [];
    await bus.publish('t', [
      { key: 'k', value: 'needs-keys', headers: { authorization: 'Bearer producer-secret' } },
      { key: 'k', value: 'over-budget' },
      { key: 'k', value: 'after' },
    ]);
    const dead: Array<{ value: string; code: string | undefined; credential: string | undefined }> = [];
    const dlq = await bus.subscribe({
      groupId: 'd',
      topics: ['t.dlq'],
      handler: async (m) => void dead.push({ value: m.value!.toString(), code: m.headers['error-code'], credential: m.headers.authorization }),
    });
    const sub = await bus.subscribe({
      groupId: 'g',
      topics: ['t'],
      deadLetter: {},
      handler: async (m) => {
        const v = m.value!.toString();
        if (v === 'needs-keys' && keysDown-- > 0) throw new SignoffError('auth_unavailable', 'the identity provider key set cannot be fetched');
        if (v === 'over-budget') throw new SignoffError('policy_unavailable', 'policy evaluation exceeded its budget', { reason: 'evaluation_budget_exceeded' });
        seen.push(v);
      },
    });
    try {
      await eventually(() => seen.length === 2 && dead.length === 1, 'the genuine messages handled and the over-budget one dead-lettered', 10_000);
      expect(keysDown).toBe(-1);
      expect(seen).toEqual(['needs-keys', 'after']);
      expect(dead).toEqual([{ value: 'over-budget', code: 'policy_unavailable', credential: undefined }]);
    } finally {
      await sub.stop();
      await dlq.stop();
      await bus.close();
    }
  });
});
