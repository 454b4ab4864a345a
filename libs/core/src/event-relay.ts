import { FactoryProvider, InjectionToken, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { SignoffTopics } from '@signoff/contracts';
import { EventStore, RecordedEvent, SubscriptionHandle, SubscriptionLeaseLostError } from '@signoff/event-store';
import { MessageBus, OutboundMessage } from '@signoff/messaging';
import { continueTrace, tracingEnabled } from '@signoff/observability';
import { SIGNOFF_TOPICS } from './core.tokens';

/**
 * At most this much (roughly) per publish of a relay: well under the broker's default limit of a
 * record batch (message.max.bytes, 1 MB), which a request's messages to one partition must fit.
 */
const MAX_PUBLISH_BYTES = 256 * 1024;

/** How often a relay writes its checkpoint at most (the events of one interval may be published again after a crash). */
const RELAY_CHECKPOINT_INTERVAL_MS = 100;

/** About the encoded size of a message: its value's JSON and its key and headers. */
function approximateBytes(message: OutboundMessage): number {
  const { value } = message;
  let bytes = message.key.length + (Buffer.isBuffer(value) ? value.length : typeof value === 'string' ? value.length : (JSON.stringify(value)?.length ?? 0));
  for (const [name, value] of Object.entries(message.headers ?? {})) bytes += name.length + String(value).length;
  return bytes;
}

/** The message for an event, or null to skip it. */
export type EventRelayMapper<E = unknown> = (
  event: RecordedEvent<E & { type: string; data: unknown }>,
) => OutboundMessage | null | Promise<OutboundMessage | null>;

/** One relay: which events it reads (under which checkpoint) and what it publishes where. */
export interface EventRelayOptions<E> {
  /** Subscription (checkpoint) name; one per relay and service. */
  readonly name: string;
  readonly eventTypes: readonly string[];
  readonly streamPrefix?: string;
  readonly topic: string;
  /** The message for an event, or null to skip it. */
  readonly toMessage: EventRelayMapper<E>;
  /** Called with each batch of events before they are mapped (a mapper that looks ahead in the batch). */
  readonly prepareBatch?: (events: readonly RecordedEvent<E & { type: string; data: unknown }>[]) => void;
}

/** What makes one relay: {@link EventRelayOptions} with the topic picked from the deployment's topic names. */
export interface EventRelayDefinition<E = unknown> extends Omit<EventRelayOptions<E>, 'topic'> {
  readonly topic: (topics: SignoffTopics) => string;
}

/**
 * Publishes stored events to Kafka from a checkpointed event-store subscription, never as
 * fire-and-forget after an append: a message is published at least once even if the process
 * dies between the append and the publish (the checkpoint only moves after the broker acked).
 *
 * As a Nest provider (see {@link eventRelayProvider}) it starts once the application has
 * bootstrapped and stops in `onModuleDestroy`: every `onModuleDestroy` runs before any
 * `onApplicationShutdown`, where the message bus and the event store close, so the relay's last
 * publish and checkpoint happen while both are still open.
 */
export class EventRelay<E = unknown> implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger: Logger;
  private handle: SubscriptionHandle | null = null;

  constructor(
    private readonly store: EventStore,
    private readonly bus: MessageBus,
    private readonly options: EventRelayOptions<E>,
  ) {
    this.logger = new Logger(`EventRelay:${options.name}`);
  }

  /** The checkpoint name. */
  get name(): string {
    return this.options.name;
  }

  /** Starts the checkpointed subscription; call it once (a second call would start a second one). */
  start(): void {
    this.handle = this.store.subscribe<E & { type: string; data: unknown }>(this.options.name, {
      filter: { eventTypes: this.options.eventTypes, streamPrefix: this.options.streamPrefix },
      batchSize: 200,
      pollIntervalMs: 20,
      // At most ten checkpoint writes a second however small the batches (issue 15: one write per
      // handled batch was 0.06 statements per approve); a crash hands at most 100 ms again.
      checkpointIntervalMs: RELAY_CHECKPOINT_INTERVAL_MS,
      handleBatch: (events) => this.relay(events),
      // A lease lost to another instance is logged by the store's lease observer: not a failure.
      onError: (error) => {
        if (!(error instanceof SubscriptionLeaseLostError)) this.logger.warn(`relay to ${this.options.topic} failed, retrying: ${(error as Error).message}`);
      },
    });
  }

  /**
   * Publishes a batch's messages in as few produce requests as fit {@link MAX_PUBLISH_BYTES}: one
   * request per event was most of a relaying instance's CPU (issue 15). With tracing on, each
   * publish (a `send` span) continues the trace of the request that wrote its event, read from
   * the event's metadata, so there it stays one publish per event.
   */
  private async relay(events: RecordedEvent<E & { type: string; data: unknown }>[]): Promise<void> {
    const traced = tracingEnabled();
    let chunk: OutboundMessage[] = [];
    let bytes = 0;
    this.options.prepareBatch?.(events);
    for (const event of events) {
      const message = await this.options.toMessage(event);
      if (!message) continue;
      if (traced) {
        await continueTrace((event.metadata as { traceparent?: unknown } | null)?.traceparent, () => this.bus.publish(this.options.topic, [message]));
        continue;
      }
      const size = approximateBytes(message);
      if (chunk.length > 0 && bytes + size > MAX_PUBLISH_BYTES) {
        await this.bus.publish(this.options.topic, chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(message);
      bytes += size;
    }
    if (chunk.length > 0) await this.bus.publish(this.options.topic, chunk);
  }

  /** Lets the message in flight finish, stores the checkpoint and stops. Idempotent. */
  async stop(): Promise<void> {
    await this.handle?.stop();
    this.handle = null;
  }

  onApplicationBootstrap(): void {
    this.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.stop();
  }
}

/** Builds a relay's definition from the store and the `inject`ed values (a mapper that needs more than the event). */
export type EventRelayDefinitionFactory<E = unknown> = (store: EventStore, ...injected: never[]) => EventRelayDefinition<E>;

/**
 * One relay as a Nest provider (list it in a module's `providers`): an {@link EventRelay} on the
 * application's event store, message bus and topic names, from its definition, or from a factory
 * of it that gets the store and the `inject`ed values. The token is a fresh symbol (nothing
 * injects a relay).
 */
export function eventRelayProvider<E = unknown>(
  define: EventRelayDefinition<E> | EventRelayDefinitionFactory<E>,
  inject: readonly InjectionToken[] = [],
): FactoryProvider<EventRelay<E>> {
  return {
    provide: Symbol(typeof define === 'function' ? 'EventRelay' : `EventRelay:${define.name}`),
    useFactory: (store: EventStore, bus: MessageBus, topics: SignoffTopics, ...injected: unknown[]) => {
      const definition = typeof define === 'function' ? define(store, ...(injected as never[])) : define;
      return new EventRelay<E>(store, bus, { ...definition, topic: definition.topic(topics) });
    },
    inject: [EventStore, MessageBus, SIGNOFF_TOPICS, ...inject],
  };
}
