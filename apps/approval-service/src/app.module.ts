import { DynamicModule, Module } from '@nestjs/common';
import { Clock, CoreModule } from '@signoff/core';
import { AuthModule, authOptionsFrom, SignoffConfig } from '@signoff/runtime';
import { SigningKeySet } from '@signoff/keys';
import { ApprovalModule } from './approval.module';
import { AuditModule } from './audit/audit.module';
import { ApprovalModuleOptions } from './shared/approval-options';
import { SlackModule } from './slack/slack.module';

export interface ApprovalServiceModuleOverrides extends ApprovalModuleOptions {
  /** Replace the clock (tests). */
  readonly clock?: Clock;
  /** How often the active policy is re-read (tests: a long interval keeps a stale policy in memory). */
  readonly policyPollIntervalMs?: number;
  /** The key set that signs tree heads and receipts (tests); default: SIGNOFF_SIGNING_KEY_FILE when set. */
  readonly signingKeys?: SigningKeySet;
}

/**
 * The approval service as its own process: reviewer API (HTTP here; gRPC connected by main.ts with
 * `connectApprovalsGrpc`), approval commands, projections, expiry.
 */
@Module({})
export class ApprovalServiceModule {
  static forRoot(config: SignoffConfig, overrides: ApprovalServiceModuleOverrides = {}): DynamicModule {
    const { clock, policyPollIntervalMs, signingKeys, ...options } = overrides;
    // The audit tree signs with the control plane's key: served when a key is configured.
    const keys = signingKeys ?? (config.signingKeyFile ? SigningKeySet.fromFile(config.signingKeyFile, config.signingKeyId) : null);
    return {
      module: ApprovalServiceModule,
      imports: [
        CoreModule.forRoot({
          config,
          serviceName: 'signoff-approval-service',
          ...(clock ? { clock } : {}),
          ...(policyPollIntervalMs !== undefined ? { policyPollIntervalMs } : {}),
        }),
        AuthModule.forRoot(authOptionsFrom(config)),
        ApprovalModule.forRoot(options),
        ...(keys ? [AuditModule.forRoot({ keys, headIntervalMs: config.auditTreeHeadIntervalMs, pollIntervalMs: config.auditTreePollMs })] : []),
        // Slack approvals only when SIGNOFF_SLACK_FILE is set: no route, no subscription otherwise.
        ...(config.slack ? [SlackModule.forRoot(config.slack)] : []),
      ],
    };
  }
}
