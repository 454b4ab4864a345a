import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../../test/support/wait';
import { InboundMessage, MessageBus, WaitingMessage } from '../message-bus.port';
import { PermanentMessageError, TransientMessageError } from '../message-failure';

export { eventually };

/**
 * The contract every MessageBus adapter keeps (at least once, order per key, committed offsets
 * per group, retry instead of skip, dead letters for permanent failures). Run against Kafka (int
 * tier) and the in-process bus (unit tier).
 */
export function describeMessageBusConformance(name: string, makeBus: () => MessageBus | Promise<MessageBus>): void {
  describe(`MessageBus conformance: ${name}`, () => {
    let bus: MessageBus;
    const topic = (base: string) => `conformance.${base}.${randomBytes(4).toString('hex')}`;

    beforeAll(async () => {
      bus = await makeBus();
    });
    afterAll(async () => {
      await bus.close();
    });

    it('publishes with acks and reports partition and offset; one key stays on one partition, in order', async () => {
      const t = topic('order');
      await bus.ensureTopics([{ name: t, partitions: 6 }]);
      const sent = await bus.publish(
        t,
        Array.from({ length: 30 }, (_, i) => ({ key: `job-${i % 5}`, value: { i }, headers: { 'x-n': String(i) } })),
      );
      expect(sent).toHaveLength(30);
      const byKey = new Map<string, Set<number>>();
      sent.forEach((r, i) => {
        expect(r.topic).toBe(t);
        expect(r.partition).toBeGreaterThanOrEqual(0);
        expect(r.partition).toBeLessThan(6);
        const set = byKey.get(`job-${i % 5}`) ?? new Set();
        set.add(r.partition);
        byKey.set(`job-${i % 5}`, set);
      });
      for (const partitions of byKey.values()) expect(partitions.size).toBe(1);

      const received: InboundMessage[] = [];
      const sub = await bus.subscribe({ groupId: `g-${t}`, topics: [t], handler: async (m) => void received.push(m) });
      await eventually(() => received.length >= 30, '30 messages');
      await sub.stop();
      expect(received).toHaveLength(30);
      for (let k = 0; k < 5; k++) {
        const seq = received.filter((m) => m.key === `job-${k}`).map((m) => (JSON.parse(m.value!.toString()) as { i: number }).i);
        expect(seq).toEqual([...seq].sort((a, b) => a - b));
        expect(seq).toHaveLength(6);
      }
      const sample = received.find((m) => m.key === 'job-3')!;
      const i = (JSON.parse(sample.value!.toString()) as { i: number }).i;
      expect(sample.headers['x-n']).toBe(String(i));
      const record = sent[i];
      expect(sample.partition).toBe(record.partition);
      expect(sample.offset).toBe(record.offset);
    });

    it('a restarted consumer of the same group resumes after its last committed offset: nothing lost, nothing repeated', async () => {
      const t = topic('resume');
      await bus.ensureTopics([{ name: t, partitions: 3 }]);
      const group = `g-${t}`;
      await bus.publish(t, Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `first-${i}` })));
      const first: string[] = [];
      const sub1 = await bus.subscribe({ groupId: group, topics: [t], handler: async (m) => void first.push(m.value!.toString()) });
      await eventually(() => first.length >= 10, 'first batch');
      await sub1.stop();

      await bus.publish(t, Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `second-${i}` })));
      const second: string[] = [];
      const sub2 = await bus.subscribe({ groupId: group, topics: [t], handler: async (m) => void second.push(m.value!.toString()) });
      await eventually(() => second.length >= 10, 'second batch');
      await new Promise((r) => setTimeout(r, 300)); // would reveal a re-delivery of the first batch
      await sub2.stop();
      expect(first.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `first-${i}`).sort());
      expect(second.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `second-${i}`).sort());
    });

    it('a failing handler is retried, the message is not skipped and the partition keeps its order', async () => {
      const t = topic('retry');
      await bus.ensureTopics([{ name: t, partitions: 1 }]);
      await bus.publish(t, [
        { key: 'a', value: 'one' },
        { key: 'a', value: 'two' },
      ]);
      const seen: string[] = [];
      let failures = 0;
      const sub = await bus.subscribe({
        groupId: `g-${t}`,
        topics: [t],
        handler: async (m) => {
          const v = m.value!.toString();
          if (v === 'one' && failures < 2) {
            failures += 1;
            throw new Error('transient');
          }
          seen.push(v);
        },
      });
      await eventually(() => seen.length >= 2, 'both messages');
      await sub.stop();
      expect(failures).toBe(2);
      expect(seen).toEqual(['one', 'two']);
    });

    it('with deadLetter: a permanent failure goes to <topic>.dlq with error headers (never the credential) at once and the partition moves on; a transient one is retried, never skipped', async () => {
      const t = topic('dlq');
      const dlq = `${t}.dlq`;
      await bus.ensureTopics([
        { name: t, partitions: 1 },
        { name: dlq, partitions: 1 },
      ]);
      const sent = await bus.publish(t, [
        { key: 'a', value: 'one' },
        // A producer's credential must never reach a DLQ reader; the message cannot pick its own
        // error-code or refused-by either.
        { key: 'b', value: 'poison', headers: { 'x-trace': 't-1', authorization: 'Bearer producer-secret', 'error-code': 'none', 'refused-by': 'forged' } },
        { key: 'a', value: 'three' },
      ]);
      const seen: string[] = [];
      const deadLettered: string[] = [];
      let poisonCalls = 0;
      let failures = 0;
      let storeBack = false;
      const sub = await bus.subscribe({
        groupId: `g-${t}`,
        topics: [t],
        deadLetter: {
          headers: { 'refused-by': 'this-consumer' },
          onDeadLettered: ({ message, failure, dlq: to }) => void deadLettered.push(`${message.value!.toString()}:${failure.code}:${to}`),
        },
        handler: async (m) => {
          const v = m.value!.toString();
          if (v === 'poison') {
            poisonCalls += 1;
            throw new PermanentMessageError('invalid_request', 'the value is poison');
          }
          if (v === 'three' && !storeBack) {
            failures += 1;
            throw new TransientMessageError('store_unavailable', 'the store is down');
          }
          seen.push(v);
        },
      });
      const dead: InboundMessage[] = [];
      const dlqSub = await bus.subscribe({ groupId: `g-${dlq}`, topics: [dlq], handler: async (m) => void dead.push(m) });
      // While 'three' waits for its transient failure to pass, the subscription says so.
      await eventually(() => sub.waiting().length > 0, 'the transient failure to be reported as waiting');
      const waiting: readonly WaitingMessage[] = sub.waiting();
      await new Promise((r) => setTimeout(r, 300));
      expect(seen).toEqual(['one']);
      storeBack = true;
      await eventually(() => seen.length >= 2 && dead.length >= 1, 'the good messages handled and the poison dead-lettered');
      await new Promise((r) => setTimeout(r, 200)); // would reveal a retry of the poison or a second dead letter
      await Promise.all([sub.stop(), dlqSub.stop()]);
      expect(seen).toEqual(['one', 'three']);
      expect(poisonCalls).toBe(1);
      expect(failures).toBeGreaterThanOrEqual(2);
      expect(deadLettered).toEqual([`poison:invalid_request:${dlq}`]);
      expect(dead).toHaveLength(1);
      expect(dead[0].key).toBe('b');
      expect(dead[0].value!.toString()).toBe('poison');
      expect(dead[0].headers).toMatchObject({
        'error-code': 'invalid_request',
        'error-detail': 'the value is poison',
        'original-topic': t,
        'original-partition': String(sent[1].partition),
        'original-offset': sent[1].offset,
        'x-trace': 't-1',
        'refused-by': 'this-consumer',
      });
      expect(Object.keys(dead[0].headers).map((h) => h.toLowerCase())).not.toContain('authorization');
      expect(Object.values(dead[0].headers).join('\n')).not.toContain('producer-secret');
      expect(waiting).toEqual([expect.objectContaining({ topic: t, partition: sent[2].partition, offset: sent[2].offset, code: 'store_unavailable', detail: 'the store is down' })]);
      expect(waiting[0].attempts).toBeGreaterThanOrEqual(1);
      expect(sub.waiting()).toEqual([]);
    });

    it('every consumer group receives every message', async () => {
      const t = topic('groups');
      await bus.ensureTopics([{ name: t, partitions: 2 }]);
      await bus.publish(t, Array.from({ length: 8 }, (_, i) => ({ key: `k${i}`, value: String(i) })));
      const a: string[] = [];
      const b: string[] = [];
      const [subA, subB] = await Promise.all([
        bus.subscribe({ groupId: `ga-${t}`, topics: [t], handler: async (m) => void a.push(m.value!.toString()) }),
        bus.subscribe({ groupId: `gb-${t}`, topics: [t], handler: async (m) => void b.push(m.value!.toString()) }),
      ]);
      await eventually(() => a.length >= 8 && b.length >= 8, 'both groups');
      await Promise.all([subA.stop(), subB.stop()]);
      expect(a.sort()).toEqual(b.sort());
      expect(a).toHaveLength(8);
    });
  });
}
