import type {
  ApprovalRequirement,
  DelegationLink,
  DispatchReplayedData,
  JobCompletedData,
  JobRequest,
  PolicyEvaluatedData,
} from '@signoff/contracts';
import type { ApproveAmendment } from './job.amendment';

/**
 * Who issues a command, when, and under which ids. Everything the decider would otherwise read
 * from a clock or a random source comes in here, so `decide` is a pure function.
 */
export interface CommandMetadata {
  /**
   * Unique id of this command (e.g. a UUID made by the shell per incoming request). The ids of
   * the events it produces derive from it with {@link eventIdFor}, so retrying the same command
   * after an ambiguous append yields the same event ids.
   */
  readonly commandId: string;
  readonly correlationId: string;
  /** Defaults to `commandId` on the events when omitted. */
  readonly causationId?: string;
  /** The subject (user or service) issuing the command; becomes `actor` on the events. */
  readonly actor: string;
  /** ISO-8601 instant of the decision; becomes `at` on the events and drives expiry. */
  readonly now: string;
}

type Command<T extends string, D> = { readonly type: T; readonly data: D; readonly metadata: CommandMetadata };

/** The policy outcome evaluated by the caller before the job is stored (throttle never gets here). */
export interface PolicyOutcome {
  readonly decision: PolicyEvaluatedData['decision'];
  readonly rule_id: string | null;
  readonly reason: string;
  readonly policy_snapshot: string;
  readonly policy_version: string;
  /** Required when `decision` is `require_human`, ignored otherwise. */
  readonly approval?: ApprovalRequirement;
}

export interface SubmitJobData {
  readonly job_id: string;
  /** The normalized request (defaults applied) that `job_hash` was computed from. */
  readonly request: JobRequest;
  readonly job_hash: string;
  readonly policy: PolicyOutcome;
  /** Reference of the approval to open; required when the policy requires a human. */
  readonly approval_ref?: string;
}
/** Record a submitted job with its policy outcome (and open an approval when one is required). */
export type SubmitJob = Command<'SubmitJob', SubmitJobData>;

/**
 * A vote cast under a delegation (issue 12 section 4): `reviewer` is then the delegator the vote
 * counts as and `reviewer_roles` the roles every link of the chain carried; `cast_by` is the
 * caller, `on_behalf_of` the delegations followed from `reviewer` to `cast_by`.
 */
export interface VoteDelegation {
  readonly cast_by: string;
  readonly on_behalf_of: readonly DelegationLink[];
}

export interface ApproveJobData {
  readonly job_id: string;
  /** The reviewer's subject (`sub`). */
  readonly reviewer: string;
  /** Set when the caller votes for `reviewer` under a delegation. */
  readonly delegation?: VoteDelegation;
  /** The reviewer's roles, checked against the rule's `reviewers`. */
  readonly reviewer_roles: readonly string[];
  readonly reason: string | null;
  /** The policy snapshot active now. */
  readonly active_policy_snapshot: string;
  /**
   * `SNAPSHOT_MODE=decision` only: true when the caller re-evaluated the job under the active
   * policy and got the same rule with the same approval requirement. Absent or false = strict.
   */
  readonly snapshot_equivalent?: boolean;
  /**
   * The hash of the job as it is known now: recomputed by the caller from the stored request, or
   * the hash of the latest submission of this job id. A difference -> `job_request_changed`.
   */
  readonly current_job_hash: string;
  /** What the reviewer looked at, when the client sent it; a difference -> `stale_review`. */
  readonly reviewed_snapshot?: string;
  readonly reviewed_job_hash?: string;
  /** The id of the approval, used only if this vote completes the quorum. */
  readonly approval_id: string;
  /**
   * Edit before approve: the amended request this vote approves instead of the original, judged
   * by the active policy (see job.amendment.ts). Absent = the vote approves the original.
   */
  readonly amendment?: ApproveAmendment;
}
/** Cast a reviewer's approving vote; the vote that reaches the quorum grants the approval. */
export type ApproveJob = Command<'ApproveJob', ApproveJobData>;

export interface RejectJobData {
  readonly job_id: string;
  readonly reviewer: string;
  /** Set when the caller rejects for `reviewer` under a delegation. */
  readonly delegation?: VoteDelegation;
  readonly reviewer_roles: readonly string[];
  /** Required: a rejection must say why. */
  readonly reason: string;
}
/** Reject the approval: one rejection by an eligible reviewer is a veto. */
export type RejectJob = Command<'RejectJob', RejectJobData>;

export interface ExpireApprovalData {
  readonly job_id: string;
}
/** Expire an approval whose `expires_at` has passed (`metadata.now >= expires_at`). */
export type ExpireApproval = Command<'ExpireApproval', ExpireApprovalData>;

export interface EscalateApprovalData {
  readonly job_id: string;
  /** 1-based position of the step in the requirement's `escalate`: the approval's next step. */
  readonly step: number;
}
/** Fire an escalation step that is due (`metadata.now >= requested_at + after`): a reminder or an escalation. */
export type EscalateApproval = Command<'EscalateApproval', EscalateApprovalData>;

export interface InvalidateApprovalData {
  readonly job_id: string;
  readonly code: 'snapshot_changed' | 'job_request_changed';
  /** The value bound to the approval (its `policy_snapshot` or `job_hash`). */
  readonly expected: string;
  /** The value found now. */
  readonly current: string;
}
/** Close an approval for good because what it was bound to changed (an explicit, audited act). */
export type InvalidateApproval = Command<'InvalidateApproval', InvalidateApprovalData>;

/**
 * `SNAPSHOT_MODE` (DESIGN section 3) as it applies to a grant found in the log: `strict` honours a
 * grant only under the snapshot its approval was requested under; `decision` also under the
 * equivalent snapshot the completing vote was checked against.
 */
export type GrantSnapshotMode = 'strict' | 'decision';

/**
 * What the global log says about a job's grant (DESIGN section 12: the log decides races between
 * streams): the policy that was active at the ApprovalGranted's place in the event store's one
 * global order, i.e. the snapshot of the last PolicyActivated before it. The dispatcher reads it
 * from the log once the grant is past the log's visibility line (nothing can be ordered before it
 * any more); the decider judges the grant by it.
 */
export interface GrantLogFact {
  /** The grant this is about (its ApprovalGranted's `approval_id`); a fact about another grant is refused. */
  readonly approval_id: string;
  /** Snapshot of the last PolicyActivated before the grant in the global log; null when none precedes it. */
  readonly active_policy_snapshot: string | null;
}

/**
 * What the dispatch commands carry so the decider can judge an approved job's grant before its
 * first claim (see {@link GrantLogFact}); ignored for allowed jobs and once a claim was made.
 */
export interface GrantCheck {
  /** Required until an approved job's first claim: without it the job is not dispatched. */
  readonly grant_fact?: GrantLogFact;
  /** Default `strict`. */
  readonly snapshot_mode?: GrantSnapshotMode;
}

export interface ClaimDispatchData extends GrantCheck {
  readonly job_id: string;
  /** The attempt being claimed: 1, or the attempt opened by the last DispatchReplayed. */
  readonly attempt: number;
  /** Fixed by the first claim; every later attempt must carry the same key (exactly-once at the worker). */
  readonly idempotency_key: string;
  /** The dispatcher instance claiming. */
  readonly claimed_by: string;
}
/**
 * Claim the right to publish the job's current attempt (one dispatcher wins). The first claim of
 * an approved job is also where its grant is judged against the log (see {@link GrantLogFact}).
 */
export type ClaimDispatch = Command<'ClaimDispatch', ClaimDispatchData>;

export interface RecordDispatchData {
  readonly job_id: string;
  readonly attempt: number;
  readonly idempotency_key: string;
  /** The Kafka topic published to. */
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}
/** Record that the claimed attempt was published (partition and offset). */
export type RecordDispatch = Command<'RecordDispatch', RecordDispatchData>;

export interface ReplayDispatchData extends GrantCheck {
  readonly job_id: string;
  /** The new attempt: the current attempt + 1. */
  readonly attempt: number;
  readonly reason: DispatchReplayedData['reason'];
  /** Attempts allowed in total; a replay beyond it abandons the dispatch instead. */
  readonly max_attempts: number;
  /**
   * WORKER_RUN_TIMEOUT_MS; required with reason `not_completed`: a RUNNING job is replayed only once
   * `now >= started.at + run_timeout_ms` (so a lagging index cannot replay a job that just started).
   */
  readonly run_timeout_ms?: number;
  /**
   * Claim the attempt this replay opens in the same decision (DispatchReplayed and DispatchClaimed
   * in one expected-revision append), for the replayer that publishes it: `claimed_by` is its
   * instance id, `idempotency_key` the key to fix when no claim ever fixed one (a job never
   * claimed); a key already fixed is kept.
   */
  readonly claim?: ReplayClaim;
}
/** Who claims the attempt a replay opens (see {@link ReplayDispatchData.claim}). */
export interface ReplayClaim {
  readonly claimed_by: string;
  readonly idempotency_key: string;
}
/** Open a new dispatch attempt for a job stuck before the worker acknowledged it. */
export type ReplayDispatch = Command<'ReplayDispatch', ReplayDispatchData>;

/** Who may report on a job: the authenticated worker's tenant scope (DESIGN section 12). */
export interface WorkerReportScope {
  /**
   * The tenants the reporting worker's credential covers; null or absent = all. A report on a job
   * of another tenant is refused `forbidden`.
   */
  readonly reporter_tenants?: readonly string[] | null;
}

export interface RecordJobStartedData extends WorkerReportScope {
  readonly job_id: string;
  readonly idempotency_key: string;
  /** The dispatch attempt the worker received: it must have been claimed in the job's stream. */
  readonly attempt: number;
  readonly worker: string;
}
/** Record a worker's `started` report. */
export type RecordJobStarted = Command<'RecordJobStarted', RecordJobStartedData>;

export interface RecordJobCompletedData extends WorkerReportScope {
  readonly job_id: string;
  readonly idempotency_key: string;
  /** The dispatch attempt the worker received: it must have been claimed in the job's stream. */
  readonly attempt: number;
  readonly status: JobCompletedData['status'];
  readonly result?: unknown;
  readonly error?: string;
}
/** Record a worker's `succeeded` / `failed` report. */
export type RecordJobCompleted = Command<'RecordJobCompleted', RecordJobCompletedData>;

export interface RecordJobOutcomeUnknownData extends WorkerReportScope {
  readonly job_id: string;
  readonly idempotency_key: string;
  /** The dispatch attempt the worker received: it must have been claimed in the job's stream. */
  readonly attempt: number;
  /** The worker that found the claim's lease lost without a recorded outcome. */
  readonly worker: string;
  readonly reason: string;
  readonly fencing_token?: number;
}
/** Record a worker's `unknown` report: the side effect may or may not have happened. */
export type RecordJobOutcomeUnknown = Command<'RecordJobOutcomeUnknown', RecordJobOutcomeUnknownData>;

export interface ResolveJobOutcomeData {
  readonly job_id: string;
  readonly outcome: 'succeeded' | 'failed';
  /** Required: what the operator established, and how. */
  readonly reason: string;
  /** The operator's subject (`sub`). */
  readonly resolved_by: string;
}
/** An operator decides the outcome of a job whose outcome is UNKNOWN. */
export type ResolveJobOutcome = Command<'ResolveJobOutcome', ResolveJobOutcomeData>;

/** Every command the job decider accepts. */
export type JobCommand =
  | SubmitJob
  | ApproveJob
  | RejectJob
  | ExpireApproval
  | EscalateApproval
  | InvalidateApproval
  | ClaimDispatch
  | RecordDispatch
  | ReplayDispatch
  | RecordJobStarted
  | RecordJobCompleted
  | RecordJobOutcomeUnknown
  | ResolveJobOutcome;

export type JobCommandType = JobCommand['type'];
