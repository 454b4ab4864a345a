import { QueryHandler, IQueryHandler } from '@nestjs/cqrs';
import { amendmentOf, approvalOf, toJobView } from '@signoff/approvals';
import { ActivePolicy, HistoryRedaction, JobCommandHandler, jobNotFound, redactRequest, visibleJob } from '@signoff/core';
import { diffPolicies, PolicyDiff } from '@signoff/policy-engine';
import { ApprovalIntegrity } from '../shared/approval-integrity';
import { awaitingApproval } from '../shared/job-access';
import { ApprovalDetail, GetApprovalQuery } from './get-approval.query';

/**
 * Reads the approval from the job's stream (not from the read model), so a reviewer sees exactly
 * what an approve would be checked against. 404 for a missing job, a job the caller may not read
 * (another tenant's; for a reviewer, one its topics do not cover), and a job that never needed an
 * approval.
 */
@QueryHandler(GetApprovalQuery)
export class GetApprovalHandler implements IQueryHandler<GetApprovalQuery> {
  constructor(
    private readonly commands: JobCommandHandler,
    private readonly policy: ActivePolicy,
    private readonly integrity: ApprovalIntegrity,
    private readonly redaction: HistoryRedaction,
  ) {}

  async execute({ principal, ref, options }: GetApprovalQuery): Promise<ApprovalDetail> {
    const { state } = await this.commands.load(ref);
    const job = visibleJob(principal, state, ref);
    const view = toJobView(job);
    if (!view?.approval) throw jobNotFound(ref.jobId);
    const active = this.policy.get();
    const open = awaitingApproval(job);
    const drifted = open !== null && !this.integrity.honours(active, job.job.request, open);
    let policyChange: PolicyDiff | null = null;
    const bound = open !== null && drifted && options.policyChange ? this.policy.bySnapshot(open.policy_snapshot) : null;
    if (open !== null && bound) {
      // This job's outcome under both policies (the stored request: it is evaluated, never shown).
      const thisJob = { name: ref.jobId, job: job.job.request, expect: { decision: 'require_human' as const, rule_id: open.rule_id }, throttled: [] };
      policyChange = diffPolicies(bound.bundle, active.bundle, [thisJob]);
    }
    const approval = approvalOf(job);
    const paths = this.redaction.pathsFor(job);
    // An amended request is shown as the original is: redacted by the same paths.
    const { amendments: shown, ...approvalView } = view.approval;
    const amendments = shown?.flatMap((a) => {
      const amendment = approval && amendmentOf(approval, a.job_hash);
      return amendment ? [{ ...a, request: redactRequest(amendment.request, paths) }] : [];
    });
    return {
      job_id: ref.jobId,
      ...approvalView,
      ...(amendments ? { amendments } : {}),
      job_state: view.state,
      topic: job.job.request.topic,
      tenant: job.job.request.tenant,
      drifted,
      active_policy_snapshot: active.snapshot,
      request: this.redaction.request(job),
      ...(options.policyChange ? { policy_change: policyChange } : {}),
    };
  }
}
