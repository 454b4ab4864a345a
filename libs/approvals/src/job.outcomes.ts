import { ErrorCode, JobCompletedData, JobEvent, JobState, SignoffError } from '@signoff/contracts';

/** The 202 answer of `POST /jobs` for an allowed job (DESIGN section 4). */
export interface AcceptedAnswer {
  readonly job_id: string;
  readonly status: 'accepted';
  readonly decision: 'allow';
  readonly rule_id: string | null;
  readonly policy_snapshot: string;
  readonly job_hash: string;
}
/** The 202 answer of `POST /jobs` for a job that waits for reviewers. */
export interface ApprovalRequiredAnswer {
  readonly job_id: string;
  readonly status: 'approval_required';
  readonly decision: 'require_human';
  readonly approval_ref: string;
  readonly rule_id: string | null;
  readonly policy_snapshot: string;
  readonly job_hash: string;
}
/** A denied job: recorded for audit, answered 403 `policy_denied` with `rule_id` by the API. */
export interface DeniedAnswer {
  readonly job_id: string;
  readonly status: 'denied';
  readonly decision: 'deny';
  readonly rule_id: string | null;
  readonly reason: string;
  readonly policy_snapshot: string;
  readonly job_hash: string;
}
export type SubmitAnswer = AcceptedAnswer | ApprovalRequiredAnswer | DeniedAnswer;

export type SubmitJobOutcome =
  | SubmitAnswer
  /** The same job id with the same hash again: nothing recorded, the original answer. */
  | { readonly job_id: string; readonly status: 'duplicate'; readonly answer: SubmitAnswer };

/** Edit before approve: the amendment's hash a vote or grant binds (present only for an amended request). */
type AmendedHash = { readonly approved_job_hash?: string };

export type ApproveJobOutcome =
  | ({
      readonly job_id: string;
      readonly status: 'approved';
      readonly approval_id: string;
      readonly state: 'PENDING';
      /** The votes that granted it (for the approved version) and the quorum. */
      readonly approvals: number;
      readonly required: number;
    } & AmendedHash)
  | ({ readonly job_id: string; readonly status: 'approval_recorded'; readonly approvals: number; readonly required: number } & AmendedHash)
  /** `state`: where the job stands now (PENDING, DISPATCHED, SUCCEEDED, ...). */
  | { readonly job_id: string; readonly status: 'already_approved'; readonly approval_id: string; readonly state: JobState };

export type RejectJobOutcome =
  | { readonly job_id: string; readonly status: 'rejected'; readonly state: 'REJECTED' }
  | { readonly job_id: string; readonly status: 'already_rejected' };

export type ExpireApprovalOutcome =
  | { readonly job_id: string; readonly status: 'expired'; readonly state: 'EXPIRED' }
  | { readonly job_id: string; readonly status: 'already_expired' };

export type EscalateApprovalOutcome =
  | { readonly job_id: string; readonly status: 'reminded'; readonly step: number }
  | { readonly job_id: string; readonly status: 'escalated'; readonly step: number; readonly add_reviewers: readonly string[] }
  /** The step fired before (another instance, a retried sweep): nothing recorded. */
  | { readonly job_id: string; readonly status: 'already_escalated'; readonly step: number };

export type InvalidateApprovalOutcome =
  | { readonly job_id: string; readonly status: 'invalidated'; readonly state: 'INVALIDATED' }
  | { readonly job_id: string; readonly status: 'already_invalidated' };

/**
 * The global log voided the job's grant before its first claim: the policy active at the grant's
 * place in the log is not the one the grant was checked against. ApprovalInvalidated
 * (`snapshot_changed`) is appended; the job is INVALIDATED and never dispatched.
 */
export interface GrantVoidedOutcome {
  readonly job_id: string;
  readonly status: 'invalidated';
  readonly state: 'INVALIDATED';
  /** The snapshot the approval is bound to (the grant's `policy_snapshot`). */
  readonly expected: string;
  /** The snapshot active at the grant's place in the log (`none` when no activation precedes it). */
  readonly current: string;
}

export type ClaimDispatchOutcome =
  /** The caller holds the claim of this attempt: publish it. */
  | {
      readonly job_id: string;
      readonly status: 'claimed';
      readonly attempt: number;
      readonly idempotency_key: string;
      readonly claimed_by: string;
    }
  /** Someone else holds it, a later attempt exists, or the job is past dispatch: do not publish. */
  | {
      readonly job_id: string;
      readonly status: 'claim_lost';
      readonly attempt: number;
      readonly claimed_by: string | null;
      readonly state: JobState;
    }
  | GrantVoidedOutcome;

export type RecordDispatchOutcome =
  | { readonly job_id: string; readonly status: 'dispatched'; readonly attempt: number; readonly state: JobState }
  | {
      readonly job_id: string;
      readonly status: 'already_dispatched';
      readonly attempt: number;
      readonly partition: number;
      readonly offset: string;
    };

/** The claim a replay made of the attempt it opened (same fields as ClaimDispatch's `claimed`). */
export type ReplayClaimedOutcome = Extract<ClaimDispatchOutcome, { status: 'claimed' }>;

export type ReplayDispatchOutcome =
  /**
   * Publish the new attempt: claim it first, unless `claimed` says the replay claimed it for the
   * command's `claim.claimed_by` already (DispatchClaimed appended with the DispatchReplayed).
   */
  | { readonly job_id: string; readonly status: 'replayed'; readonly attempt: number; readonly claimed?: ReplayClaimedOutcome }
  /** `max_attempts` reached: terminal, the job shows as FAILED. */
  | { readonly job_id: string; readonly status: 'abandoned'; readonly attempts: number; readonly max_attempts: number }
  /** `max_attempts` reached for a job a worker had started: JobOutcomeUnknown, the job is UNKNOWN. */
  | { readonly job_id: string; readonly status: 'outcome_unknown'; readonly attempts: number; readonly max_attempts: number }
  /** Another replayer opened this attempt already. */
  | { readonly job_id: string; readonly status: 'already_replayed'; readonly attempt: number }
  | { readonly job_id: string; readonly status: 'already_abandoned'; readonly attempts: number }
  /** The job progressed since the caller looked (claimed, published, or acknowledged by a worker). */
  | { readonly job_id: string; readonly status: 'not_needed'; readonly state: JobState }
  /** The log voided the grant of a job never claimed: invalidated instead of replayed. */
  | GrantVoidedOutcome;

export type RecordJobStartedOutcome =
  | { readonly job_id: string; readonly status: 'started'; readonly state: 'RUNNING' }
  | { readonly job_id: string; readonly status: 'already_started' }
  | { readonly job_id: string; readonly status: 'already_completed'; readonly result_status: JobCompletedData['status'] };

export type RecordJobCompletedOutcome =
  | {
      readonly job_id: string;
      readonly status: 'completed';
      readonly result_status: JobCompletedData['status'];
      readonly state: 'SUCCEEDED' | 'FAILED';
    }
  | { readonly job_id: string; readonly status: 'already_completed'; readonly result_status: JobCompletedData['status'] };

export type RecordJobOutcomeUnknownOutcome =
  | { readonly job_id: string; readonly status: 'unknown'; readonly state: 'UNKNOWN' }
  | { readonly job_id: string; readonly status: 'already_unknown' }
  /** An outcome was recorded (or resolved) first: it stands. */
  | { readonly job_id: string; readonly status: 'already_completed'; readonly result_status: JobCompletedData['status'] };

export type ResolveJobOutcomeOutcome =
  | {
      readonly job_id: string;
      readonly status: 'resolved';
      readonly outcome: 'succeeded' | 'failed';
      readonly resolved_by: string;
      readonly state: 'SUCCEEDED' | 'FAILED';
    }
  /** The same resolution again (idempotent). */
  | { readonly job_id: string; readonly status: 'already_resolved'; readonly outcome: 'succeeded' | 'failed'; readonly resolved_by: string };

/** The outcome type of each command type. */
export interface JobOutcomeMap {
  SubmitJob: SubmitJobOutcome;
  ApproveJob: ApproveJobOutcome;
  RejectJob: RejectJobOutcome;
  ExpireApproval: ExpireApprovalOutcome;
  EscalateApproval: EscalateApprovalOutcome;
  InvalidateApproval: InvalidateApprovalOutcome;
  ClaimDispatch: ClaimDispatchOutcome;
  RecordDispatch: RecordDispatchOutcome;
  ReplayDispatch: ReplayDispatchOutcome;
  RecordJobStarted: RecordJobStartedOutcome;
  RecordJobCompleted: RecordJobCompletedOutcome;
  RecordJobOutcomeUnknown: RecordJobOutcomeUnknownOutcome;
  ResolveJobOutcome: ResolveJobOutcomeOutcome;
}

export type JobOutcome = JobOutcomeMap[keyof JobOutcomeMap];

/**
 * The command was accepted. `events` (possibly none: an idempotent repeat) are to be appended
 * with the expected revision of the state that was decided on; `outcome` is what the caller
 * answers once they are stored.
 */
export interface DecideAccepted<O extends JobOutcome = JobOutcome> {
  readonly ok: true;
  readonly events: JobEvent[];
  readonly outcome: O;
}

/**
 * The command was refused: nothing to append. `code` is the stable API error code (its HTTP
 * status is `ERROR_CODES[code]`); `details` are the problem's extension members
 * (e.g. `expected` and `current` for `snapshot_changed`).
 */
export interface DecideRefused {
  readonly ok: false;
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** What `decide` returns: accepted with events and an outcome, or refused with a stable code. */
export type DecideResult<O extends JobOutcome = JobOutcome> = DecideAccepted<O> | DecideRefused;

/** The client-facing error of a refusal (mapped to problem+json in one place by the apps). */
export function toSignoffError(refusal: DecideRefused): SignoffError {
  return new SignoffError(refusal.code, refusal.message, refusal.details ?? {});
}
