import { Query } from '@nestjs/cqrs';
import type { JobAmendmentView, JobApprovalView } from '@signoff/approvals';
import type { JobRef, JobRequest, JobState } from '@signoff/contracts';
import type { PolicyDiff } from '@signoff/policy-engine';
import type { Principal } from '@signoff/runtime';

/** An amendment as `GET /approvals/:job_id` shows it: with the amended request, redacted as the original is. */
export interface ApprovalAmendmentDetail extends JobAmendmentView {
  readonly request: JobRequest;
}

/** `GET /approvals/:job_id`: the approval with the job request it is bound to (the reviewer's evidence). */
export interface ApprovalDetail extends Omit<JobApprovalView, 'amendments'> {
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
  /** Edit before approve: amended requests reviewers approved instead, each with its votes; absent when none. */
  readonly amendments?: readonly ApprovalAmendmentDetail[];
  /**
   * Asked for with `{policyChange: true}` (the console): what changed from the policy the approval
   * is bound to to the active one, with this job's outcome under both (`decisions`, empty when it
   * is the same). Null when the approval is not drifted, or when this instance never saw the bound
   * policy active.
   */
  readonly policy_change?: PolicyDiff | null;
}

export interface GetApprovalOptions {
  /** Also answer `policy_change` (compiles both bundles: only for a reviewer's page, not the API). */
  readonly policyChange?: boolean;
}

/** Read one approval (HTTP `GET /approvals/:job_id`, gRPC `Approvals/GetApproval`), on the QueryBus. */
export class GetApprovalQuery extends Query<ApprovalDetail> {
  constructor(
    readonly principal: Principal,
    readonly ref: JobRef,
    readonly options: GetApprovalOptions = {},
  ) {
    super();
  }
}
