import { SpanKind } from '@opentelemetry/api';
import { contextFromTraceparent, inSpan, TRACEPARENT_HEADER, traceparentOf, tracingEnabled } from '@signoff/observability';
import { EnsureTopicsOptions, MessageBus, OutboundMessage, PublishedRecord, SubscribeOptions, Subscription, TopicSpec } from './message-bus.port';

/**
 * The message bus with OpenTelemetry spans and W3C trace context on every message (messaging
 * semantic conventions): each publish is a `send <topic>` PRODUCER span whose `traceparent` goes
 * into the headers of every message that does not carry one yet (a message built inside a
 * narrower span, the dispatcher's, keeps its own), and each handled message is a
 * `process <topic>` CONSUMER span, the child of the message's `traceparent` when it has a valid
 * one (a forged or malformed header is ignored: the message starts a new trace). Only installed
 * when tracing is on ({@link withTracing}), so a process without tracing pays nothing.
 */
export class TracingMessageBus extends MessageBus {
  constructor(
    private readonly inner: MessageBus,
    /** `messaging.system`: `kafka`, or the in-process bus's name. */
    private readonly system: string,
  ) {
    super();
  }

  publish(topic: string, messages: readonly OutboundMessage[]): Promise<PublishedRecord[]> {
    if (messages.every((m) => m.headers?.[TRACEPARENT_HEADER] !== undefined)) return this.inner.publish(topic, messages);
    return inSpan(
      `send ${topic}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': this.system,
          'messaging.operation.type': 'send',
          'messaging.operation.name': 'send',
          'messaging.destination.name': topic,
          ...(messages.length === 1 ? { 'messaging.kafka.message.key': messages[0].key } : { 'messaging.batch.message_count': messages.length }),
        },
      },
      async (span) => {
        const traceparent = traceparentOf(span);
        const stamped = traceparent
          ? messages.map((m) => (m.headers?.[TRACEPARENT_HEADER] !== undefined ? m : { ...m, headers: { ...m.headers, [TRACEPARENT_HEADER]: traceparent } }))
          : messages;
        const records = await this.inner.publish(topic, stamped);
        if (records.length === 1) {
          span.setAttribute('messaging.destination.partition.id', String(records[0].partition));
          span.setAttribute('messaging.kafka.offset', Number(records[0].offset));
        }
        return records;
      },
    );
  }

  subscribe(options: SubscribeOptions): Promise<Subscription> {
    const { handler, groupId } = options;
    return this.inner.subscribe({
      ...options,
      handler: (message) =>
        inSpan(
          `process ${message.topic}`,
          {
            kind: SpanKind.CONSUMER,
            parent: contextFromTraceparent(message.headers[TRACEPARENT_HEADER]),
            attributes: {
              'messaging.system': this.system,
              'messaging.operation.type': 'process',
              'messaging.operation.name': 'process',
              'messaging.destination.name': message.topic,
              'messaging.destination.partition.id': String(message.partition),
              'messaging.kafka.offset': Number(message.offset),
              'messaging.consumer.group.name': groupId,
              ...(message.key !== null ? { 'messaging.kafka.message.key': message.key } : {}),
            },
          },
          () => handler(message),
        ),
    });
  }

  ensureTopics(topics: readonly TopicSpec[], options?: EnsureTopicsOptions): Promise<void> {
    return this.inner.ensureTopics(topics, options);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** The bus itself when tracing is off; else the bus with spans and trace context ({@link TracingMessageBus}). */
export function withTracing(bus: MessageBus, system: string): MessageBus {
  return tracingEnabled() && !(bus instanceof TracingMessageBus) ? new TracingMessageBus(bus, system) : bus;
}
