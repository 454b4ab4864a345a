import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ActivePolicy, ActivePolicyView, SIGNOFF_CONFIG } from '@signoff/core';
import { SignoffMetrics } from '@signoff/observability';
import { notifyTargetsOf } from '@signoff/policy-engine';
import type { SignoffConfig } from '@signoff/runtime';
import { configuredNotifyTargets } from './notify-targets';

/**
 * Warns (a log line and the gauge `signoff_notify_unknown_targets`) when the active policy names a
 * notification target that is not configured here: at start and at every activation. Never fails:
 * a bundle is valid whatever a deployment configures, and such a target simply receives nothing.
 */
@Injectable()
export class NotifyTargetsCheck implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('NotifyTargets');
  private readonly configured: Set<string>;
  private stopListening: (() => void) | null = null;

  constructor(
    @Inject(SIGNOFF_CONFIG) config: SignoffConfig,
    private readonly policy: ActivePolicy,
    private readonly metrics: SignoffMetrics,
  ) {
    this.configured = configuredNotifyTargets(config);
  }

  onApplicationBootstrap(): void {
    this.stopListening = this.policy.onActivated((active) => this.check(active));
    try {
      this.check(this.policy.get());
    } catch {
      // No policy yet: checked when the first activation is reported.
    }
  }

  onModuleDestroy(): void {
    this.stopListening?.();
    this.stopListening = null;
  }

  /** The names of `active` that match no configured target (also logged and counted). */
  check(active: ActivePolicyView): string[] {
    const unknown = notifyTargetsOf(active.bundle).filter((name) => !this.configured.has(name));
    this.metrics.notifyUnknownTargets.set(unknown.length);
    if (unknown.length > 0) {
      const known = this.configured.size > 0 ? [...this.configured].join(', ') : 'none';
      this.logger.warn(`policy ${active.version} (${active.snapshot}) notifies ${unknown.join(', ')}, which match no configured target (configured: ${known}); they receive nothing`);
    }
    return unknown;
  }
}
