import { dlqOf } from '@signoff/contracts';
import { deadLetterRecord } from './dead-letter';
import { InboundMessage, OutboundMessage, PublishedRecord, SubscribeOptions, WaitingMessage } from './message-bus.port';
import { classifyFailure, MessageFailure } from './message-failure';

/** Capped exponential back-off. */
export interface Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
}

/**
 * The delay before retry number `attempt` (0-based): `min(max, base * 2^attempt)`, of which the
 * upper half is random ("equal jitter"), so instances retrying the same outage spread out.
 */
export function backoffDelay(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Per message: how to keep the consumer's membership alive and when to give up. */
export interface DeliveryControl {
  /** True once the message must not be retried here any more (partition revoked, batch stale). */
  readonly abandoned?: () => boolean;
  /** Called between retries (the consumer's heartbeat); may throw to abandon (a rebalance). */
  readonly keepAlive?: () => Promise<void>;
}

export interface DeliveryDeps {
  readonly publish: (topic: string, messages: readonly OutboundMessage[]) => Promise<PublishedRecord[]>;
  readonly backoff: Backoff;
  readonly log: (level: 'error' | 'warn' | 'info', message: string, extra?: Record<string, unknown>) => void;
}

/**
 * The failure policy of one subscription, shared by every MessageBus adapter (see
 * SubscribeOptions.handler): runs the handler on a message until it resolves, dead-letters it on a
 * permanent failure, retries it with back-off on a transient one, and knows which messages are
 * waiting for a retry right now.
 */
export class MessageDelivery {
  private readonly retrying = new Map<string, WaitingMessage>();
  private readonly sleepers = new Set<() => void>();
  private stopped = false;

  constructor(
    private readonly options: SubscribeOptions,
    private readonly deps: DeliveryDeps,
  ) {}

  /** Messages being retried after a transient failure. */
  waiting(): WaitingMessage[] {
    return [...this.retrying.values()];
  }

  /** Every delivery in progress gives up at its next retry (the consumer is stopping). */
  stop(): void {
    this.stopped = true;
    for (const wake of [...this.sleepers]) wake();
  }

  /**
   * Resolves once the message was handled or dead-lettered; throws (the last error) when it was
   * abandoned before either, so the caller does not commit its offset.
   */
  async deliver(message: InboundMessage, control: DeliveryControl = {}): Promise<void> {
    const id = `${message.topic}\0${message.partition}\0${message.offset}`;
    const gaveUp = () => this.stopped || (control.abandoned?.() ?? false);
    const where = `${message.topic}[${message.partition}]@${message.offset}`;
    try {
      for (let attempt = 0; ; attempt++) {
        let failure: MessageFailure;
        let thrown: unknown;
        try {
          await this.options.handler(message);
          return;
        } catch (error) {
          thrown = error;
          failure = this.options.deadLetter
            ? (this.options.deadLetter.classify ?? classifyFailure)(error)
            : { kind: 'transient', code: 'handler_failed', detail: error instanceof Error ? error.message : String(error) };
        }
        if (failure.kind === 'permanent') {
          if (failure.code === 'internal') {
            // A bug, not a bad message as such: keep the stack for whoever fixes it.
            this.deps.log('error', `unexpected failure handling ${where}`, { stack: thrown instanceof Error ? thrown.stack : String(thrown) });
          }
          await this.deadLetter(message, failure, id, gaveUp, control);
          return;
        }
        if (gaveUp()) throw thrown;
        const delay = backoffDelay(attempt, this.deps.backoff);
        this.note(id, message, failure.code, failure.detail);
        this.deps.log('warn', `handling ${where} failed (${failure.code}), retrying in ${delay} ms`, { error: failure.detail, attempt: attempt + 1 });
        await this.pause(delay, control);
        if (gaveUp()) throw thrown;
      }
    } finally {
      this.retrying.delete(id);
    }
  }

  /** Publishes the message to its DLQ, retrying (transient) until the broker takes it. */
  private async deadLetter(message: InboundMessage, failure: MessageFailure, id: string, gaveUp: () => boolean, control: DeliveryControl): Promise<void> {
    const dead = this.options.deadLetter!;
    const dlq = (dead.topicOf ?? dlqOf)(message.topic);
    const where = `${message.topic}[${message.partition}]@${message.offset}`;
    // The credential of the producer (authorization) is never copied: see deadLetterRecord.
    const record = deadLetterRecord(message, failure, dead.headers);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.deps.publish(dlq, [record]);
        break;
      } catch (error) {
        if (gaveUp()) throw error;
        const detail = `dead-lettering to ${dlq} failed: ${error instanceof Error ? error.message : String(error)}`;
        const delay = backoffDelay(attempt, this.deps.backoff);
        this.note(id, message, 'dlq_unavailable', detail);
        this.deps.log('warn', `${detail}; retrying in ${delay} ms`, { at: where });
        await this.pause(delay, control);
        if (gaveUp()) throw error;
      }
    }
    this.deps.log('warn', `dead-lettered ${where} to ${dlq}: ${failure.code}: ${failure.detail.slice(0, 500)}`);
    try {
      dead.onDeadLettered?.({ message, failure, dlq });
    } catch {
      /* a metrics hook must not undo a dead letter */
    }
  }

  private note(id: string, message: InboundMessage, code: string, detail: string): void {
    const previous = this.retrying.get(id);
    this.retrying.set(id, {
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
      attempts: (previous?.attempts ?? 0) + 1,
      since: previous?.since ?? Date.now(),
      code,
      detail: detail.slice(0, 500),
    });
  }

  /** Sleeps (woken early by stop()), then keeps the consumer alive. */
  private async pause(ms: number, control: DeliveryControl): Promise<void> {
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
      if (this.stopped) wake();
    });
    if (!this.stopped) await control.keepAlive?.();
  }
}
