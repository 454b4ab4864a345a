export * from './message-bus.port';
export { KafkaMessageBus, DEFAULT_STARTUP_TIMEOUT_MS, type KafkaBusOptions } from './kafka.message-bus';
export { patchKafkaJsNegativeTimeout } from './kafkajs-timeout.patch';
export { classifyFailure, brokerFailure, PermanentMessageError, TransientMessageError, type MessageFailure } from './message-failure';
export { backoffDelay, MessageDelivery, type Backoff, type DeliveryControl } from './message-delivery';
export { InMemoryMessageBus } from './in-memory.message-bus';
export { MessagingModule, createMessageBus, type MessagingOptions } from './messaging.module';
export { TracingMessageBus, withTracing } from './tracing.message-bus';
export { MessageBusServer, MessageBusErrorFilter, BusContext, busMessage, type MessageBusServerOptions } from './message-bus.server';
