import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import { toSignoffError } from '@signoff/approvals';
import { describeJobRef } from '@signoff/contracts';
import { Clock, JobCommandHandler } from '@signoff/core';
import { DueApproval, PendingApprovalsProjection } from '../projections/pending-approvals.projection';
import { PeriodicSweep } from '../shared/periodic-sweep';
import { APPROVAL_MODULE_OPTIONS, ApprovalModuleOptions, DEFAULT_EXPIRY_SWEEP_INTERVAL_MS } from '../shared/approval-options';
import { expireApprovalCommand } from './expire-approval.builder';

export { EXPIRY_ACTOR } from './expire-approval.builder';
/** Expiries executed at once per sweep. */
const SWEEP_CONCURRENCY = 8;

/**
 * Expires approvals whose `expires_at` has passed (`on_timeout: reject` -> ApprovalExpired, state
 * EXPIRED). Nothing about expiry lives in a timer of its own: the open approvals and their
 * deadlines come from the pending-approvals projection, which is rebuilt from the event log at
 * start, so an approval that fell due while no instance was running is expired by the first sweep
 * after the next start. Every instance sweeps; the command id is derived from the approval, so
 * concurrent sweepers append the same event once and the others read `already_expired`. An
 * approve or reject racing the sweep serializes with it on the stream's expected revision (and
 * the decider refuses votes after `expires_at` even before the expiry is recorded).
 */
@Injectable()
export class ApprovalExpiryScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('ApprovalExpiryScheduler');
  private readonly loop: PeriodicSweep<DueApproval>;

  constructor(
    private readonly projection: PendingApprovalsProjection,
    private readonly commands: JobCommandHandler,
    private readonly clock: Clock,
    @Optional() @Inject(APPROVAL_MODULE_OPTIONS) options?: ApprovalModuleOptions,
  ) {
    this.loop = new PeriodicSweep(options?.expirySweepIntervalMs ?? DEFAULT_EXPIRY_SWEEP_INTERVAL_MS, () => this.projection.due(this.clock.now()), (item) => this.expire(item), SWEEP_CONCURRENCY);
  }

  onApplicationBootstrap(): void {
    this.loop.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.loop.stop();
  }

  /** Expires every due approval the projection knows; resolves with how many were expired now. */
  sweep(): Promise<number> {
    return this.loop.sweep();
  }

  private async expire(approval: DueApproval): Promise<boolean> {
    const job = describeJobRef(approval.ref);
    try {
      const { result } = await this.commands.execute(approval.ref, () => expireApprovalCommand(approval.ref, approval.approval_ref, this.clock));
      if (result.ok) return result.outcome.status === 'expired';
      // Approved, rejected or invalidated in the meantime: nothing to expire.
      this.logger.debug(`approval of job ${job} not expired: ${toSignoffError(result).message}`);
      return false;
    } catch (error) {
      this.logger.warn(`expiring the approval of job ${job} failed, retrying next sweep: ${(error as Error).message}`);
      return false;
    }
  }
}
