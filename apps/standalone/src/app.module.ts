import { DynamicModule, Module } from '@nestjs/common';
import { AuditRelay, CoreModule } from '@signoff/core';
import { SigningKeySet } from '@signoff/keys';
import { AuthModule, authOptionsFrom, SignoffConfig } from '@signoff/runtime';
import { ApprovalModule } from '../../approval-service/src/approval.module';
import { DispatchModule } from '../../dispatch-service/src/dispatch.module';
import { PolicyModule } from '../../policy-service/src/policy.module';

/**
 * All of Signoff in one process on embedded defaults: PGlite event store, in-process transport,
 * the policy, approval and dispatch modules and the demo worker.
 */
@Module({})
export class StandaloneModule {
  static forRoot(config: SignoffConfig, jwtSecret: string, signingKeys: SigningKeySet): DynamicModule {
    return {
      module: StandaloneModule,
      imports: [
        CoreModule.forRoot({ config, serviceName: 'signoff-standalone' }),
        AuthModule.forRoot(authOptionsFrom(config, { jwtSecret: config.authJwksUrl ? null : jwtSecret })),
        PolicyModule,
        ApprovalModule,
        DispatchModule.forRoot({ instanceId: 'standalone', signing: { keys: signingKeys, grantTtlMs: config.grantTtlMs } }),
      ],
      providers: [AuditRelay],
    };
  }
}
