import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, inject, it } from 'vitest';
import { testKafkaBrokers, uniqueTopic } from '../../../test/support/infra';
import { KafkaMessageBus } from './kafka.message-bus';
import { MessageBus, SubscribeOptions } from './message-bus.port';
import { describeMessageBusConformance, eventually } from './testing/message-bus.conformance';

const version = inject('kafkaVersion');

describeMessageBusConformance(`kafkajs on Apache Kafka ${version} (KRaft)`, () => new KafkaMessageBus({ brokers: testKafkaBrokers(), clientId: 'conformance' }));

/** The same bus with every subscription handling 8 keys of a partition at once. */
class KeyConcurrentBus extends MessageBus {
  constructor(private readonly inner: MessageBus) {
    super();
  }
  publish(topic: string, messages: Parameters<MessageBus['publish']>[1]) {
    return this.inner.publish(topic, messages);
  }
  subscribe(options: SubscribeOptions) {
    return this.inner.subscribe({ ...options, keyConcurrency: 8 });
  }
  ensureTopics(topics: Parameters<MessageBus['ensureTopics']>[0]) {
    return this.inner.ensureTopics(topics);
  }
  ping() {
    return this.inner.ping();
  }
  close() {
    return this.inner.close();
  }
}

describeMessageBusConformance(`kafkajs with per-key concurrency 8 on Apache Kafka ${version}`, () => new KeyConcurrentBus(new KafkaMessageBus({ brokers: testKafkaBrokers(), clientId: 'conformance-keys' })));

describe(`KafkaMessageBus on Apache Kafka ${version}`, () => {
  it('with per-key concurrency, keeps each key in order across a large batch and handles keys side by side', async () => {
    const bus = new KafkaMessageBus({ brokers: testKafkaBrokers(), clientId: 'keys' });
    const name = uniqueTopic('keys');
    await bus.ensureTopics([{ name, partitions: 1 }]);
    await bus.publish(name, Array.from({ length: 400 }, (_, i) => ({ key: `k${i % 20}`, value: String(i) })));
    const seen = new Map<string, number[]>();
    let inFlight = 0;
    let maxInFlight = 0;
    const sub = await bus.subscribe({
      groupId: `g-${name}`,
      topics: [name],
      keyConcurrency: 8,
      handler: async (m) => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 2));
        const list = seen.get(m.key!) ?? [];
        list.push(Number(m.value!.toString()));
        seen.set(m.key!, list);
        inFlight -= 1;
      },
    });
    try {
      await eventually(() => [...seen.values()].reduce((n, l) => n + l.length, 0) >= 400, '400 messages');
      for (const list of seen.values()) expect(list).toEqual([...list].sort((a, b) => a - b));
      expect(seen.size).toBe(20);
      expect(maxInFlight).toBeGreaterThan(1);
      expect(maxInFlight).toBeLessThanOrEqual(8);
    } finally {
      await sub.stop();
      await bus.close();
    }
  });

  it('creates topics with the partition count the services use, and leaves existing ones alone', async () => {
    const bus = new KafkaMessageBus({ brokers: testKafkaBrokers(), clientId: 'topics' });
    const admin = new Kafka({ brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const name = uniqueTopic('topics');
      await bus.ensureTopics([{ name, partitions: 6 }]);
      await bus.ensureTopics([{ name, partitions: 6 }]);
      const meta = await admin.fetchTopicMetadata({ topics: [name] });
      expect(meta.topics[0].partitions).toHaveLength(6);
    } finally {
      await admin.disconnect();
      await bus.close();
    }
  });

  it('refuses to publish to a topic that does not exist instead of creating it silently', async () => {
    const bus = new KafkaMessageBus({ brokers: testKafkaBrokers(), clientId: 'missing', kafka: { retry: { retries: 1 } } });
    try {
      await expect(bus.publish(uniqueTopic('missing'), [{ key: 'k', value: 'v' }])).rejects.toThrow();
    } finally {
      await bus.close();
    }
  });

  it('reports the partition the broker really used (same as a plain kafkajs consumer sees)', async () => {
    const bus = new KafkaMessageBus({ brokers: testKafkaBrokers(), clientId: 'partitions' });
    const name = uniqueTopic('partitions');
    await bus.ensureTopics([{ name, partitions: 6 }]);
    const sent = await bus.publish(name, Array.from({ length: 12 }, (_, i) => ({ key: `job-${i}`, value: String(i) })));
    const consumer = new Kafka({ brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING }).consumer({ groupId: `raw-${name}` });
    const seen = new Map<string, string>();
    await consumer.connect();
    await consumer.subscribe({ topic: name, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ partition, message }) => void seen.set(message.value!.toString(), `${partition}@${message.offset}`) });
    try {
      await eventually(() => seen.size >= 12, '12 messages');
      sent.forEach((r, i) => expect(seen.get(String(i))).toBe(`${r.partition}@${r.offset}`));
    } finally {
      await consumer.disconnect();
      await bus.close();
    }
  });
});
