import type { MessageBus, OutboundMessage, PublishedRecord } from '@signoff/messaging';

/**
 * True when the broker refused the request itself (a protocol error it marks not retriable, such
 * as MESSAGE_TOO_LARGE): sending it again cannot succeed. Connection losses, timeouts and
 * leadership changes are transient. Duck-typed on kafkajs's error shape, so the dispatcher does
 * not depend on the Kafka client behind the MessageBus port.
 */
export function isPermanentPublishError(error: unknown): boolean {
  const seen = new Set<unknown>();
  const stack: unknown[] = [error];
  while (stack.length > 0) {
    const e = stack.pop();
    if (typeof e !== 'object' || e === null || seen.has(e)) continue;
    seen.add(e);
    const candidate = e as { name?: unknown; retriable?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown };
    if (candidate.name === 'KafkaJSProtocolError' && candidate.retriable === false) return true;
    if (candidate.name === 'PermanentPublishError') return true;
    stack.push(candidate.cause, candidate.originalError);
    if (Array.isArray(candidate.errors)) stack.push(...(candidate.errors as unknown[]));
  }
  return false;
}

/** A message this dispatcher will not send (it cannot be delivered as it is). */
export class PermanentPublishError extends Error {
  override readonly name = 'PermanentPublishError';
}

interface Pending {
  readonly message: OutboundMessage;
  readonly resolve: (record: PublishedRecord) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Coalesces concurrent publishes to one topic into one producer request: while a request is in
 * flight, the next messages queue and leave together in the next one (as Kafka's own linger does,
 * without a timer). Each caller still gets its own partition and offset, and only once the broker
 * acknowledged the request that carried its message. Idle, a message leaves at once.
 */
export class BatchingPublisher {
  private queue: Pending[] = [];
  private flushing = false;

  constructor(
    private readonly bus: MessageBus,
    private readonly topic: string,
    private readonly maxBatch = 500,
  ) {}

  publish(message: OutboundMessage): Promise<PublishedRecord> {
    return new Promise<PublishedRecord>((resolve, reject) => {
      this.queue.push({ message, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          const records = await this.bus.publish(
            this.topic,
            batch.map((p) => p.message),
          );
          batch.forEach((p, i) => p.resolve(records[i]));
        } catch (error) {
          if (batch.length > 1 && isPermanentPublishError(error)) {
            // One bad message (e.g. too large) must not fail the others: send them one by one.
            for (const p of batch) {
              await this.bus.publish(this.topic, [p.message]).then(([record]) => p.resolve(record), p.reject);
            }
          } else {
            for (const p of batch) p.reject(error);
          }
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
