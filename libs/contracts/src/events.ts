import type { CastOnBehalf } from './delegation.events';
import { DEFAULT_TENANT, isValidJobRef, JobRef } from './ids';

/**
 * The domain events of Signoff (DESIGN section 2). Every event is plain JSON
 * `{type, data, metadata}` so it survives the event store and Kafka unchanged.
 */

/** Who caused an event and why; carried by every event. */
export interface EventMetadata {
  readonly correlationId: string;
  readonly causationId: string;
  /** The subject (user or service) that caused the event. */
  readonly actor: string;
  /** ISO-8601 instant the command was decided at (comes in with the command, never read inside the domain). */
  readonly at: string;
  /**
   * W3C trace context of the request or message that caused the event, when the writing process
   * traces (OpenTelemetry): a relay or a replay of the event continues that trace. Stamped by the
   * shell at append time, never by the domain; a reader parses it and ignores an invalid one.
   */
  readonly traceparent?: string;
}

/** The content of a job that is hashed into `job_hash` (DESIGN section 3). */
export interface JobRequest {
  readonly topic: string;
  readonly priority: string;
  readonly tenant: string;
  readonly submitted_by: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly payload: unknown;
}

export type PolicyDecision = 'allow' | 'deny' | 'throttle' | 'require_human';
export type OnTimeout = 'reject';

export interface ApprovalRequirement {
  /** Distinct reviewers needed (N of M). */
  readonly required: number;
  /** Roles allowed to approve; empty means any reviewer. */
  readonly reviewers: readonly string[];
  /** Timeout in milliseconds. */
  readonly timeout_ms: number;
  readonly on_timeout: OnTimeout;
  /**
   * The notification targets told about this approval's changes (`webhook:<endpoint id>`,
   * `slack`), from the rule's `approval.notify`. Absent: every configured target whose own
   * `events` filter matches. Recorded here so delivery decides from the log, not from whatever
   * policy is active when it delivers.
   */
  readonly notify?: readonly string[];
  /** The rule's `approval.escalate` steps, ordered by `after_ms` (strictly increasing, each < `timeout_ms`). */
  readonly escalate?: readonly EscalationStep[];
}

/** One step of `approval.escalate`: a reminder (notify only) or an escalation (adds reviewer roles). */
export interface EscalationStep {
  /** Milliseconds after `requested_at` the step is due. */
  readonly after_ms: number;
  /** Targets told of this step; absent: the approval's own targets. */
  readonly notify?: readonly string[];
  /** Reviewer roles that may approve from this step on, besides the rule's `reviewers`. */
  readonly add_reviewers?: readonly string[];
}

export interface JobSubmittedData {
  readonly job_id: string;
  readonly request: JobRequest;
  readonly job_hash: string;
}
export interface PolicyEvaluatedData {
  readonly job_id: string;
  /** Throttled jobs are refused before any state exists, so they never appear here. */
  readonly decision: 'allow' | 'deny' | 'require_human';
  readonly rule_id: string | null;
  readonly reason: string;
  readonly policy_snapshot: string;
  readonly policy_version: string;
}
export interface ApprovalRequestedData {
  readonly job_id: string;
  readonly approval_ref: string;
  readonly rule_id: string | null;
  readonly policy_snapshot: string;
  readonly job_hash: string;
  readonly requirement: ApprovalRequirement;
  readonly requested_at: string;
  readonly expires_at: string;
}
/** `cast_by` / `on_behalf_of` (CastOnBehalf): set when the vote was cast under a delegation. */
export interface ApprovalVoteRecordedData extends CastOnBehalf {
  readonly job_id: string;
  readonly approval_ref: string;
  readonly reviewer: string;
  readonly reason: string | null;
  readonly approvals: number;
  readonly required: number;
  /**
   * The active policy snapshot the vote was checked against, set only when it differed from the
   * requested one and `SNAPSHOT_MODE=decision` judged it equivalent (same rule, same requirement).
   */
  readonly equivalent_snapshot?: string;
  /**
   * The job hash this vote approves: the approval's own (the original request) or an amendment's
   * (JobAmendmentProposed). Absent on votes recorded before amendments existed: the original.
   * Quorum counts distinct reviewers per approved hash; votes for different hashes never add up.
   */
  readonly approved_job_hash?: string;
}
/**
 * A reviewer approved an amended request (edit before approve, issue 12 section 5): the request
 * the amendment makes (the original with the reviewer's `payload` and/or `labels`; topic,
 * priority, tenant and submitter are fixed), its own job hash, what changed and who changed it.
 * Recorded once per amendment hash, just before the first vote for it; the policy outcome the
 * active policy gave the amended request is kept with it.
 */
export interface JobAmendmentProposedData {
  readonly job_id: string;
  readonly approval_ref: string;
  /** `job_hash` of `request` (DESIGN section 3). */
  readonly amendment_hash: string;
  /** The job hash it amends: the approval's (the original request). */
  readonly amends_job_hash: string;
  readonly request: JobRequest;
  /** Paths that differ from the original (`payload.amount`, `labels.env`), at most a bounded number. */
  readonly changed_paths: readonly string[];
  /** The reviewer who proposed the amendment. */
  readonly proposed_by: string;
  /** What the active policy decided for the amended request (`allow` or `require_human`). */
  readonly evaluation: {
    readonly decision: 'allow' | 'require_human';
    readonly rule_id: string | null;
    readonly policy_snapshot: string;
  };
}
/** `cast_by` / `on_behalf_of`: of the completing vote, when it was cast under a delegation. */
export interface ApprovalGrantedData extends CastOnBehalf {
  readonly job_id: string;
  readonly approval_ref: string;
  readonly approval_id: string;
  readonly approved_by: readonly string[];
  readonly policy_snapshot: string;
  /** The hash the grant binds: the approval's own, or the amendment's whose votes reached the quorum. */
  readonly job_hash: string;
  readonly reason: string | null;
  /** As on ApprovalVoteRecorded: the equivalent active snapshot the completing vote was checked against. */
  readonly equivalent_snapshot?: string;
}
/** `cast_by` / `on_behalf_of`: set when the rejection was cast under a delegation. */
export interface ApprovalRejectedData extends CastOnBehalf {
  readonly job_id: string;
  readonly approval_ref: string;
  readonly rejected_by: string;
  readonly reason: string;
}
export interface ApprovalExpiredData {
  readonly job_id: string;
  readonly approval_ref: string;
  readonly expires_at: string;
  readonly on_timeout: OnTimeout;
}
export interface ApprovalInvalidatedData {
  readonly job_id: string;
  readonly approval_ref: string;
  readonly code: 'snapshot_changed' | 'job_request_changed';
  readonly expected: string;
  readonly current: string;
}
/** A notify-only escalation step fired: the step's targets are reminded the approval still waits. */
export interface ApprovalReminderSentData {
  readonly job_id: string;
  readonly approval_ref: string;
  /** 1-based position of the step in the requirement's `escalate`. */
  readonly step: number;
  /** Who is reminded; absent: the approval's own targets (the requirement's `notify`, or every target). */
  readonly notify?: readonly string[];
  /** The instant the step fired (the command's time: at or after `requested_at + after`). */
  readonly at: string;
}
/** An escalation step with `add_reviewers` fired: those roles may approve from now on. */
export interface ApprovalEscalatedData {
  readonly job_id: string;
  readonly approval_ref: string;
  /** 1-based position of the step in the requirement's `escalate`. */
  readonly step: number;
  readonly add_reviewers: readonly string[];
  /** Who is told; absent: the approval's own targets. */
  readonly notify?: readonly string[];
}
export interface DispatchClaimedData {
  readonly job_id: string;
  readonly attempt: number;
  readonly idempotency_key: string;
  readonly claimed_by: string;
}
export interface JobDispatchedData {
  readonly job_id: string;
  readonly attempt: number;
  readonly idempotency_key: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}
export interface DispatchReplayedData {
  readonly job_id: string;
  readonly attempt: number;
  /**
   * How far the replayed attempt got: `not_published` (pending, unclaimed), `not_recorded`
   * (claimed, publish not recorded), `not_acknowledged` (published, no worker report),
   * `not_completed` (a worker reported `started` but no outcome within WORKER_RUN_TIMEOUT_MS).
   */
  readonly reason: 'not_published' | 'not_recorded' | 'not_acknowledged' | 'not_completed';
}
/**
 * Replays are bounded: a replay that would exceed `max_attempts` records this instead, so a capacity
 * problem ends in a visible terminal state (API state `FAILED`, `dispatch.abandoned`) rather than
 * being hidden by endless republishing.
 */
export interface DispatchAbandonedData {
  readonly job_id: string;
  /** Attempts made (the last attempt number). */
  readonly attempts: number;
  readonly max_attempts: number;
  /** Why the replay that was refused was needed. */
  readonly reason: DispatchReplayedData['reason'];
}
export interface JobStartedData {
  readonly job_id: string;
  readonly idempotency_key: string;
  readonly worker: string;
}
export interface JobCompletedData {
  readonly job_id: string;
  readonly idempotency_key: string;
  readonly status: 'succeeded' | 'failed';
  readonly result?: unknown;
  readonly error?: string;
}
/**
 * A worker found the job's claim with an expired lease, a side effect that had begun, and no
 * recorded outcome, for a handler that did not declare itself idempotent: whether the effect
 * happened is unknown, so it is not run again. Only an operator's JobOutcomeResolved ends it.
 */
export interface JobOutcomeUnknownData {
  readonly job_id: string;
  readonly idempotency_key: string;
  /** The worker that found the claim (and marked it `unknown`). */
  readonly worker: string;
  readonly reason: string;
  /** The fencing token (run counter) of the run whose outcome is unknown, when the worker reported it. */
  readonly fencing_token?: number;
}
/** An operator decided the outcome of a job whose outcome was unknown (who, what and why). */
export interface JobOutcomeResolvedData {
  readonly job_id: string;
  readonly outcome: 'succeeded' | 'failed';
  readonly reason: string;
  readonly resolved_by: string;
}
export interface PolicyActivatedData {
  readonly snapshot: string;
  readonly version: string;
  readonly activatedBy: string;
  /** The parsed bundle, so any instance can rebuild the exact policy from the log. */
  readonly bundle: unknown;
}

/** Map from event type to its data; the single source of event names. */
export interface SignoffEventMap {
  JobSubmitted: JobSubmittedData;
  PolicyEvaluated: PolicyEvaluatedData;
  ApprovalRequested: ApprovalRequestedData;
  ApprovalVoteRecorded: ApprovalVoteRecordedData;
  JobAmendmentProposed: JobAmendmentProposedData;
  ApprovalGranted: ApprovalGrantedData;
  ApprovalRejected: ApprovalRejectedData;
  ApprovalExpired: ApprovalExpiredData;
  ApprovalInvalidated: ApprovalInvalidatedData;
  ApprovalReminderSent: ApprovalReminderSentData;
  ApprovalEscalated: ApprovalEscalatedData;
  DispatchClaimed: DispatchClaimedData;
  JobDispatched: JobDispatchedData;
  DispatchReplayed: DispatchReplayedData;
  DispatchAbandoned: DispatchAbandonedData;
  JobStarted: JobStartedData;
  JobCompleted: JobCompletedData;
  JobOutcomeUnknown: JobOutcomeUnknownData;
  JobOutcomeResolved: JobOutcomeResolvedData;
  PolicyActivated: PolicyActivatedData;
}

export type SignoffEventType = keyof SignoffEventMap;

/** A domain event as stored and transported. */
export type SignoffEvent<T extends SignoffEventType = SignoffEventType> = {
  [K in T]: { readonly type: K; readonly data: SignoffEventMap[K]; readonly metadata: EventMetadata };
}[T];

/** Job-stream events (everything but PolicyActivated). */
export type JobEvent = SignoffEvent<Exclude<SignoffEventType, 'PolicyActivated'>>;

export const JOB_EVENT_TYPES = [
  'JobSubmitted',
  'PolicyEvaluated',
  'ApprovalRequested',
  'ApprovalVoteRecorded',
  'JobAmendmentProposed',
  'ApprovalGranted',
  'ApprovalRejected',
  'ApprovalExpired',
  'ApprovalInvalidated',
  'ApprovalReminderSent',
  'ApprovalEscalated',
  'DispatchClaimed',
  'JobDispatched',
  'DispatchReplayed',
  'DispatchAbandoned',
  'JobStarted',
  'JobCompleted',
  'JobOutcomeUnknown',
  'JobOutcomeResolved',
] as const satisfies readonly JobEvent['type'][];

export const JOB_STREAM_PREFIX = 'job-';
export const POLICY_STREAM = 'policy';
/** Separates the tenant from the job id in the stream id of a job of a non-default tenant. */
const TENANT_SEPARATOR = '|';

/**
 * The one place job stream ids are made: `job-<jobId>` for the tenant `default` (so logs written
 * before tenants scoped job ids, and DESIGN's example, stay valid), `job-<tenant>|<jobId>` for any
 * other tenant. `|` occurs in neither a tenant nor a job id (ID_PATTERN), so the id is unambiguous.
 */
export function toJobStreamId(ref: JobRef): string {
  return ref.tenant === DEFAULT_TENANT ? JOB_STREAM_PREFIX + ref.jobId : JOB_STREAM_PREFIX + ref.tenant + TENANT_SEPARATOR + ref.jobId;
}

/**
 * The job a job stream id names, or null when the stream is not a job stream made by
 * {@link toJobStreamId} (another prefix, ids outside ID_PATTERN, or a spelling it never makes,
 * such as `job-default|x`): `fromJobStreamId(toJobStreamId(ref))` is `ref` for every valid ref,
 * and no two stream ids name one job.
 */
export function fromJobStreamId(streamId: string): JobRef | null {
  if (!streamId.startsWith(JOB_STREAM_PREFIX)) return null;
  const rest = streamId.slice(JOB_STREAM_PREFIX.length);
  const separator = rest.indexOf(TENANT_SEPARATOR);
  const ref = separator === -1 ? { tenant: DEFAULT_TENANT, jobId: rest } : { tenant: rest.slice(0, separator), jobId: rest.slice(separator + 1) };
  if (separator !== -1 && ref.tenant === DEFAULT_TENANT) return null;
  return isValidJobRef(ref) ? ref : null;
}

/** Job states exposed as `state` in the API (DESIGN section 2). */
export const JOB_STATES = [
  'APPROVAL_REQUIRED',
  'PENDING',
  'DISPATCHED',
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'DENIED',
  'REJECTED',
  'EXPIRED',
  'INVALIDATED',
  /** A side effect may or may not have happened (a lease lost without a recorded outcome); an operator resolves it. */
  'UNKNOWN',
] as const;
export type JobState = (typeof JOB_STATES)[number];
