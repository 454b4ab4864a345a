import { DynamicModule, Module } from '@nestjs/common';
import { Clock, CoreModule } from '@signoff/core';
import { AuthModule, authOptionsFrom, SignoffConfig } from '@signoff/runtime';
import { ApprovalModule } from './approval.module';
import { ApprovalModuleOptions } from './shared/approval-options';

export interface AppModuleOverrides extends ApprovalModuleOptions {
  /** Replace the clock (tests). */
  readonly clock?: Clock;
}

/**
 * The approval service as its own process: reviewer API (HTTP here; gRPC connected by main.ts with
 * `connectApprovalsGrpc`), approval commands, projections, expiry.
 */
@Module({})
export class AppModule {
  static forRoot(config: SignoffConfig, overrides: AppModuleOverrides = {}): DynamicModule {
    const { clock, ...options } = overrides;
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot({ config, serviceName: 'signoff-approval-service', ...(clock ? { clock } : {}) }),
        AuthModule.forRoot(authOptionsFrom(config)),
        ApprovalModule.withOptions(options),
      ],
    };
  }
}
