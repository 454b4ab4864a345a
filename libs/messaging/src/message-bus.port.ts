/** A message to publish. `value` is sent as-is when a Buffer/string, else as JSON. */
export interface OutboundMessage {
  readonly key: string;
  readonly value: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Where a published message landed. */
export interface PublishedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/** A consumed message. */
export interface InboundMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly timestamp: string;
}

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
}

export interface SubscribeOptions {
  /** Consumer group: instances sharing it split the partitions; committed offsets are per group. */
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where a group with no committed offset starts. Default true (nothing is missed). */
  readonly fromBeginning?: boolean;
  /**
   * Called once per message, in order within a partition. The offset is committed only after it
   * resolves, so delivery is at least once; a handler that throws is retried (with backoff) and
   * never skipped: a handler must route poison messages to a DLQ itself instead of throwing.
   */
  readonly handler: (message: InboundMessage) => Promise<void>;
  /**
   * Messages of different keys of one partition handled at once (default 1: strictly one at a
   * time). Order per key is always kept; an offset is committed only once every message before it
   * in its partition was handled. Adapters may treat it as a hint (the in-process bus ignores it).
   */
  readonly keyConcurrency?: number;
}

/** A running consumer. */
export interface Subscription {
  stop(): Promise<void>;
}

/**
 * The messaging port: Kafka in a deployment, the in-process bus in the standalone mode.
 * Both give at-least-once delivery, order per key (one key is always on one partition) and
 * durable committed offsets per consumer group while the bus lives.
 */
export abstract class MessageBus {
  /** Publishes messages to one topic; resolves once the broker acknowledged all of them. */
  abstract publish(topic: string, messages: readonly OutboundMessage[]): Promise<PublishedRecord[]>;
  abstract subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Creates missing topics with the given partition count (existing topics are left alone). */
  abstract ensureTopics(topics: readonly TopicSpec[]): Promise<void>;
  /** Resolves when the bus can reach its broker (readiness); throws with the reason otherwise. */
  abstract ping(): Promise<void>;
  /** Stops every subscription and the producer. */
  abstract close(): Promise<void>;
}

/** Encodes a message value the way every adapter sends it. */
export function encodeValue(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** Parses a JSON message value; throws a SyntaxError on bad JSON. */
export function decodeJson(message: InboundMessage): unknown {
  if (message.value === null) throw new SyntaxError('message has no value');
  return JSON.parse(message.value.toString('utf8'));
}

/** Deterministic partition of a key (murmur2 as in Kafka's default partitioner is not needed in-process). */
export function partitionForKey(key: string, partitions: number): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0) % partitions;
}
