import {
  Global,
  Inject,
  Injectable,
  Module,
  type DynamicModule,
  type InjectionToken,
  type ModuleMetadata,
  type OnApplicationShutdown,
  type OptionalFactoryDependency,
} from '@nestjs/common';
import { createEventStore, type EventStoreOptions } from './event-store.factory';
import { EventStore } from './event-store.port';

/** What {@link EventStoreModule} needs: the `EVENT_STORE_URL` and optional adapter settings. */
export interface EventStoreModuleOptions extends EventStoreOptions {
  readonly url: string;
}

/** {@link EventStoreModule.forRootAsync}: options from other providers (e.g. validated config). */
export interface EventStoreModuleAsyncOptions {
  readonly imports?: ModuleMetadata['imports'];
  readonly inject?: Array<InjectionToken | OptionalFactoryDependency>;
  readonly useFactory: (...args: never[]) => EventStoreModuleOptions | Promise<EventStoreModuleOptions>;
}

/** DI token of the module's options. */
export const EVENT_STORE_MODULE_OPTIONS = Symbol('EVENT_STORE_MODULE_OPTIONS');

/**
 * Closes the store when the application shuts down: after every provider's onModuleDestroy, so
 * projections and publishers can stop their subscriptions (and store checkpoints) first.
 */
@Injectable()
class EventStoreShutdown implements OnApplicationShutdown {
  constructor(@Inject(EventStore) private readonly store: EventStore) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}

function storeProviders(): DynamicModule['providers'] {
  return [
    {
      provide: EventStore,
      useFactory: (options: EventStoreModuleOptions) => createEventStore(options.url, options),
      inject: [EVENT_STORE_MODULE_OPTIONS],
    },
    EventStoreShutdown,
  ];
}

/**
 * Provides the {@link EventStore} port to the whole application (global module), opened from a
 * URL at start-up and closed on shutdown. Import it once, at the composition root.
 */
@Global()
@Module({})
export class EventStoreModule {
  static forRoot(options: EventStoreModuleOptions): DynamicModule {
    return {
      module: EventStoreModule,
      providers: [{ provide: EVENT_STORE_MODULE_OPTIONS, useValue: options }, ...storeProviders()!],
      exports: [EventStore],
    };
  }

  static forRootAsync(options: EventStoreModuleAsyncOptions): DynamicModule {
    return {
      module: EventStoreModule,
      imports: options.imports ?? [],
      providers: [
        { provide: EVENT_STORE_MODULE_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] },
        ...storeProviders()!,
      ],
      exports: [EventStore],
    };
  }
}
