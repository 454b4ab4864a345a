import { DynamicModule, Module } from '@nestjs/common';
import { AuditRelay, CoreModule } from '@signoff/core';
import { SigningKeySet } from '@signoff/keys';
import { AuthModule, authOptionsFrom, SignoffConfig } from '@signoff/runtime';
import { ApprovalModule, AuditModule, SlackModule } from '@signoff/approval-service';
import { DispatchModule } from '@signoff/dispatch-service';
import { PolicyModule } from '@signoff/policy-service';

/**
 * All of Signoff in one process on embedded defaults: PGlite event store, in-process transport,
 * the policy, approval and dispatch modules and the demo worker.
 */
@Module({})
export class StandaloneServiceModule {
  static forRoot(config: SignoffConfig, jwtSecret: string, signingKeys: SigningKeySet): DynamicModule {
    return {
      module: StandaloneServiceModule,
      imports: [
        CoreModule.forRoot({ config, serviceName: 'signoff-standalone' }),
        AuthModule.forRoot(authOptionsFrom(config, { jwtSecret: config.authJwksUrl ? null : jwtSecret })),
        PolicyModule.forRoot(),
        // The console's CSRF key from the same secret (the generated one is not in the configuration).
        ApprovalModule.forRoot({ consoleSecret: jwtSecret }),
        // The verifiable audit log, signed with the same key as the dispatch grants.
        AuditModule.forRoot({ keys: signingKeys, headIntervalMs: config.auditTreeHeadIntervalMs, pollIntervalMs: config.auditTreePollMs }),
        // Slack approvals only when SIGNOFF_SLACK_FILE is set, as in the approval service.
        ...(config.slack ? [SlackModule.forRoot(config.slack)] : []),
        // DISPATCH_MAX_ATTEMPTS as the dispatch service reads it; the test-only SIGNOFF_FAULT is the
        // dispatch service's alone (it kills the process, here the whole control plane).
        DispatchModule.forRoot({
          instanceId: 'standalone',
          maxAttempts: config.dispatchMaxAttempts,
          signing: { keys: signingKeys, grantTtlMs: config.grantTtlMs },
        }),
      ],
      providers: [AuditRelay],
    };
  }
}
