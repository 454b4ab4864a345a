import { DynamicModule, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { InMemoryMessageBus } from './in-memory.message-bus';
import { KafkaMessageBus } from './kafka.message-bus';
import { MessageBus } from './message-bus.port';
import { withTracing } from './tracing.message-bus';

export interface MessagingOptions {
  /** Kafka bootstrap brokers; none = the in-process bus (standalone mode). */
  readonly brokers?: readonly string[];
  readonly clientId: string;
  /** How long start-up steps retry transient broker errors (KAFKA_STARTUP_TIMEOUT_MS; default 60 s). */
  readonly startupTimeoutMs?: number;
}

const MESSAGING_OPTIONS = Symbol('MESSAGING_OPTIONS');

/** Builds the bus for the options: Kafka when brokers are given, else in-process. Logs through Nest's logger. */
export function createMessageBus(options: MessagingOptions): MessageBus {
  const logger = new Logger('MessageBus');
  const log = (level: 'error' | 'warn' | 'info', message: string, extra?: Record<string, unknown>) =>
    logger[level === 'info' ? 'log' : level](extra ? `${message} ${JSON.stringify(extra)}` : message);
  // With tracing on (startTracing ran first, at the composition root), every publish and handled
  // message is a span carrying `traceparent`; with it off, the bus itself.
  return options.brokers && options.brokers.length > 0
    ? withTracing(new KafkaMessageBus({ brokers: options.brokers, clientId: options.clientId, startupTimeoutMs: options.startupTimeoutMs, log }), 'kafka')
    : withTracing(new InMemoryMessageBus(undefined, log), 'signoff_in_process');
}

@Injectable()
class MessageBusCloser implements OnApplicationShutdown {
  constructor(@Inject(MessageBus) private readonly bus: MessageBus) {}
  async onApplicationShutdown(): Promise<void> {
    await this.bus.close();
  }
}

/** Provides the `MessageBus` port (global) and closes it on shutdown. */
@Module({})
export class MessagingModule {
  static forRoot(options: MessagingOptions): DynamicModule {
    return {
      module: MessagingModule,
      global: true,
      providers: [
        { provide: MESSAGING_OPTIONS, useValue: options },
        { provide: MessageBus, useFactory: (o: MessagingOptions) => createMessageBus(o), inject: [MESSAGING_OPTIONS] },
        MessageBusCloser,
      ],
      exports: [MessageBus],
    };
  }

  static forRootAsync(options: {
    imports?: DynamicModule['imports'];
    inject?: unknown[];
    useFactory: (...args: never[]) => MessagingOptions | Promise<MessagingOptions>;
  }): DynamicModule {
    return {
      module: MessagingModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        { provide: MESSAGING_OPTIONS, useFactory: options.useFactory, inject: (options.inject ?? []) as never[] },
        { provide: MessageBus, useFactory: (o: MessagingOptions) => createMessageBus(o), inject: [MESSAGING_OPTIONS] },
        MessageBusCloser,
      ],
      exports: [MessageBus],
    };
  }
}
