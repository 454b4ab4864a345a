export * from './message-bus.port';
export { KafkaMessageBus, type KafkaBusOptions } from './kafka.message-bus';
export { InMemoryMessageBus } from './in-memory.message-bus';
export { MessagingModule, createMessageBus, type MessagingOptions } from './messaging.module';
export { toDeadLetter, MAX_ERROR_DETAIL } from './dead-letter';
export { MessageBusServer, BusContext, busMessage, type MessageBusServerOptions } from './message-bus.server';
