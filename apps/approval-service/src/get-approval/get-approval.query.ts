import { Query } from '@nestjs/cqrs';
import type { JobApprovalView } from '@signoff/approvals';
import type { JobRef, JobRequest, JobState } from '@signoff/contracts';
import type { Principal } from '@signoff/runtime';

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

/** Read one approval (HTTP `GET /approvals/:job_id`, gRPC `Approvals/GetApproval`), on the QueryBus. */
export class GetApprovalQuery extends Query<ApprovalDetail> {
  constructor(
    readonly principal: Principal,
    readonly ref: JobRef,
  ) {
    super();
  }
}
