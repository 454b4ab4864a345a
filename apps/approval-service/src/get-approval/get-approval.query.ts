import { Injectable } from '@nestjs/common';
import { JobApprovalView, toJobView } from '@signoff/approvals';
import type { JobRef, JobRequest, JobState } from '@signoff/contracts';
import { ActivePolicy, HistoryRedaction, JobCommandHandler, jobNotFound, visibleJob } from '@signoff/core';
import { Principal } from '@signoff/runtime';
import { ApprovalIntegrity } from '../shared/approval-integrity';
import { awaitingApproval } from '../shared/job-access';

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
  /** The job request, redacted for readers (AUDIT_REDACT_FIELDS and the deciding rule's `redact`). */
  readonly request: JobRequest;
}

/**
 * Reads the approval from the job's stream (not from the read model), so a reviewer sees exactly
 * what an approve would be checked against. 404 for a missing job, a job the caller may not read
 * (another tenant's; for a reviewer, one its topics do not cover), and a job that never needed an
 * approval.
 */
@Injectable()
export class GetApprovalQuery {
  constructor(
    private readonly commands: JobCommandHandler,
    private readonly policy: ActivePolicy,
    private readonly integrity: ApprovalIntegrity,
    private readonly redaction: HistoryRedaction,
  ) {}

  async get(principal: Principal, ref: JobRef): Promise<ApprovalDetail> {
    const { state } = await this.commands.load(ref);
    const job = visibleJob(principal, state, ref);
    const view = toJobView(job);
    if (!view?.approval) throw jobNotFound(ref.jobId);
    const active = this.policy.get();
    const open = awaitingApproval(job);
    return {
      job_id: ref.jobId,
      ...view.approval,
      job_state: view.state,
      topic: job.job.request.topic,
      tenant: job.job.request.tenant,
      drifted: open !== null && !this.integrity.honours(active, job.job.request, open),
      active_policy_snapshot: active.snapshot,
      request: this.redaction.request(job),
    };
  }
}
