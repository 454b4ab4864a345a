import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ApproveJob, ApproveJobOutcome, JobAggregateState, toSignoffError } from '@signoff/approvals';
import { ApproveDto, JobRef } from '@signoff/contracts';
import { ActivePolicy, Clock, existingJob, JobCommandHandler } from '@signoff/core';
import { SignoffMetrics } from '@signoff/observability';
import { jobHash } from '@signoff/policy-engine';
import { Principal } from '@signoff/runtime';
import { PendingApprovalsProjection } from '../projections/pending-approvals.projection';
import { ApprovalIntegrity } from '../shared/approval-integrity';
import { commandMetadata } from '../shared/command-metadata';
import { assertMayDecide, awaitingApproval, reviewerRoles } from '../shared/job-access';

/** Refusals counted by `signoff_approvals_snapshot_mismatch_total`. */
const INTEGRITY_REFUSALS = new Set(['snapshot_changed', 'job_request_changed']);

/**
 * Approve (DESIGN sections 3 and 4), shared by HTTP and gRPC. The command is built inside the
 * command handler's read-decide-append loop, from the state being appended to, so every check
 * holds for the revision the vote is stored at:
 * 1. the job exists and its tenant is visible to the caller (else 404, nothing revealed);
 * 2. the caller's topic globs cover the job (else 403);
 * 3. the active snapshot, and in decision mode whether the active policy decides the stored
 *    request the same way, the hash of the stored request, what the reviewer looked at;
 * 4. the decider refuses or counts the vote; a conflicting append reloads and decides again, so
 *    the losers of a race read the grant and answer `already_approved`.
 */
@Injectable()
export class ApproveHandler {
  constructor(
    private readonly commands: JobCommandHandler,
    private readonly policy: ActivePolicy,
    private readonly integrity: ApprovalIntegrity,
    private readonly clock: Clock,
    private readonly metrics: SignoffMetrics,
    private readonly projection: PendingApprovalsProjection,
  ) {}

  async approve(principal: Principal, ref: JobRef, input: ApproveDto): Promise<ApproveJobOutcome> {
    const jobId = ref.jobId;
    const commandId = randomUUID();
    const approvalId = randomUUID();
    // The first attempt decides on this instance's fold of the stream when it has one (one round
    // trip instead of two); the expected revision makes that as safe as reading it.
    const cached = this.projection.cached(ref);
    const { result } = await this.commands.execute(ref, (state: JobAggregateState): ApproveJob => {
      const job = existingJob(principal, state, ref);
      assertMayDecide(principal, job);
      const active = this.policy.get();
      const approval = awaitingApproval(job);
      const equivalent = approval !== null && active.snapshot !== approval.policy_snapshot && this.integrity.honours(active, job.job.request, approval);
      return {
        type: 'ApproveJob',
        data: {
          job_id: jobId,
          reviewer: principal.sub,
          reviewer_roles: reviewerRoles(principal),
          reason: input.reason ?? null,
          active_policy_snapshot: active.snapshot,
          snapshot_equivalent: equivalent,
          current_job_hash: jobHash(job.job.request),
          reviewed_snapshot: input.policy_snapshot,
          reviewed_job_hash: input.job_hash,
          approval_id: approvalId,
        },
        metadata: commandMetadata(principal.sub, this.clock, commandId),
      };
    }, cached ? { loaded: cached } : {});
    if (!result.ok) {
      if (INTEGRITY_REFUSALS.has(result.code)) this.metrics.approvalsSnapshotMismatch.inc();
      throw toSignoffError(result);
    }
    if (result.outcome.status === 'already_approved') this.metrics.approvalsAlreadyApproved.inc();
    return result.outcome;
  }
}
