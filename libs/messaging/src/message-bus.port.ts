import type { MessageFailure } from './message-failure';

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

export interface EnsureTopicsOptions {
  /**
   * How long transient broker errors (unreachable, electing leaders, a topic another instance is
   * creating) are retried before ensureTopics gives up (default: the adapter's start-up timeout).
   */
  readonly timeoutMs?: number;
  /** Told before each retry what is being waited for (readiness reports it). */
  readonly onRetry?: (reason: string) => void;
}

/** A message moved to its dead-letter topic. */
export interface DeadLetteredMessage {
  readonly message: InboundMessage;
  readonly failure: MessageFailure;
  /** The dead-letter topic it was published to. */
  readonly dlq: string;
}

/**
 * What a subscription does with a message whose handler failed for good. With it, every handler
 * failure is classified ({@link classifyFailure}): permanent ones dead-letter the message at once,
 * transient ones are retried.
 */
export interface DeadLetterOptions {
  /** The dead-letter topic of a consumed topic (default `<topic>.dlq`, DESIGN section 12). */
  readonly topicOf?: (topic: string) => string;
  /** Classifies a handler failure (default {@link classifyFailure}). */
  readonly classify?: (error: unknown) => MessageFailure;
  /** Told after a message was dead-lettered (metrics, logs). */
  readonly onDeadLettered?: (event: DeadLetteredMessage) => void;
  /**
   * Headers added to every dead letter of this subscription (e.g. the worker SDK's `refused-by`);
   * they override the message's own headers of the same name, never `error-code`, `error-detail`
   * or `original-*`. Credentials (`authorization`) are never written, from the message or here.
   */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A message whose handling is being retried after a transient failure (readiness reports these). */
export interface WaitingMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** Failed attempts so far. */
  readonly attempts: number;
  /** When the first attempt failed (epoch ms). */
  readonly since: number;
  /** The last failure's code and detail (e.g. `store_unavailable`). */
  readonly code: string;
  readonly detail: string;
}

export interface SubscribeOptions {
  /** Consumer group: instances sharing it split the partitions; committed offsets are per group. */
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where a group with no committed offset starts. Default true (nothing is missed). */
  readonly fromBeginning?: boolean;
  /**
   * Called once per message, in order within a partition. The offset is committed only after it
   * resolves (or after the message was dead-lettered), so delivery is at least once. When it
   * throws:
   * - with `deadLetter` set, the failure is classified ({@link classifyFailure}): a permanent one
   *   (the message is bad: invalid, refused, unauthenticated, too large, a value the store refuses,
   *   a bug) moves the message to its dead-letter topic with `error-code` / `error-detail` headers
   *   (and its own headers except `authorization`: credentials never reach a DLQ) and the
   *   partition moves on; a transient one (store, broker or policy unavailable, contention)
   *   is retried with capped, jittered exponential back-off, never skipped, until it succeeds. A
   *   dead-letter publish that fails is transient too: the message is never lost.
   * - without `deadLetter`, every failure is retried that way (there is nowhere to put it).
   * Handlers therefore throw on bad messages (a SignoffError with its code, or a
   * PermanentMessageError) instead of publishing to a DLQ themselves.
   */
  readonly handler: (message: InboundMessage) => Promise<void>;
  /** Dead-letter permanent failures (see `handler`). Every Signoff consumer sets it. */
  readonly deadLetter?: DeadLetterOptions;
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
  /** The messages being retried after a transient failure right now. */
  waiting(): readonly WaitingMessage[];
}

/**
 * The messaging port: Kafka in a deployment, the in-process bus in the standalone mode.
 * `subscribe` rejects only when the consumer cannot be started (transient broker errors are
 * retried until the adapter's start-up timeout).
 * Both give at-least-once delivery, order per key (one key is always on one partition) and
 * durable committed offsets per consumer group while the bus lives.
 */
export abstract class MessageBus {
  /** Publishes messages to one topic; resolves once the broker acknowledged all of them. */
  abstract publish(topic: string, messages: readonly OutboundMessage[]): Promise<PublishedRecord[]>;
  abstract subscribe(options: SubscribeOptions): Promise<Subscription>;
  /**
   * Creates missing topics with the given partition count (existing topics are left alone) and
   * resolves once every one of them is usable (has a leader for each partition). Safe to call
   * from many instances at once. Transient broker errors are retried until the timeout; then, or
   * on a refusal retrying cannot fix (ACLs, an invalid configuration), it throws a clear error.
   */
  abstract ensureTopics(topics: readonly TopicSpec[], options?: EnsureTopicsOptions): Promise<void>;
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
