import { Logger } from '@nestjs/common';
import { EventStore, RecordedEvent, SubscriptionHandle } from '@signoff/event-store';
import { MessageBus, OutboundMessage } from '@signoff/messaging';

export interface EventRelayOptions<E> {
  /** Subscription (checkpoint) name; one per relay and service. */
  readonly name: string;
  readonly eventTypes: readonly string[];
  readonly streamPrefix?: string;
  readonly topic: string;
  /** The message for an event, or null to skip it. */
  readonly toMessage: (event: RecordedEvent<E & { type: string; data: unknown }>) => OutboundMessage | null | Promise<OutboundMessage | null>;
}

/**
 * Publishes stored events to Kafka from a checkpointed event-store subscription, never as
 * fire-and-forget after an append: a message is published at least once even if the process
 * dies between the append and the publish (the checkpoint only moves after the broker acked).
 */
export class EventRelay<E = unknown> {
  private readonly logger: Logger;
  private handle: SubscriptionHandle | null = null;

  constructor(
    private readonly store: EventStore,
    private readonly bus: MessageBus,
    private readonly options: EventRelayOptions<E>,
  ) {
    this.logger = new Logger(`EventRelay:${options.name}`);
  }

  start(): void {
    this.handle = this.store.subscribe<E & { type: string; data: unknown }>(this.options.name, {
      filter: { eventTypes: this.options.eventTypes, streamPrefix: this.options.streamPrefix },
      batchSize: 200,
      pollIntervalMs: 20,
      handler: async (event) => {
        const message = await this.options.toMessage(event);
        if (message) await this.bus.publish(this.options.topic, [message]);
      },
      onError: (error) => this.logger.warn(`relay to ${this.options.topic} failed, retrying: ${(error as Error).message}`),
    });
  }

  async stop(): Promise<void> {
    await this.handle?.stop();
    this.handle = null;
  }
}
