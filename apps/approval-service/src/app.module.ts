import { DynamicModule, Module } from '@nestjs/common';
import { MessagingModule } from '@signoff/messaging';
import { ObservabilityModule } from '@signoff/observability';
import { SignoffConfig } from '@signoff/runtime';

/** Reviewer API (HTTP + gRPC), approval commands, projections, expiry (filled in by the approval-service issue). */
@Module({})
export class ApprovalServiceModule {
  static forRoot(config: SignoffConfig): DynamicModule {
    return {
      module: ApprovalServiceModule,
      imports: [ObservabilityModule, MessagingModule.forRoot({ brokers: config.kafkaBrokers, clientId: 'signoff-approval-service' })],
    };
  }
}
