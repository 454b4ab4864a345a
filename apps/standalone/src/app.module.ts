import { DynamicModule, Module } from '@nestjs/common';
import { MessagingModule } from '@signoff/messaging';
import { ObservabilityModule } from '@signoff/observability';
import { SignoffConfig } from '@signoff/runtime';

/**
 * All of Signoff in one process on embedded defaults: PGlite event store, in-process transport,
 * the demo worker. The service modules are added here as their issues land.
 */
@Module({})
export class StandaloneModule {
  static forRoot(config: SignoffConfig): DynamicModule {
    return {
      module: StandaloneModule,
      imports: [ObservabilityModule, MessagingModule.forRoot({ brokers: config.kafkaBrokers, clientId: 'signoff-standalone' })],
    };
  }
}
