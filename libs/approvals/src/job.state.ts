import type {
  ApprovalRequirement,
  DelegationLink,
  DispatchReplayedData,
  JobCompletedData,
  JobEvent,
  JobOutcomeResolvedData,
  JobRequest,
  JobState,
  OnTimeout,
  PolicyEvaluatedData,
} from '@signoff/contracts';

/** What JobSubmitted recorded; `submitted_at` is the event's `metadata.at`. */
export interface JobFacts {
  readonly job_id: string;
  readonly request: JobRequest;
  readonly job_hash: string;
  readonly submitted_at: string;
}

/** The policy outcome recorded by PolicyEvaluated, with the instant it was recorded. */
export interface Evaluation extends PolicyEvaluatedData {
  readonly at: string;
}

/** One reviewer's counted vote. */
export interface ApprovalVote {
  readonly reviewer: string;
  readonly reason: string | null;
  readonly at: string;
  readonly equivalent_snapshot?: string;
  /**
   * Set only when the vote approves an amendment (JobAmendmentProposed): the amendment's hash.
   * Absent = the vote approves the approval's own `job_hash` (see `approvedHashOf`).
   */
  readonly approved_job_hash?: string;
  /** A vote cast under a delegation: who cast it, and the delegations followed (issue 12 section 4). */
  readonly cast_by?: string;
  readonly on_behalf_of?: readonly DelegationLink[];
}

/** An amended request a reviewer approved (JobAmendmentProposed), see job.amendment.ts. */
export interface Amendment {
  readonly job_hash: string;
  readonly request: JobRequest;
  readonly changed_paths: readonly string[];
  readonly proposed_by: string;
  readonly proposed_at: string;
  readonly evaluation: { readonly decision: 'allow' | 'require_human'; readonly rule_id: string | null; readonly policy_snapshot: string };
}

/** An approval as requested (ApprovalRequested) with the votes counted so far. */
export interface Approval {
  readonly approval_ref: string;
  readonly rule_id: string | null;
  /** The policy snapshot the approval is bound to. */
  readonly policy_snapshot: string;
  /** The job hash the approval is bound to. */
  readonly job_hash: string;
  readonly requirement: ApprovalRequirement;
  readonly requested_at: string;
  readonly expires_at: string;
  /** Distinct reviewers per approved hash, in the order they voted. */
  readonly votes: readonly ApprovalVote[];
  /** Amended requests reviewers approved, in the order proposed; absent when there is none. */
  readonly amendments?: readonly Amendment[];
  /** The escalation steps fired so far (absent until the first: approvals without steps read as before). */
  readonly escalation?: ApprovalEscalation;
}

/** One fired step of the requirement's `escalate`. */
export interface FiredEscalationStep {
  /** 1-based position in `requirement.escalate`. */
  readonly step: number;
  readonly kind: 'reminder' | 'escalation';
  readonly at: string;
}

/** What the approval's escalation steps did: which fired (in order), and the roles they added. */
export interface ApprovalEscalation {
  readonly fired: readonly FiredEscalationStep[];
  /** Roles that may approve besides `requirement.reviewers` (from ApprovalEscalated). */
  readonly added_reviewers: readonly string[];
}

/** The escalation steps fired so far on an approval (0 when none). */
export function firedSteps(approval: Approval): number {
  return approval.escalation?.fired.length ?? 0;
}

export interface Grant {
  readonly approval_id: string;
  /**
   * Set only when the grant binds an amendment (its votes reached the quorum): the amendment's
   * hash. The job is then dispatched with that amendment's request (see `releasedRequestOf`).
   */
  readonly approved_job_hash?: string;
  readonly approved_by: readonly string[];
  readonly reason: string | null;
  readonly at: string;
  readonly equivalent_snapshot?: string;
}

/** An approval that reached its quorum. */
export interface GrantedApproval extends Approval {
  readonly grant: Grant;
}

export interface Rejection {
  readonly rejected_by: string;
  readonly reason: string;
  readonly at: string;
}

export interface Expiry {
  readonly expires_at: string;
  readonly on_timeout: OnTimeout;
  /** When the expiry was recorded (at or after `expires_at`). */
  readonly at: string;
}

export interface Invalidation {
  readonly code: 'snapshot_changed' | 'job_request_changed';
  readonly expected: string;
  readonly current: string;
  readonly at: string;
}

export interface DispatchClaim {
  readonly claimed_by: string;
  readonly at: string;
}

export interface Publication {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly at: string;
}

export interface Replay {
  readonly attempt: number;
  readonly reason: DispatchReplayedData['reason'];
  readonly at: string;
}

/**
 * The dispatch of a released job. `attempt` starts at 1 and each DispatchReplayed opens the next
 * one, clearing `claim` and `published`, which always describe the current attempt. The
 * idempotency key is fixed by the first claim and never changes, so every attempt reaches the
 * worker with the same key and the side effect runs once.
 */
export interface Dispatch {
  readonly attempt: number;
  readonly idempotency_key: string | null;
  /**
   * Every attempt a DispatchClaimed was recorded for, in order: the only attempts a worker can
   * have received, so the only ones it may report on.
   */
  readonly claimed_attempts: readonly number[];
  readonly claim: DispatchClaim | null;
  readonly published: Publication | null;
  readonly replays: readonly Replay[];
}

export interface Started {
  readonly worker: string;
  readonly at: string;
}

/** What a worker reported when it found a lease lost without a recorded outcome (JobOutcomeUnknown). */
export interface UnknownOutcome {
  /** The worker that found the claim. */
  readonly worker: string;
  readonly reason: string;
  readonly fencing_token?: number;
  readonly at: string;
}

/** An operator's decision on a job whose outcome was unknown (JobOutcomeResolved). */
export interface Resolution {
  readonly resolved_by: string;
  readonly reason: string;
  readonly at: string;
  /** What made the job ambiguous. */
  readonly unknown: UnknownOutcome;
}

export interface Completion {
  readonly status: JobCompletedData['status'] | JobOutcomeResolvedData['outcome'];
  readonly result?: unknown;
  readonly error?: string;
  readonly at: string;
  /** Set when an operator decided the outcome (the job was UNKNOWN before). */
  readonly resolution?: Resolution;
}

export interface Abandonment {
  readonly attempts: number;
  readonly max_attempts: number;
  readonly reason: DispatchReplayedData['reason'];
  readonly at: string;
}

/** No event yet: the job does not exist. */
export interface InitialJob {
  readonly status: 'initial';
}

/**
 * JobSubmitted without its policy outcome. The decider writes JobSubmitted, PolicyEvaluated and
 * ApprovalRequested in one append, so this is only ever seen in the middle of folding that append,
 * or in a stream written by something else; such a job is treated as not (yet) existing.
 */
export interface SubmittedJob {
  readonly status: 'submitted';
  readonly job: JobFacts;
  readonly evaluation: Evaluation | null;
}

interface EvaluatedJob {
  readonly job: JobFacts;
  readonly evaluation: Evaluation;
}

export interface ApprovalRequiredJob extends EvaluatedJob {
  readonly status: 'APPROVAL_REQUIRED';
  readonly approval: Approval;
}
export interface DeniedJob extends EvaluatedJob {
  readonly status: 'DENIED';
}
export interface RejectedJob extends EvaluatedJob {
  readonly status: 'REJECTED';
  readonly approval: Approval;
  readonly rejection: Rejection;
}
export interface ExpiredJob extends EvaluatedJob {
  readonly status: 'EXPIRED';
  readonly approval: Approval;
  readonly expiry: Expiry;
}
export interface InvalidatedJob extends EvaluatedJob {
  readonly status: 'INVALIDATED';
  /** A {@link GrantedApproval} (with its `grant`) when the log voided a grant before its first claim. */
  readonly approval: Approval | GrantedApproval;
  readonly invalidation: Invalidation;
}

/** A job that was allowed, or approved: it may be dispatched. */
interface ReleasedJob extends EvaluatedJob {
  /** Null for a job the policy allowed outright. */
  readonly approval: GrantedApproval | null;
  readonly dispatch: Dispatch;
  readonly started: Started | null;
  /** Kept when a worker reports after the dispatcher gave up, so the view still shows it. */
  readonly abandonment: Abandonment | null;
}

export interface PendingJob extends ReleasedJob {
  readonly status: 'PENDING';
}
export interface DispatchedJob extends ReleasedJob {
  readonly status: 'DISPATCHED';
}
export interface RunningJob extends ReleasedJob {
  readonly status: 'RUNNING';
  readonly started: Started;
}
export interface CompletedJob extends ReleasedJob {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly completion: Completion;
}
/**
 * A worker's lease was lost after the side effect had begun and before its outcome was recorded,
 * for a handler that is not idempotent: the effect may or may not have happened. Nothing runs it
 * again; only an operator's JobOutcomeResolved moves the job on (to SUCCEEDED or FAILED).
 */
export interface UnknownOutcomeJob extends ReleasedJob {
  readonly status: 'UNKNOWN';
  readonly unknown: UnknownOutcome;
}
/**
 * Replays exhausted: terminal for the dispatcher (no claim, no replay). A worker that still reports
 * is recorded, because its side effect did happen.
 */
export interface DispatchAbandonedJob extends ReleasedJob {
  readonly status: 'DISPATCH_ABANDONED';
  readonly abandonment: Abandonment;
}

/**
 * The job aggregate's state, a discriminated union on `status`: `initial`, the transient
 * `submitted`, every state of DESIGN section 2, and `DISPATCH_ABANDONED` (shown as `FAILED`).
 */
export type JobAggregateState =
  | InitialJob
  | SubmittedJob
  | ApprovalRequiredJob
  | DeniedJob
  | RejectedJob
  | ExpiredJob
  | InvalidatedJob
  | PendingJob
  | DispatchedJob
  | RunningJob
  | CompletedJob
  | UnknownOutcomeJob
  | DispatchAbandonedJob;

export type JobStatus = JobAggregateState['status'];

/** States in which the job was released (allowed or approved) and has a dispatch. */
export type ReleasedJobState = PendingJob | DispatchedJob | RunningJob | CompletedJob | UnknownOutcomeJob | DispatchAbandonedJob;

/** The state before any event. */
export function initialState(): JobAggregateState {
  return { status: 'initial' };
}

/** States whose approval was closed without a grant. */
export type ClosedApprovalJob = RejectedJob | ExpiredJob | InvalidatedJob;

/** States in which the job exists (everything but `initial` and the transient `submitted`). */
export type ExistingJobState = Exclude<JobAggregateState, InitialJob | SubmittedJob>;

/**
 * Where a job stands, coarser than its status, with the state narrowed to match:
 * - `absent`: no job yet (`initial`, or an incomplete `submitted`): answered as not found;
 * - `denied`: the policy denied it; it never had an approval;
 * - `awaiting_approval`: APPROVAL_REQUIRED, its approval open;
 * - `approval_closed`: REJECTED, EXPIRED or INVALIDATED: its approval closed without a (confirmed) grant;
 * - `released`: allowed, or approved: it has a dispatch (PENDING and everything after it).
 */
export type JobPhase =
  | { readonly phase: 'absent'; readonly state: InitialJob | SubmittedJob }
  | { readonly phase: 'denied'; readonly state: DeniedJob }
  | { readonly phase: 'awaiting_approval'; readonly state: ApprovalRequiredJob }
  | { readonly phase: 'approval_closed'; readonly state: ClosedApprovalJob }
  | { readonly phase: 'released'; readonly state: ReleasedJobState };

/**
 * The phase of a job: the one switch that lists every status. Everything that asks "where does
 * this job stand" (the decider, the view, the projections) switches on the phase instead, and
 * on the few statuses of one phase where it needs them.
 */
export function phaseOf(state: JobAggregateState): JobPhase {
  switch (state.status) {
    case 'initial':
    case 'submitted':
      return { phase: 'absent', state };
    case 'DENIED':
      return { phase: 'denied', state };
    case 'APPROVAL_REQUIRED':
      return { phase: 'awaiting_approval', state };
    case 'REJECTED':
    case 'EXPIRED':
    case 'INVALIDATED':
      return { phase: 'approval_closed', state };
    case 'PENDING':
    case 'DISPATCHED':
    case 'RUNNING':
    case 'SUCCEEDED':
    case 'FAILED':
    case 'UNKNOWN':
    case 'DISPATCH_ABANDONED':
      return { phase: 'released', state };
    default: {
      const _exhaustive: never = state;
      return { phase: 'absent', state: { status: 'initial' } };
    }
  }
}

/** True for the states that carry a dispatch. */
export function isReleased(state: JobAggregateState): state is ReleasedJobState {
  return phaseOf(state).phase === 'released';
}

/**
 * The API state of an aggregate state, or null when the job does not exist (`initial`, or an
 * incomplete `submitted`). `DISPATCH_ABANDONED` is shown as `FAILED`: the API's list of states is
 * fixed by the contract, and to a client a job whose delivery was given up has failed.
 */
export function apiStateOf(state: ExistingJobState): JobState;
export function apiStateOf(state: JobAggregateState): JobState | null;
export function apiStateOf(state: JobAggregateState): JobState | null {
  const { phase, state: job } = phaseOf(state);
  if (phase === 'absent') return null;
  return job.status === 'DISPATCH_ABANDONED' ? 'FAILED' : job.status;
}

/** The approval of a state, if the job has one. */
export function approvalOf(state: JobAggregateState): Approval | GrantedApproval | null {
  const phase = phaseOf(state);
  switch (phase.phase) {
    case 'absent':
    case 'denied':
      return null;
    case 'awaiting_approval':
    case 'approval_closed':
    case 'released':
      return phase.state.approval;
    default: {
      const _exhaustive: never = phase;
      return null;
    }
  }
}

/**
 * The approval whose grant the global log must still confirm before the job may be claimed: an
 * approved job that was never claimed (its first claim is the confirmation, so later attempts
 * need no check). Null for allowed jobs, unapproved ones and once a claim was made.
 */
export function grantAwaitingLogCheck(state: JobAggregateState): GrantedApproval | null {
  if (state.status !== 'PENDING' || state.approval === null) return null;
  return state.dispatch.idempotency_key === null ? state.approval : null;
}

function released(state: ReleasedJobState): ReleasedJob {
  return {
    job: state.job,
    evaluation: state.evaluation,
    approval: state.approval,
    dispatch: state.dispatch,
    started: state.started,
    abandonment: state.abandonment,
  };
}

function firstDispatch(): Dispatch {
  return { attempt: 1, idempotency_key: null, claimed_attempts: [], claim: null, published: null, replays: [] };
}

/**
 * Applies one recorded event. Total: it never throws, and an event that does not fit the current
 * state (which only a writer bypassing the decider could produce) or whose type it does not know
 * (written by a newer version) leaves the state unchanged, so a job stays readable whatever its
 * stream holds. Recorded facts are trusted: the rules are enforced by `decide`, not here.
 */
export function evolve(state: JobAggregateState, event: JobEvent): JobAggregateState {
  const at = event.metadata.at;
  switch (event.type) {
    case 'JobSubmitted': {
      // A second JobSubmitted only follows an incomplete submission that was submitted again.
      if (state.status !== 'initial' && state.status !== 'submitted') return state;
      const { job_id, request, job_hash } = event.data;
      return { status: 'submitted', job: { job_id, request, job_hash, submitted_at: at }, evaluation: null };
    }
    case 'PolicyEvaluated': {
      if (state.status !== 'submitted') return state;
      const evaluation: Evaluation = { ...event.data, at };
      switch (evaluation.decision) {
        case 'allow':
          return {
            status: 'PENDING',
            job: state.job,
            evaluation,
            approval: null,
            dispatch: firstDispatch(),
            started: null,
            abandonment: null,
          };
        case 'deny':
          return { status: 'DENIED', job: state.job, evaluation };
        case 'require_human':
          return { ...state, evaluation };
        default: {
          const _exhaustive: never = evaluation.decision;
          return state;
        }
      }
    }
    case 'ApprovalRequested': {
      if (state.status !== 'submitted' || state.evaluation?.decision !== 'require_human') return state;
      const d = event.data;
      return {
        status: 'APPROVAL_REQUIRED',
        job: state.job,
        evaluation: state.evaluation,
        approval: {
          approval_ref: d.approval_ref,
          rule_id: d.rule_id,
          policy_snapshot: d.policy_snapshot,
          job_hash: d.job_hash,
          requirement: d.requirement,
          requested_at: d.requested_at,
          expires_at: d.expires_at,
          votes: [],
        },
      };
    }
    case 'ApprovalVoteRecorded': {
      if (state.status !== 'APPROVAL_REQUIRED') return state;
      const { reviewer, reason, equivalent_snapshot, cast_by, on_behalf_of } = event.data;
      // One vote per reviewer and approved hash: a vote for an amendment is another vote.
      const hash = event.data.approved_job_hash ?? state.approval.job_hash;
      const amended = hash === state.approval.job_hash ? {} : { approved_job_hash: hash };
      if (state.approval.votes.some((v) => v.reviewer === reviewer && (v.approved_job_hash ?? state.approval.job_hash) === hash)) return state;
      const delegated = cast_by !== undefined && on_behalf_of !== undefined ? { cast_by, on_behalf_of } : {};
      const vote: ApprovalVote = { reviewer, reason, at, ...(equivalent_snapshot ? { equivalent_snapshot } : {}), ...amended, ...delegated };
      return { ...state, approval: { ...state.approval, votes: [...state.approval.votes, vote] } };
    }
    case 'ApprovalReminderSent':
    case 'ApprovalEscalated': {
      // Steps fire in order, once each: any other step number is not this approval's next step.
      if (state.status !== 'APPROVAL_REQUIRED' || event.data.step !== firedSteps(state.approval) + 1) return state;
      const previous = state.approval.escalation ?? { fired: [], added_reviewers: [] };
      const added = event.type === 'ApprovalEscalated' ? event.data.add_reviewers.filter((r) => !previous.added_reviewers.includes(r)) : [];
      const escalation: ApprovalEscalation = {
        fired: [...previous.fired, { step: event.data.step, kind: event.type === 'ApprovalEscalated' ? 'escalation' : 'reminder', at }],
        added_reviewers: [...previous.added_reviewers, ...added],
      };
      return { ...state, approval: { ...state.approval, escalation } };
    }
    case 'JobAmendmentProposed': {
      if (state.status !== 'APPROVAL_REQUIRED') return state;
      const d = event.data;
      const known = state.approval.amendments ?? [];
      if (d.amendment_hash === state.approval.job_hash || known.some((a) => a.job_hash === d.amendment_hash)) return state;
      const amendment: Amendment = {
        job_hash: d.amendment_hash,
        request: d.request,
        changed_paths: d.changed_paths,
        proposed_by: d.proposed_by,
        proposed_at: at,
        evaluation: d.evaluation,
      };
      return { ...state, approval: { ...state.approval, amendments: [...known, amendment] } };
    }
    case 'ApprovalGranted': {
      if (state.status !== 'APPROVAL_REQUIRED') return state;
      const { approval_id, approved_by, reason, equivalent_snapshot, job_hash } = event.data;
      const amended = job_hash === state.approval.job_hash ? {} : { approved_job_hash: job_hash };
      const grant: Grant = { approval_id, approved_by, reason, at, ...(equivalent_snapshot ? { equivalent_snapshot } : {}), ...amended };
      return {
        status: 'PENDING',
        job: state.job,
        evaluation: state.evaluation,
        approval: { ...state.approval, grant },
        dispatch: firstDispatch(),
        started: null,
        abandonment: null,
      };
    }
    case 'ApprovalRejected': {
      if (state.status !== 'APPROVAL_REQUIRED') return state;
      const rejection: Rejection = { rejected_by: event.data.rejected_by, reason: event.data.reason, at };
      return { status: 'REJECTED', job: state.job, evaluation: state.evaluation, approval: state.approval, rejection };
    }
    case 'ApprovalExpired': {
      if (state.status !== 'APPROVAL_REQUIRED') return state;
      const expiry: Expiry = { expires_at: event.data.expires_at, on_timeout: event.data.on_timeout, at };
      return { status: 'EXPIRED', job: state.job, evaluation: state.evaluation, approval: state.approval, expiry };
    }
    case 'ApprovalInvalidated': {
      // Closes an awaiting approval, or voids a grant the log did not confirm (only before any claim).
      if (state.status !== 'APPROVAL_REQUIRED' && (state.status !== 'PENDING' || grantAwaitingLogCheck(state) === null)) return state;
      if (state.approval === null) return state;
      const { code, expected, current } = event.data;
      return {
        status: 'INVALIDATED',
        job: state.job,
        evaluation: state.evaluation,
        approval: state.approval,
        invalidation: { code, expected, current, at },
      };
    }
    case 'DispatchClaimed': {
      if (state.status !== 'PENDING') return state;
      const { attempt, idempotency_key, claimed_by } = event.data;
      const known = state.dispatch.claimed_attempts;
      const claimed_attempts = known.includes(attempt) ? known : [...known, attempt];
      return {
        ...state,
        dispatch: { ...state.dispatch, attempt, idempotency_key, claimed_attempts, claim: { claimed_by, at }, published: null },
      };
    }
    case 'JobDispatched': {
      const { attempt, topic, partition, offset } = event.data;
      const published: Publication = { topic, partition, offset, at };
      if (state.status === 'PENDING') {
        return {
          ...released(state),
          status: 'DISPATCHED',
          dispatch: { ...state.dispatch, attempt, published },
        };
      }
      // The worker may report before the dispatcher records its publish: keep the later status.
      if (
        (state.status === 'RUNNING' ||
          state.status === 'SUCCEEDED' ||
          state.status === 'FAILED' ||
          state.status === 'UNKNOWN' ||
          state.status === 'DISPATCH_ABANDONED') &&
        state.dispatch.published === null
      ) {
        return { ...state, dispatch: { ...state.dispatch, published } };
      }
      return state;
    }
    case 'DispatchReplayed': {
      // From RUNNING: the worker reported `started` but no outcome within the run timeout.
      if (state.status !== 'PENDING' && state.status !== 'DISPATCHED' && state.status !== 'RUNNING') return state;
      const { attempt, reason } = event.data;
      return {
        ...released(state),
        status: 'PENDING',
        dispatch: {
          ...state.dispatch,
          attempt,
          claim: null,
          published: null,
          replays: [...state.dispatch.replays, { attempt, reason, at }],
        },
      };
    }
    case 'DispatchAbandoned': {
      if (state.status !== 'PENDING' && state.status !== 'DISPATCHED') return state;
      const { attempts, max_attempts, reason } = event.data;
      const abandonment: Abandonment = { attempts, max_attempts, reason, at };
      return { ...released(state), status: 'DISPATCH_ABANDONED', abandonment };
    }
    case 'JobStarted': {
      if (state.status !== 'PENDING' && state.status !== 'DISPATCHED' && state.status !== 'DISPATCH_ABANDONED') {
        return state;
      }
      return { ...released(state), status: 'RUNNING', started: { worker: event.data.worker, at } };
    }
    case 'JobCompleted': {
      // From UNKNOWN too: a genuine outcome that arrives late ends the ambiguity (the first recorded outcome wins).
      if (
        state.status !== 'PENDING' &&
        state.status !== 'DISPATCHED' &&
        state.status !== 'RUNNING' &&
        state.status !== 'UNKNOWN' &&
        state.status !== 'DISPATCH_ABANDONED'
      ) {
        return state;
      }
      const { status, result, error } = event.data;
      const completion: Completion = {
        status,
        ...(result !== undefined ? { result } : {}),
        ...(error !== undefined ? { error } : {}),
        at,
      };
      return { ...released(state), status: status === 'succeeded' ? 'SUCCEEDED' : 'FAILED', completion };
    }
    case 'JobOutcomeUnknown': {
      if (
        state.status !== 'PENDING' &&
        state.status !== 'DISPATCHED' &&
        state.status !== 'RUNNING' &&
        state.status !== 'DISPATCH_ABANDONED'
      ) {
        return state;
      }
      const { worker, reason, fencing_token } = event.data;
      const unknown: UnknownOutcome = { worker, reason, ...(fencing_token !== undefined ? { fencing_token } : {}), at };
      return { ...released(state), status: 'UNKNOWN', unknown };
    }
    case 'JobOutcomeResolved': {
      if (state.status !== 'UNKNOWN') return state;
      const { outcome, reason, resolved_by } = event.data;
      const completion: Completion = { status: outcome, at, resolution: { resolved_by, reason, at, unknown: state.unknown } };
      return { ...released(state), status: outcome === 'succeeded' ? 'SUCCEEDED' : 'FAILED', completion };
    }
    default: {
      // Compile time: every job event is handled. Run time: an unknown type is skipped (see above).
      const _exhaustive: never = event;
      return state;
    }
  }
}

/** Folds a job's stream from the initial state. */
export function foldJob(events: Iterable<JobEvent>, from: JobAggregateState = initialState()): JobAggregateState {
  let state = from;
  for (const event of events) state = evolve(state, event);
  return state;
}
