import { DynamicModule, Module } from '@nestjs/common';
import { MessagingModule } from '@signoff/messaging';
import { ObservabilityModule } from '@signoff/observability';
import { SignoffConfig } from '@signoff/runtime';

/** Publishes approved/allowed jobs once, replay consumer, worker results (filled in by the dispatch issue). */
@Module({})
export class DispatchServiceModule {
  static forRoot(config: SignoffConfig): DynamicModule {
    return {
      module: DispatchServiceModule,
      imports: [ObservabilityModule, MessagingModule.forRoot({ brokers: config.kafkaBrokers, clientId: 'signoff-dispatch-service' })],
    };
  }
}
