import { Consumer, Kafka, KafkaConfig, KafkaMessage, logLevel, Producer, CompressionTypes, IHeaders } from 'kafkajs';
import {
  encodeValue,
  EnsureTopicsOptions,
  InboundMessage,
  MessageBus,
  OutboundMessage,
  PublishedRecord,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from './message-bus.port';
import { backoffDelay, MessageDelivery } from './message-delivery';
import { patchKafkaJsNegativeTimeout } from './kafkajs-timeout.patch';
import { brokerFailure, TransientMessageError } from './message-failure';

patchKafkaJsNegativeTimeout();

export interface KafkaBusOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** Log sink for client warnings and errors (default: stderr, warnings and errors only). */
  readonly log?: (level: 'error' | 'warn' | 'info', message: string, extra?: Record<string, unknown>) => void;
  readonly kafka?: Partial<KafkaConfig>;
  /**
   * How long ensureTopics and subscribe retry transient broker errors (unreachable, leader
   * elections, topics another instance is still creating) before giving up (default 60 s).
   */
  readonly startupTimeoutMs?: number;
}

/**
 * Partitions of one consumer handled side by side (kafkajs's partitionsConsumedConcurrently):
 * Signoff's topics have 6 partitions, so one instance works on all of them at once.
 */
const PARTITIONS_CONSUMED_CONCURRENTLY = 6;
/** Retries of a failing handler: 100 ms doubling to 5 s, jittered. */
const HANDLER_BACKOFF = { baseMs: 100, maxMs: 5000 };
/** Retries of start-up steps (topics, joining the group). */
const STARTUP_BACKOFF = { baseMs: 200, maxMs: 3000 };
export const DEFAULT_STARTUP_TIMEOUT_MS = 60_000;

/** Topics that exist but are not usable yet (no partitions or no leader for some). */
class TopicsNotReadyError extends Error {
  constructor(readonly topics: readonly string[]) {
    super(`waiting for the leaders of ${topics.join(', ')}`);
    this.name = 'TopicsNotReadyError';
  }
}

/** True for the "another instance created it first" refusal of CreateTopics. */
function onlyAlreadyExists(error: unknown): boolean {
  const e = error as { type?: unknown; errors?: unknown };
  if (e?.type === 'TOPIC_ALREADY_EXISTS') return true;
  return Array.isArray(e?.errors) && e.errors.length > 0 && e.errors.every((x) => (x as { type?: unknown })?.type === 'TOPIC_ALREADY_EXISTS');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The messaging port on Apache Kafka through kafkajs: an idempotent producer (acks from all
 * in-sync replicas, at most one request in flight so retries cannot reorder), consumer groups that
 * commit an offset only after its handler resolved.
 */
export class KafkaMessageBus extends MessageBus {
  private readonly kafka: Kafka;
  /** The same cluster with short retries, for start-up steps and readiness probes. */
  private readonly quick: Kafka;
  private producer: Producer | null = null;
  private producerReady: Promise<Producer> | null = null;
  private readonly consumers = new Set<Consumer>();
  /** Each consumer's stop: commits what was handled, then leaves the group. */
  private readonly stoppers = new Map<Consumer, () => Promise<void>>();
  /** Consumer groups whose consumer crashed and will not restart (readiness reports them). */
  private readonly crashed = new Map<string, string>();
  private closed = false;
  private readonly startupTimeoutMs: number;

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
    // Start-up steps and readiness probes fail fast (kafkajs would retry a connection for ~30 s
    // first) so that untilReady owns the back-off and the deadline, and readiness shows the reason.
    this.quick = new Kafka({
      clientId: options.clientId,
      brokers: [...options.brokers],
      logLevel: logLevel.NOTHING,
      ...options.kafka,
      retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 },
    });
    this.startupTimeoutMs = options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS;
  }

  private log(level: 'error' | 'warn' | 'info', message: string, extra?: Record<string, unknown>): void {
    (this.options.log ?? (() => undefined))(level, message, extra);
  }

  /**
   * Runs a start-up step until it succeeds, retrying transient broker errors with back-off until
   * the deadline; a refusal retrying cannot fix, or the deadline, throws an error naming the step.
   */
  private async untilReady<T>(what: string, timeoutMs: number, step: () => Promise<T>, onRetry?: (reason: string) => void): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new Error(`message bus is closed (while ${what})`);
      try {
        return await step();
      } catch (error) {
        const transient = error instanceof TopicsNotReadyError || brokerFailure(error) === 'transient';
        if (!transient) throw new Error(`Kafka refused ${what}: ${messageOf(error)}`, { cause: error });
        const delay = backoffDelay(attempt, STARTUP_BACKOFF);
        if (Date.now() + delay > deadline) {
          throw new Error(`gave up ${what} after ${timeoutMs} ms (KAFKA_STARTUP_TIMEOUT_MS): ${messageOf(error)}`, { cause: error });
        }
        const reason = `${what}: ${messageOf(error)}`;
        onRetry?.(reason);
        this.log('warn', `${reason}; retrying in ${delay} ms`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private async getProducer(): Promise<Producer> {
    // Transient for a handler that publishes: its message is not committed and comes back later.
    if (this.closed) throw new TransientMessageError('broker_unavailable', 'message bus is closed');
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
        count = meta.topics[0]?.partitions.length ?? 0;
      } finally {
        await admin.disconnect();
      }
      // A topic being created may report no partitions yet: never cache (or divide by) zero.
      if (count === 0) throw new TransientMessageError('broker_unavailable', `topic ${topic} has no partitions yet`);
      this.partitionCounts.set(topic, count);
    }
    return messages.map((m) => (toPositive(murmur2(Buffer.from(m.key))) % count!));
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (this.closed) throw new Error('message bus is closed');
    // Connecting and subscribing fetch metadata, which fails while the broker is unreachable or
    // a topic's leaders are still being elected (instances of a fresh deployment starting at once):
    // retried with a fresh consumer until the start-up timeout.
    const consumer = await this.untilReady(`joining consumer group ${options.groupId}`, this.startupTimeoutMs, async () => {
      const candidate = this.kafka.consumer({
        groupId: options.groupId,
        allowAutoTopicCreation: false,
        sessionTimeout: 10_000,
        heartbeatInterval: 1_000,
        // Short long-polls: lower latency when idle and a quick, clean leave on stop().
        maxWaitTimeInMs: 500,
        retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 5000 },
      });
      try {
        await candidate.connect();
        await candidate.subscribe({ topics: [...options.topics], fromBeginning: options.fromBeginning ?? true });
        return candidate;
      } catch (error) {
        await candidate.disconnect().catch(() => undefined);
        throw error;
      }
    });
    this.consumers.add(consumer);
    // kafkajs restarts a crashed consumer unless the error is not retriable: then the group has
    // one member less for good, which readiness must show (ping).
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) this.crashed.set(options.groupId, payload.error.message);
    });
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
    const delivery = new MessageDelivery(options, {
      publish: (topic, messages) => this.publish(topic, messages),
      backoff: HANDLER_BACKOFF,
      log: (level, message, extra) => this.log(level, message, extra),
    });
    /**
     * Runs the handler until it resolves or its message is dead-lettered (transient failures are
     * retried with back-off, never skipped), unless stopping or the batch went stale.
     */
    const handle = async (topic: string, partition: number, message: KafkaMessage, heartbeat: () => Promise<void>, stale: () => boolean = () => false): Promise<void> => {
      const inbound: InboundMessage = {
        topic,
        partition,
        offset: message.offset,
        key: message.key ? message.key.toString('utf8') : null,
        value: message.value,
        headers: decodeHeaders(message.headers),
        timestamp: message.timestamp,
      };
      await delivery.deliver(inbound, { abandoned: () => stopping || stale(), keepAlive: heartbeat });
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
        partitionsConsumedConcurrently: PARTITIONS_CONSUMED_CONCURRENTLY,
        eachMessage: async ({ topic, partition, message, heartbeat }) => {
          // A slow or retried handler must not cost the consumer its group membership.
          const beat = setInterval(() => void heartbeat().catch(() => undefined), 1000);
          try {
            await handle(topic, partition, message, heartbeat);
          } finally {
            clearInterval(beat);
          }
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
        partitionsConsumedConcurrently: PARTITIONS_CONSUMED_CONCURRENTLY,
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
                  await handle(batch.topic, batch.partition, message, heartbeat, () => !isRunning() || isStale());
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
      delivery.stop();
      this.consumers.delete(consumer);
      this.stoppers.delete(consumer);
      await flush();
      await consumer.disconnect();
    };
    this.stoppers.set(consumer, stop);
    return { stop, waiting: () => delivery.waiting() };
  }

  async ensureTopics(topics: readonly TopicSpec[], options: EnsureTopicsOptions = {}): Promise<void> {
    if (topics.length === 0) return;
    await this.untilReady('creating the Kafka topics', options.timeoutMs ?? this.startupTimeoutMs, () => this.ensureTopicsOnce(topics), options.onRetry);
  }

  /**
   * One attempt: create what is missing, then check that every topic has all its partitions with
   * a leader. Instances starting together race here: a topic another instance just created is
   * refused as TOPIC_ALREADY_EXISTS (success), and its metadata may still say "does not host this
   * topic-partition" or name no leader for a moment (TopicsNotReadyError / a retriable error: the
   * caller retries). kafkajs's own waitForLeaders gives up on the first of those, so it is not used.
   */
  private async ensureTopicsOnce(topics: readonly TopicSpec[]): Promise<void> {
    const admin = this.quick.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t.name));
      if (missing.length > 0) {
        try {
          await admin.createTopics({
            waitForLeaders: false,
            topics: missing.map((t) => ({ topic: t.name, numPartitions: t.partitions, replicationFactor: -1 })),
          });
        } catch (error) {
          if (!onlyAlreadyExists(error)) throw error;
        }
      }
      const names = topics.map((t) => t.name);
      const meta = await admin.fetchTopicMetadata({ topics: names });
      const usable = new Map(
        meta.topics
          .filter((t) => t.partitions.length > 0 && t.partitions.every((p) => p.partitionErrorCode === 0 && p.leader >= 0))
          .map((t) => [t.name, t.partitions.length]),
      );
      const notReady = names.filter((name) => !usable.has(name));
      if (notReady.length > 0) throw new TopicsNotReadyError(notReady);
      for (const [name, count] of usable) this.partitionCounts.set(name, count);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async ping(): Promise<void> {
    if (this.crashed.size > 0) {
      throw new Error([...this.crashed].map(([group, error]) => `the consumer of group ${group} crashed and will not restart: ${error}`).join('; '));
    }
    const admin = this.quick.admin({ retry: { retries: 0 } });
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
