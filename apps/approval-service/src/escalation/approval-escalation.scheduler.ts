import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import { toSignoffError } from '@signoff/approvals';
import { describeJobRef } from '@signoff/contracts';
import { Clock, JobCommandHandler } from '@signoff/core';
import { SignoffMetrics } from '@signoff/observability';
import { DueEscalation, PendingApprovalsProjection } from '../projections/pending-approvals.projection';
import { PeriodicSweep } from '../shared/periodic-sweep';
import { APPROVAL_MODULE_OPTIONS, ApprovalModuleOptions, DEFAULT_EXPIRY_SWEEP_INTERVAL_MS } from '../shared/approval-options';
import { escalateApprovalCommand } from './escalate-approval.builder';

export { ESCALATION_ACTOR } from './escalate-approval.builder';
/** Steps fired at once per sweep. */
const SWEEP_CONCURRENCY = 8;

/**
 * Fires the `approval.escalate` steps of open approvals (ApprovalReminderSent for a notify-only
 * step, ApprovalEscalated for one that adds reviewers), exactly as the expiry sweeper expires:
 * nothing lives in a timer of its own. The due steps come from the pending-approvals projection
 * (rebuilt from the log at every start: `requested_at + after`, and which steps fired), so a step
 * that fell due while no instance ran fires at the first sweep after the next start, and one that
 * fired before a restart is not fired again. Every instance sweeps; the command id derives from
 * (approval, step), so concurrent sweepers append the step once and the others read
 * `already_escalated`. The decider refuses steps out of order, on settled approvals and after expiry.
 */
@Injectable()
export class ApprovalEscalationScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('ApprovalEscalationScheduler');
  private readonly loop: PeriodicSweep<DueEscalation>;

  constructor(
    private readonly projection: PendingApprovalsProjection,
    private readonly commands: JobCommandHandler,
    private readonly clock: Clock,
    private readonly metrics: SignoffMetrics,
    @Optional() @Inject(APPROVAL_MODULE_OPTIONS) options?: ApprovalModuleOptions,
  ) {
    this.loop = new PeriodicSweep(options?.escalationSweepIntervalMs ?? options?.expirySweepIntervalMs ?? DEFAULT_EXPIRY_SWEEP_INTERVAL_MS, () => this.projection.dueEscalations(this.clock.now()), (item) => this.fire(item), SWEEP_CONCURRENCY);
  }

  onApplicationBootstrap(): void {
    this.loop.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.loop.stop();
  }

  /** Fires every due step the projection knows; resolves with how many were recorded by this instance. */
  sweep(): Promise<number> {
    return this.loop.sweep();
  }

  private async fire(due: DueEscalation): Promise<boolean> {
    const job = describeJobRef(due.ref);
    try {
      const { result, appended } = await this.commands.execute(due.ref, () => escalateApprovalCommand(due.ref, due.approval_ref, due.step, this.clock), {
        loaded: this.projection.cached(due.ref) ?? undefined,
      });
      if (!result.ok) {
        // Decided, expired or invalidated in the meantime (or this instance lags): nothing to fire.
        this.logger.debug(`step ${due.step} of the approval of job ${job} not fired: ${toSignoffError(result).message}`);
        return false;
      }
      // Counts what this sweeper recorded. Two sweepers that decided on the same revision both see
      // their append succeed (the same event ids: the store keeps one), so a raced step may be
      // counted twice across instances; the log is the record, the metric a rate.
      for (const event of appended) {
        if (event.type === 'ApprovalReminderSent') this.metrics.approvalReminders.inc();
        if (event.type === 'ApprovalEscalated') this.metrics.approvalEscalations.inc();
      }
      return appended.length > 0;
    } catch (error) {
      this.logger.warn(`step ${due.step} of the approval of job ${job} failed, retrying next sweep: ${(error as Error).message}`);
      return false;
    }
  }
}

