import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, inject, it } from 'vitest';
import { testKafkaBrokers, uniqueTopic } from '../../../test/support/infra';
import { KafkaMessageBus } from './kafka.message-bus';
import { describeMessageBusConformance, eventually } from './testing/message-bus.conformance';

const version = inject('kafkaVersion');

describeMessageBusConformance(`kafkajs on Apache Kafka ${version} (KRaft)`, () => new KafkaMessageBus({ brokers: testKafkaBrokers(), clientId: 'conformance' }));

describe(`KafkaMessageBus on Apache Kafka ${version}`, () => {
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
