import { Consumer, Kafka, KafkaConfig, KafkaMessage, logLevel, Producer, CompressionTypes, IHeaders } from 'kafkajs';
import {
  encodeValue,
  InboundMessage,
  MessageBus,
  OutboundMessage,
  PublishedRecord,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from './message-bus.port';

export interface KafkaBusOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** Log sink for client warnings and errors (default: stderr, warnings and errors only). */
  readonly log?: (level: 'error' | 'warn' | 'info', message: string, extra?: Record<string, unknown>) => void;
  readonly kafka?: Partial<KafkaConfig>;
}

const RETRY_BACKOFF_MS = [100, 250, 500, 1000, 2000, 5000];

/**
 * The messaging port on Apache Kafka through kafkajs: an idempotent producer (acks from all
 * in-sync replicas, at most one request in flight so retries cannot reorder), consumer groups that
 * commit an offset only after its handler resolved.
 */
export class KafkaMessageBus extends MessageBus {
  private readonly kafka: Kafka;
  private producer: Producer | null = null;
  private producerReady: Promise<Producer> | null = null;
  private readonly consumers = new Set<Consumer>();
  /** Each consumer's stop: commits what was handled, then leaves the group. */
  private readonly stoppers = new Map<Consumer, () => Promise<void>>();
  private closed = false;

  constructor(private readonly options: KafkaBusOptions) {
    super();
    const sink = options.log ?? ((level, message, extra) => process.stderr.write(`kafka ${level}: ${message} ${extra ? JSON.stringify(extra) : ''}\n`));
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: [...options.brokers],
      logLevel: logLevel.WARN,
      logCreator: () => ({ level, log }) => {
        const { message, ...extra } = log;
        // kafkajs logs transient coordinator states as errors while it retries them; keep them as warnings.
        const lvl = level === logLevel.ERROR && /coordinator|loading|rebalanc/i.test(String(extra.error ?? message)) ? 'warn' : level === logLevel.ERROR ? 'error' : level === logLevel.WARN ? 'warn' : 'info';
        if (/switched default partitioner/.test(message)) return;
        sink(lvl, message, extra);
      },
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 5000 },
      ...options.kafka,
    });
  }

  private async getProducer(): Promise<Producer> {
    if (this.closed) throw new Error('message bus is closed');
    if (this.producer) return this.producer;
    if (!this.producerReady) {
      this.producerReady = (async () => {
        const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
        await producer.connect();
        this.producer = producer;
        return producer;
      })().catch((error: unknown) => {
        this.producerReady = null;
        throw error;
      });
    }
    return this.producerReady;
  }

  async publish(topic: string, messages: readonly OutboundMessage[]): Promise<PublishedRecord[]> {
    if (messages.length === 0) return [];
    const producer = await this.getProducer();
    // The partition is chosen here (Kafka's murmur2 of the key, as the Java client does) and sent
    // explicitly, so each message's own offset can be reported back from the per-partition base offset.
    const partitions = await this.partitionsOf(topic, messages);
    const result = await producer.send({
      topic,
      acks: -1,
      compression: CompressionTypes.None,
      messages: messages.map((m, i) => ({ key: m.key, partition: partitions[i], value: encodeValue(m.value), headers: { ...m.headers } })),
    });
    const next = new Map<number, bigint>(result.map((r) => [r.partition, BigInt(r.baseOffset ?? '0')]));
    return messages.map((_, i) => {
      const partition = partitions[i];
      const offset = next.get(partition) ?? 0n;
      next.set(partition, offset + 1n);
      return { topic, partition, offset: offset.toString() };
    });
  }

  private partitionCounts = new Map<string, number>();
  private async partitionsOf(topic: string, messages: readonly OutboundMessage[]): Promise<number[]> {
    let count = this.partitionCounts.get(topic);
    if (count === undefined) {
      const admin = this.kafka.admin();
      await admin.connect();
      try {
        const meta = await admin.fetchTopicMetadata({ topics: [topic] });
        count = meta.topics[0].partitions.length;
      } finally {
        await admin.disconnect();
      }
      this.partitionCounts.set(topic, count);
    }
    return messages.map((m) => (toPositive(murmur2(Buffer.from(m.key))) % count!));
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (this.closed) throw new Error('message bus is closed');
    const consumer = this.kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      // Short long-polls: lower latency when idle and a quick, clean leave on stop().
      maxWaitTimeInMs: 500,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 5000 },
    });
    this.consumers.add(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: [...options.topics], fromBeginning: options.fromBeginning ?? true });
    let stopping = false;
    // Offsets of handled messages are committed in the background, one commit request at a time
    // carrying the newest handled offset of each partition: a commit per message waits for a
    // coordinator round trip (about 20 ms measured on the local broker), which capped a consumer
    // at ~150 messages/s. Only offsets of messages whose handler resolved are ever committed, so
    // delivery stays at least once; a crash may redeliver what was handled since the last commit.
    const handled = new Map<string, { topic: string; partition: number; offset: string }>();
    let committing: Promise<void> | null = null;
    const commitHandled = async (): Promise<void> => {
      while (handled.size > 0) {
        const offsets = [...handled.values()];
        handled.clear();
        await consumer.commitOffsets(offsets).catch((error: unknown) => {
          // Lost to a rebalance or a broker outage: the new owner gets these messages again.
          (this.options.log ?? (() => undefined))('warn', 'offset commit failed; the messages may be delivered again', {
            error: (error as Error).message,
          });
        });
      }
    };
    /** Resolves once every offset handled so far is committed (or its commit failed). */
    const flush = async (): Promise<void> => {
      while (committing || handled.size > 0) {
        if (!committing) {
          const run: Promise<void> = commitHandled().finally(() => {
            if (committing === run) committing = null;
          });
          committing = run;
        }
        await committing;
      }
    };
    const log = this.options.log ?? (() => undefined);
    /** Runs the handler until it resolves (retry with back-off, never skip), unless stopping. */
    const handle = async (topic: string, partition: number, message: KafkaMessage, heartbeat: () => Promise<void>): Promise<void> => {
      const inbound: InboundMessage = {
        topic,
        partition,
        offset: message.offset,
        key: message.key ? message.key.toString('utf8') : null,
        value: message.value,
        headers: decodeHeaders(message.headers),
        timestamp: message.timestamp,
      };
      for (let attempt = 0; ; attempt++) {
        try {
          await options.handler(inbound);
          return;
        } catch (error) {
          if (stopping) throw error;
          const delay = RETRY_BACKOFF_MS[Math.min(attempt, RETRY_BACKOFF_MS.length - 1)];
          log('warn', `handler failed on ${topic}[${partition}]@${message.offset}, retrying in ${delay} ms`, { error: (error as Error).message });
          await new Promise((r) => setTimeout(r, delay));
          await heartbeat();
        }
      }
    };
    const markHandled = async (topic: string, partition: number, offset: string): Promise<void> => {
      handled.set(`${topic}\0${partition}`, { topic, partition, offset: (BigInt(offset) + 1n).toString() });
      // While stopping, commit before returning: the consumer leaves its group once the handler returns.
      if (stopping) await flush();
      else void flush();
    };
    const keyConcurrency = Math.max(1, Math.floor(options.keyConcurrency ?? 1));
    if (keyConcurrency === 1) {
      await consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: 4,
        eachMessage: async ({ topic, partition, message, heartbeat }) => {
          await handle(topic, partition, message, heartbeat);
          await markHandled(topic, partition, message.offset);
        },
      });
    } else {
      // Per-key concurrency: a fetched batch is split by key; keys run side by side (up to
      // keyConcurrency), each key's messages in order. Only the contiguous prefix of handled
      // messages is resolved and committed, so a stop or a rebalance mid-batch never commits past
      // an unhandled message (it is delivered again: at least once).
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 4,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          const byKey = new Map<string, KafkaMessage[]>();
          for (const message of batch.messages) {
            const key = message.key ? message.key.toString('utf8') : `\0${message.offset}`;
            const list = byKey.get(key);
            if (list) list.push(message);
            else byKey.set(key, [message]);
          }
          const queue = [...byKey.values()];
          const done = new Set<string>();
          const beat = setInterval(() => void heartbeat().catch(() => undefined), 1000);
          try {
            const lane = async (): Promise<void> => {
              for (let group = queue.shift(); group; group = queue.shift()) {
                for (const message of group) {
                  if (!isRunning() || isStale()) return;
                  await handle(batch.topic, batch.partition, message, heartbeat);
                  done.add(message.offset);
                }
              }
            };
            await Promise.all(Array.from({ length: Math.min(keyConcurrency, queue.length) }, lane));
          } finally {
            clearInterval(beat);
            let last: string | null = null;
            for (const message of batch.messages) {
              if (!done.has(message.offset)) break;
              last = message.offset;
            }
            if (last !== null) {
              resolveOffset(last);
              await markHandled(batch.topic, batch.partition, last);
            }
          }
        },
      });
    }
    const stop = async () => {
      stopping = true;
      this.consumers.delete(consumer);
      this.stoppers.delete(consumer);
      await flush();
      await consumer.disconnect();
    };
    this.stoppers.set(consumer, stop);
    return { stop };
  }

  async ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t.name));
      if (missing.length > 0) {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((t) => ({ topic: t.name, numPartitions: t.partitions, replicationFactor: -1 })),
        });
      }
      for (const t of topics) this.partitionCounts.delete(t.name);
    } finally {
      await admin.disconnect();
    }
  }

  async ping(): Promise<void> {
    const admin = this.kafka.admin({ retry: { retries: 0 } });
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length === 0) throw new Error('the cluster reports no brokers');
    } finally {
      await admin.disconnect();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.consumers].map((c) => (this.stoppers.get(c) ?? (() => c.disconnect()))()));
    this.consumers.clear();
    if (this.producer) await this.producer.disconnect();
    this.producer = null;
  }
}

function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    const v = Array.isArray(value) ? value[value.length - 1] : value;
    out[name] = Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  }
  return out;
}

// Kafka's murmur2, as kafkajs's DefaultPartitioner uses, so recorded partitions match the broker's.
function murmur2(data: Buffer): number {
  const length = data.length;
  const seed = 0x9747b28c;
  const m = 0x5bd1e995;
  const r = 24;
  let h = seed ^ length;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (data[i4] & 0xff) + ((data[i4 + 1] & 0xff) << 8) + ((data[i4 + 2] & 0xff) << 16) + ((data[i4 + 3] & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const left = length % 4;
  const idx = length - left;
  if (left === 3) h ^= (data[idx + 2] & 0xff) << 16;
  if (left >= 2) h ^= (data[idx + 1] & 0xff) << 8;
  if (left >= 1) {
    h ^= data[idx] & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

function toPositive(x: number): number {
  return x & 0x7fffffff;
}
