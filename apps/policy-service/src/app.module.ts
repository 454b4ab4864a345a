import { DynamicModule, Module } from '@nestjs/common';
import { MessagingModule } from '@signoff/messaging';
import { ObservabilityModule } from '@signoff/observability';
import { SignoffConfig } from '@signoff/runtime';

/** Submit API, policy lifecycle, Kafka ingress of job requests (filled in by the policy-service issue). */
@Module({})
export class PolicyServiceModule {
  static forRoot(config: SignoffConfig): DynamicModule {
    return {
      module: PolicyServiceModule,
      imports: [ObservabilityModule, MessagingModule.forRoot({ brokers: config.kafkaBrokers, clientId: 'signoff-policy-service' })],
    };
  }
}
