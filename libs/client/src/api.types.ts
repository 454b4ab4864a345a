import type { AcceptedAnswer, ApprovalRequiredAnswer } from '@signoff/approvals';

// The API's bodies, as the services define them (types only: nothing of the server is loaded).
export type { AcceptedAnswer, ApprovalRequiredAnswer, ApproveJobOutcome, JobView, RejectJobOutcome } from '@signoff/approvals';
export type { JobState } from '@signoff/contracts';

/** The body of `POST /jobs` (DESIGN section 4). Without `job_id` the client makes one (so a retry is idempotent). */
export interface JobRequest {
  readonly job_id?: string;
  readonly topic: string;
  readonly priority?: 'low' | 'normal' | 'high' | 'critical' | (string & {});
  readonly tenant?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly payload?: unknown;
}

/** The 202 answer of `POST /jobs`: `accepted` (allowed) or `approval_required`. A denial throws `policy_denied`. */
export type SubmitAnswer = AcceptedAnswer | ApprovalRequiredAnswer;

/** The body of `POST /approvals/:job_id/approve`. */
export interface ApproveInput {
  readonly reason?: string;
  /** What the reviewer looked at: a difference is refused 409 `stale_review`. */
  readonly policy_snapshot?: string;
  readonly job_hash?: string;
  /** Edit before approve: the request as the reviewer approves it. */
  readonly amended_request?: { readonly payload?: unknown; readonly labels?: Readonly<Record<string, string>> };
  /** Vote as a delegator (a delegation to the caller must be active). */
  readonly on_behalf_of?: string;
}

/** The body of `POST /approvals/:job_id/reject`. */
export interface RejectInput {
  readonly reason: string;
  readonly on_behalf_of?: string;
}

/** One change of `GET /approvals/stream` (`event:` kind, `id:` position). */
export interface ApprovalChange {
  readonly id: string;
  readonly kind: 'requested' | 'vote_recorded' | 'granted' | 'rejected' | 'expired' | 'invalidated' | 'drifted' | 'reminded' | 'escalated' | (string & {});
  readonly at: string;
  /** The approval summary (request redacted for reviewers); `job_id`, `tenant` and `state` always. */
  readonly approval: { readonly job_id: string; readonly tenant: string; readonly state: string; readonly [member: string]: unknown };
}

/** A page of `GET /approvals`. */
export interface ApprovalPage {
  readonly items: readonly Record<string, unknown>[];
  readonly next_cursor: string | null;
}
