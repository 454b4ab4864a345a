import { DynamicModule, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { InMemoryMessageBus } from './in-memory.message-bus';
import { KafkaMessageBus } from './kafka.message-bus';
import { MessageBus } from './message-bus.port';

export interface MessagingOptions {
  /** Kafka bootstrap brokers; none = the in-process bus (standalone mode). */
  readonly brokers?: readonly string[];
  readonly clientId: string;
}

const MESSAGING_OPTIONS = Symbol('MESSAGING_OPTIONS');

/** Builds the bus for the options: Kafka when brokers are given, else in-process. */
export function createMessageBus(options: MessagingOptions): MessageBus {
  return options.brokers && options.brokers.length > 0
    ? new KafkaMessageBus({ brokers: options.brokers, clientId: options.clientId })
    : new InMemoryMessageBus();
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
