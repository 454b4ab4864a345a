import { DynamicModule, Module } from '@nestjs/common';
import { AuditRelay, CoreModule, CoreModuleOptions } from '@signoff/core';
import { AuthModule, authOptionsFrom, SignoffConfig } from '@signoff/runtime';
import { PolicyModule } from './policy.module';

/** The policy service as its own process: submit API, policy lifecycle, Kafka ingress. */
@Module({})
export class PolicyServiceModule {
  static forRoot(config: SignoffConfig, overrides: Pick<CoreModuleOptions, 'clock' | 'throttleCounter'> = {}): DynamicModule {
    return {
      module: PolicyServiceModule,
      imports: [
        CoreModule.forRoot({ config, serviceName: 'signoff-policy-service', ...overrides }),
        AuthModule.forRoot(authOptionsFrom(config)),
        PolicyModule.forRoot(),
      ],
      // The audit stream is relayed by the policy service (one logical relay per deployment).
      providers: [AuditRelay],
    };
  }
}
