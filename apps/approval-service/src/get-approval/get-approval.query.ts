import { Injectable } from '@nestjs/common';
import { JobApprovalView, toJobView } from '@signoff/approvals';
import type { JobRequest, JobState } from '@signoff/contracts';
import { ActivePolicy, JobCommandHandler } from '@signoff/core';
import { Principal } from '@signoff/runtime';
import { ApprovalIntegrity } from '../shared/approval-integrity';
import { checkedJobId, awaitingApproval, jobNotFound, visibleJob } from '../shared/job-access';

/** `GET /approvals/:job_id`: the approval with the job request it is bound to (the reviewer's evidence). */
export interface ApprovalDetail extends JobApprovalView {
  readonly job_id: string;
  /** The job's state (DESIGN section 2). */
  readonly job_state: JobState;
  readonly topic: string;
  readonly tenant: string;
  /** Whether the active policy would no longer honour this (open) approval. */
  readonly drifted: boolean;
  readonly active_policy_snapshot: string;
  readonly request: JobRequest;
}

/**
 * Reads the approval from the job's stream (not from the read model), so a reviewer sees exactly
 * what an approve would be checked against. 404 for a missing job, a job of a tenant the caller
 * may not see, and a job that never needed an approval.
 */
@Injectable()
export class GetApprovalQuery {
  constructor(
    private readonly commands: JobCommandHandler,
    private readonly policy: ActivePolicy,
    private readonly integrity: ApprovalIntegrity,
  ) {}

  async get(principal: Principal, jobId: string): Promise<ApprovalDetail> {
    checkedJobId(jobId);
    const { state } = await this.commands.load(jobId);
    const job = visibleJob(principal, state, jobId);
    const view = toJobView(job);
    if (!view?.approval) throw jobNotFound(jobId);
    const active = this.policy.get();
    const open = awaitingApproval(job);
    return {
      job_id: jobId,
      ...view.approval,
      job_state: view.state,
      topic: job.job.request.topic,
      tenant: job.job.request.tenant,
      drifted: open !== null && !this.integrity.honours(active, job.job.request, open),
      active_policy_snapshot: active.snapshot,
      request: job.job.request,
    };
  }
}
