import { sameIdentity, type ErrorCode, type JobEvent, type JobState, type SignoffEvent, type SignoffEventMap } from '@signoff/contracts';
import type {
  ApproveJob,
  ClaimDispatch,
  CommandMetadata,
  ExpireApproval,
  GrantCheck,
  InvalidateApproval,
  JobCommand,
  RecordDispatch,
  RecordJobCompleted,
  RecordJobCompletedData,
  RecordJobOutcomeUnknown,
  RecordJobOutcomeUnknownData,
  RecordJobStarted,
  RecordJobStartedData,
  RejectJob,
  ReplayDispatch,
  ResolveJobOutcome,
  SubmitJob,
} from './job.commands';
import type {
  ApproveJobOutcome,
  ClaimDispatchOutcome,
  DecideAccepted,
  DecideRefused,
  DecideResult,
  ExpireApprovalOutcome,
  GrantVoidedOutcome,
  InvalidateApprovalOutcome,
  JobOutcome,
  JobOutcomeMap,
  RecordDispatchOutcome,
  RecordJobCompletedOutcome,
  RecordJobOutcomeUnknownOutcome,
  RecordJobStartedOutcome,
  RejectJobOutcome,
  ReplayDispatchOutcome,
  ResolveJobOutcomeOutcome,
  SubmitJobOutcome,
} from './job.outcomes';
import {
  evolve,
  foldJob,
  grantAwaitingLogCheck,
  initialState,
  isReleased,
  type ApprovalRequiredJob,
  type GrantedApproval,
  type JobAggregateState,
  type ReleasedJobState,
} from './job.state';
import { approvalOf, submitAnswerOf } from './job.view';

/*
 * The job aggregate's decisions. Pure: no clock, no randomness, no I/O; `metadata.now` and every
 * id come in with the command. Expected business outcomes (a rejection, an expiry, a lost claim)
 * are accepted results; a refusal carries the stable API error code and appends nothing.
 */

// ---------------------------------------------------------------------------------------------
// helpers

type JobEventType = JobEvent['type'];

function eventOf<T extends JobEventType>(type: T, data: SignoffEventMap[T], meta: CommandMetadata): SignoffEvent<T> {
  const metadata = {
    correlationId: meta.correlationId,
    causationId: meta.causationId ?? meta.commandId,
    actor: meta.actor,
    at: meta.now,
  };
  // The mapped SignoffEvent<T> does not narrow on a generic T; the fields are exactly its shape.
  return { type, data, metadata } as unknown as SignoffEvent<T>;
}

function accept<O extends JobOutcome>(events: JobEvent[], outcome: O): DecideAccepted<O> {
  return { ok: true, events, outcome };
}

function refuse(code: ErrorCode, message: string, details?: Readonly<Record<string, unknown>>): DecideRefused {
  return details === undefined ? { ok: false, code, message } : { ok: false, code, message, details };
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
/** Largest |ms| a JS Date can hold; beyond it `toISOString` would throw. */
const MAX_DATE_MS = 8.64e15;

/** Milliseconds of an ISO-8601 instant with an explicit offset, or null. */
function instantMs(value: unknown): number | null {
  if (typeof value !== 'string' || !ISO_INSTANT.test(value)) return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim().length > 0;
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1;
}

function invalid(message: string, field?: string): DecideRefused {
  return refuse('invalid_request', message, field === undefined ? undefined : { errors: [{ field, message }] });
}

/** The API state of a released job (an abandoned dispatch shows as FAILED, see `apiStateOf`). */
function apiState(state: ReleasedJobState): JobState {
  return state.status === 'DISPATCH_ABANDONED' ? 'FAILED' : state.status;
}

// ---------------------------------------------------------------------------------------------
// approval phase: the one place that says where a job stands with respect to its approval

type ApprovalPhase =
  | { readonly phase: 'none' }
  | { readonly phase: 'not_required' }
  | { readonly phase: 'awaiting'; readonly state: ApprovalRequiredJob; readonly due: boolean }
  | { readonly phase: 'granted'; readonly approval: GrantedApproval }
  | { readonly phase: 'rejected' }
  | { readonly phase: 'expired' }
  | { readonly phase: 'invalidated' };

function approvalPhase(state: JobAggregateState, nowMs: number): ApprovalPhase {
  switch (state.status) {
    case 'initial':
    case 'submitted':
      return { phase: 'none' };
    case 'DENIED':
      return { phase: 'not_required' };
    case 'APPROVAL_REQUIRED': {
      // An unreadable expiry fails closed: the approval counts as expired.
      const expiresMs = instantMs(state.approval.expires_at);
      return { phase: 'awaiting', state, due: expiresMs === null || nowMs >= expiresMs };
    }
    case 'REJECTED':
      return { phase: 'rejected' };
    case 'EXPIRED':
      return { phase: 'expired' };
    case 'INVALIDATED':
      return { phase: 'invalidated' };
    case 'PENDING':
    case 'DISPATCHED':
    case 'RUNNING':
    case 'SUCCEEDED':
    case 'FAILED':
    case 'UNKNOWN':
    case 'DISPATCH_ABANDONED':
      return state.approval === null ? { phase: 'not_required' } : { phase: 'granted', approval: state.approval };
    default: {
      const _exhaustive: never = state;
      return { phase: 'none' };
    }
  }
}

const notFound = (jobId: string): DecideRefused => refuse('not_found', `job ${jobId} not found`);
const notAwaiting = (jobId: string): DecideRefused =>
  refuse('not_awaiting_approval', `job ${jobId} does not await an approval: its policy decision required none`);
const alreadyApproved = (jobId: string, approval: GrantedApproval): DecideRefused =>
  refuse('already_approved', `job ${jobId} is already approved`, { approval_id: approval.grant.approval_id });
const alreadyRejected = (jobId: string): DecideRefused =>
  refuse('already_rejected', `the approval of job ${jobId} was rejected`);
const expiredRefusal = (jobId: string, state: JobAggregateState): DecideRefused => {
  const expiresAt =
    state.status === 'APPROVAL_REQUIRED' || state.status === 'EXPIRED' ? state.approval.expires_at : undefined;
  return refuse('expired', `the approval of job ${jobId} has expired`, expiresAt ? { expires_at: expiresAt } : undefined);
};
const invalidatedRefusal = (jobId: string): DecideRefused =>
  refuse('invalidated', `the approval of job ${jobId} was invalidated`);

/**
 * Whether the caller may review the approval at all: self-approval (the normalised identity of
 * `normalizeIdentity`, so `Agent-X` is `agent-x`), then the rule's reviewer roles (DESIGN section
 * 4 order). Checked before anything about where the approval stands is answered, so an ineligible
 * caller learns nothing about it (not even `already_approved`).
 */
function checkReviewer(state: JobAggregateState, reviewer: string, roles: readonly string[]): DecideRefused | null {
  const approval = approvalOf(state);
  if (approval === null || state.status === 'initial' || state.status === 'submitted') return null;
  const { job } = state;
  if (sameIdentity(reviewer, job.request.submitted_by)) {
    return refuse('self_approval_forbidden', `${reviewer} submitted job ${job.job_id} and cannot review it`);
  }
  const allowed = approval.requirement.reviewers;
  if (allowed.length > 0 && !roles.some((role) => allowed.includes(role))) {
    return refuse('forbidden', `reviewing job ${job.job_id} needs one of the roles ${allowed.join(', ')}`, {
      required_roles: allowed,
    });
  }
  return null;
}

function checkReviewerFields(data: { reviewer: unknown; reviewer_roles: unknown }): DecideRefused | null {
  if (!isNonEmptyString(data.reviewer)) return invalid('reviewer is required', 'reviewer');
  if (!Array.isArray(data.reviewer_roles) || !data.reviewer_roles.every((r) => typeof r === 'string')) {
    return invalid('reviewer_roles must be a list of strings', 'reviewer_roles');
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// SubmitJob

function submitJob(command: SubmitJob, state: JobAggregateState, nowMs: number): DecideResult<SubmitJobOutcome> {
  const { data } = command;
  if (!isNonEmptyString(data.job_hash)) return invalid('job_hash is required', 'job_hash');
  if (typeof data.request !== 'object' || data.request === null) return invalid('request is required', 'request');
  const policy = data.policy;
  if (typeof policy !== 'object' || policy === null) return invalid('policy outcome is required', 'policy');
  if (policy.decision !== 'allow' && policy.decision !== 'deny' && policy.decision !== 'require_human') {
    // Throttled jobs are refused before any state exists (DESIGN section 2).
    return invalid(`policy decision ${String(policy.decision)} cannot be recorded`, 'policy.decision');
  }
  if (!isNonEmptyString(policy.policy_snapshot)) return invalid('policy_snapshot is required', 'policy.policy_snapshot');

  let expiresAt: string | null = null;
  if (policy.decision === 'require_human') {
    const requirement = policy.approval;
    if (!isNonEmptyString(data.approval_ref)) return invalid('approval_ref is required for require_human', 'approval_ref');
    if (typeof requirement !== 'object' || requirement === null) {
      return invalid('the approval requirement is required for require_human', 'policy.approval');
    }
    if (!isPositiveInteger(requirement.required)) {
      return invalid('approval.required must be an integer >= 1', 'policy.approval.required');
    }
    if (!Array.isArray(requirement.reviewers) || !requirement.reviewers.every((r) => typeof r === 'string')) {
      return invalid('approval.reviewers must be a list of roles', 'policy.approval.reviewers');
    }
    if (requirement.on_timeout !== 'reject') {
      return invalid('approval.on_timeout must be reject', 'policy.approval.on_timeout');
    }
    if (!isPositiveInteger(requirement.timeout_ms) || nowMs + requirement.timeout_ms > MAX_DATE_MS) {
      return invalid('approval.timeout_ms must be a positive integer of milliseconds', 'policy.approval.timeout_ms');
    }
    expiresAt = new Date(nowMs + requirement.timeout_ms).toISOString();
  }

  if (state.status === 'initial') return recordSubmission(command, state, expiresAt);
  if (state.job.job_hash !== data.job_hash) {
    return refuse('job_request_changed', `job ${data.job_id} was submitted before with other content`, {
      expected: state.job.job_hash,
      current: data.job_hash,
    });
  }
  // `submitted` is a cut submission (never written by this decider): record it whole again.
  if (state.status === 'submitted') return recordSubmission(command, state, expiresAt);
  const answer = submitAnswerOf(state);
  if (answer === null) return invalid(`job ${data.job_id} has no recorded answer`);
  return accept([], { job_id: data.job_id, status: 'duplicate', answer });
}

function recordSubmission(
  command: SubmitJob,
  state: JobAggregateState,
  expiresAt: string | null,
): DecideResult<SubmitJobOutcome> {
  const { data, metadata } = command;
  const { job_id, request, job_hash, approval_ref, policy } = data;
  const events: JobEvent[] = [
    eventOf('JobSubmitted', { job_id, request, job_hash }, metadata),
    eventOf(
      'PolicyEvaluated',
      {
        job_id,
        decision: policy.decision,
        rule_id: policy.rule_id,
        reason: policy.reason,
        policy_snapshot: policy.policy_snapshot,
        policy_version: policy.policy_version,
      },
      metadata,
    ),
  ];
  if (policy.decision === 'require_human' && policy.approval && approval_ref !== undefined && expiresAt !== null) {
    events.push(
      eventOf(
        'ApprovalRequested',
        {
          job_id,
          approval_ref,
          rule_id: policy.rule_id,
          policy_snapshot: policy.policy_snapshot,
          job_hash,
          requirement: policy.approval,
          requested_at: metadata.now,
          expires_at: expiresAt,
        },
        metadata,
      ),
    );
  }
  // The answer is read back from the resulting state, so a duplicate later answers the same.
  const answer = submitAnswerOf(foldJob(events, state));
  if (answer === null) return invalid('the submission could not be recorded');
  return accept(events, answer);
}

// ---------------------------------------------------------------------------------------------
// ApproveJob

/**
 * Approve, in this order (each refusal with its stable code):
 * 1. `not_found`; 2. `not_awaiting_approval` (allowed or denied job);
 * 3. eligibility: `self_approval_forbidden` (the submitter, compared as normalised identities),
 *    then `forbidden` (none of the rule's `reviewers` roles), before anything about where the
 *    approval stands, so an ineligible caller is never told `already_approved`;
 * 4. already granted -> accepted `already_approved`, no events, whatever happened since (even
 *    after dispatch), so repeated and concurrent approves are idempotent;
 * 5. `already_rejected`, `expired` (recorded, or `now >= expires_at` before the sweeper ran),
 *    `invalidated`;
 * 6. `stale_review` (what the reviewer looked at differs from what the approval is bound to);
 * 7. `snapshot_changed` (active snapshot differs, unless the caller judged it equivalent in
 *    `SNAPSHOT_MODE=decision`), then `job_request_changed`;
 * 8. the vote: a reviewer who already voted (the same normalised identity: `Alice` is `alice`)
 *    gets `approval_recorded` again with no event; a new vote is recorded, and the one reaching
 *    `requirement.required` distinct reviewers also grants.
 *
 * A changed snapshot is refused WITHOUT recording ApprovalInvalidated: the policy may be rolled
 * back (or a decision-mode re-evaluation may come out equivalent), and an approval invalidated by
 * one refused click would be lost for good. The drift is visible without it (the pending list's
 * `drifted`), and an operator who wants to close the approval does so with InvalidateApproval.
 * The integrity checks run before the repeated-vote answer, so a reviewer retrying after a
 * policy change learns about the change instead of being told the vote still stands.
 */
function approveJob(command: ApproveJob, state: JobAggregateState, nowMs: number): DecideResult<ApproveJobOutcome> {
  const { data, metadata } = command;
  const fieldError = checkReviewerFields(data);
  if (fieldError) return fieldError;
  if (!isNonEmptyString(data.approval_id)) return invalid('approval_id is required', 'approval_id');
  if (!isNonEmptyString(data.active_policy_snapshot)) {
    return invalid('active_policy_snapshot is required', 'active_policy_snapshot');
  }
  if (!isNonEmptyString(data.current_job_hash)) return invalid('current_job_hash is required', 'current_job_hash');

  const phase = approvalPhase(state, nowMs);
  if (phase.phase === 'none') return notFound(data.job_id);
  if (phase.phase === 'not_required') return notAwaiting(data.job_id);
  const reviewerError = checkReviewer(state, data.reviewer, data.reviewer_roles);
  if (reviewerError) return reviewerError;
  switch (phase.phase) {
    case 'granted':
      return accept([], { job_id: data.job_id, status: 'already_approved', approval_id: phase.approval.grant.approval_id });
    case 'rejected':
      return alreadyRejected(data.job_id);
    case 'expired':
      return expiredRefusal(data.job_id, state);
    case 'invalidated':
      return invalidatedRefusal(data.job_id);
    case 'awaiting':
      break;
    default: {
      const _exhaustive: never = phase;
      return notFound(data.job_id);
    }
  }
  const awaiting = phase.state;
  if (phase.due) return expiredRefusal(data.job_id, awaiting);
  const approval = awaiting.approval;

  if (data.reviewed_snapshot !== undefined && data.reviewed_snapshot !== approval.policy_snapshot) {
    return refuse('stale_review', 'the policy snapshot you reviewed is not the one this approval is bound to', {
      field: 'policy_snapshot',
      expected: approval.policy_snapshot,
      reviewed: data.reviewed_snapshot,
    });
  }
  if (data.reviewed_job_hash !== undefined && data.reviewed_job_hash !== approval.job_hash) {
    return refuse('stale_review', 'the job you reviewed is not the one this approval is bound to', {
      field: 'job_hash',
      expected: approval.job_hash,
      reviewed: data.reviewed_job_hash,
    });
  }

  let equivalentSnapshot: string | undefined;
  if (data.active_policy_snapshot !== approval.policy_snapshot) {
    if (data.snapshot_equivalent !== true) {
      return refuse('snapshot_changed', 'the active policy changed since the approval was requested', {
        expected: approval.policy_snapshot,
        current: data.active_policy_snapshot,
      });
    }
    equivalentSnapshot = data.active_policy_snapshot;
  }
  if (data.current_job_hash !== approval.job_hash) {
    return refuse('job_request_changed', `job ${data.job_id} changed since the approval was requested`, {
      expected: approval.job_hash,
      current: data.current_job_hash,
    });
  }

  const required = approval.requirement.required;
  // Distinct reviewers by normalised identity: `Alice` and `alice` are one vote.
  if (approval.votes.some((v) => sameIdentity(v.reviewer, data.reviewer))) {
    return accept([], { job_id: data.job_id, status: 'approval_recorded', approvals: approval.votes.length, required });
  }
  const approvals = approval.votes.length + 1;
  const equivalent = equivalentSnapshot === undefined ? {} : { equivalent_snapshot: equivalentSnapshot };
  const events: JobEvent[] = [
    eventOf(
      'ApprovalVoteRecorded',
      {
        job_id: data.job_id,
        approval_ref: approval.approval_ref,
        reviewer: data.reviewer,
        reason: data.reason ?? null,
        approvals,
        required,
        ...equivalent,
      },
      metadata,
    ),
  ];
  if (approvals < required) {
    return accept(events, { job_id: data.job_id, status: 'approval_recorded', approvals, required });
  }
  events.push(
    eventOf(
      'ApprovalGranted',
      {
        job_id: data.job_id,
        approval_ref: approval.approval_ref,
        approval_id: data.approval_id,
        approved_by: [...approval.votes.map((v) => v.reviewer), data.reviewer],
        policy_snapshot: approval.policy_snapshot,
        job_hash: approval.job_hash,
        reason: data.reason ?? null,
        ...equivalent,
      },
      metadata,
    ),
  );
  return accept(events, { job_id: data.job_id, status: 'approved', approval_id: data.approval_id, state: 'PENDING' });
}

// ---------------------------------------------------------------------------------------------
// RejectJob

/**
 * Reject: `reason` is required (`invalid_request` first, it reveals nothing); then the approve
 * order of checks (eligibility before the approval's state), with a granted approval refused
 * `already_approved` and a rejected one answered `already_rejected`. One eligible reviewer's rejection is a veto, whatever votes were counted.
 * Snapshot and hash are not checked: refusing a job is safe under any policy.
 */
function rejectJob(command: RejectJob, state: JobAggregateState, nowMs: number): DecideResult<RejectJobOutcome> {
  const { data, metadata } = command;
  if (!isNonEmptyString(data.reason)) return invalid('reason is required to reject', 'reason');
  const fieldError = checkReviewerFields(data);
  if (fieldError) return fieldError;

  const phase = approvalPhase(state, nowMs);
  if (phase.phase === 'none') return notFound(data.job_id);
  if (phase.phase === 'not_required') return notAwaiting(data.job_id);
  const reviewerError = checkReviewer(state, data.reviewer, data.reviewer_roles);
  if (reviewerError) return reviewerError;
  switch (phase.phase) {
    case 'granted':
      return alreadyApproved(data.job_id, phase.approval);
    case 'rejected':
      return accept([], { job_id: data.job_id, status: 'already_rejected' });
    case 'expired':
      return expiredRefusal(data.job_id, state);
    case 'invalidated':
      return invalidatedRefusal(data.job_id);
    case 'awaiting':
      break;
    default: {
      const _exhaustive: never = phase;
      return notFound(data.job_id);
    }
  }
  if (phase.due) return expiredRefusal(data.job_id, phase.state);
  const event = eventOf(
    'ApprovalRejected',
    {
      job_id: data.job_id,
      approval_ref: phase.state.approval.approval_ref,
      rejected_by: data.reviewer,
      reason: data.reason,
    },
    metadata,
  );
  return accept([event], { job_id: data.job_id, status: 'rejected', state: 'REJECTED' });
}

// ---------------------------------------------------------------------------------------------
// ExpireApproval / InvalidateApproval

/** Expire: only an awaiting approval with `now >= expires_at`; a recorded expiry is answered again. */
function expireApproval(
  command: ExpireApproval,
  state: JobAggregateState,
  nowMs: number,
): DecideResult<ExpireApprovalOutcome> {
  const { data, metadata } = command;
  const phase = approvalPhase(state, nowMs);
  switch (phase.phase) {
    case 'none':
      return notFound(data.job_id);
    case 'not_required':
      return notAwaiting(data.job_id);
    case 'granted':
      return alreadyApproved(data.job_id, phase.approval);
    case 'rejected':
      return alreadyRejected(data.job_id);
    case 'expired':
      return accept([], { job_id: data.job_id, status: 'already_expired' });
    case 'invalidated':
      return invalidatedRefusal(data.job_id);
    case 'awaiting':
      break;
    default: {
      const _exhaustive: never = phase;
      return notFound(data.job_id);
    }
  }
  const approval = phase.state.approval;
  if (!phase.due) {
    return refuse('invalid_request', `the approval of job ${data.job_id} does not expire before ${approval.expires_at}`, {
      expires_at: approval.expires_at,
    });
  }
  const event = eventOf(
    'ApprovalExpired',
    {
      job_id: data.job_id,
      approval_ref: approval.approval_ref,
      expires_at: approval.expires_at,
      on_timeout: approval.requirement.on_timeout,
    },
    metadata,
  );
  return accept([event], { job_id: data.job_id, status: 'expired', state: 'EXPIRED' });
}

/**
 * Invalidate: closes an awaiting approval for good. `expected` must be the value the approval is
 * bound to (else `stale_review`: the caller looked at another approval) and `current` must differ.
 */
function invalidateApproval(
  command: InvalidateApproval,
  state: JobAggregateState,
  nowMs: number,
): DecideResult<InvalidateApprovalOutcome> {
  const { data, metadata } = command;
  if (data.code !== 'snapshot_changed' && data.code !== 'job_request_changed') {
    return invalid('code must be snapshot_changed or job_request_changed', 'code');
  }
  if (!isNonEmptyString(data.expected)) return invalid('expected is required', 'expected');
  if (!isNonEmptyString(data.current)) return invalid('current is required', 'current');
  const phase = approvalPhase(state, nowMs);
  switch (phase.phase) {
    case 'none':
      return notFound(data.job_id);
    case 'not_required':
      return notAwaiting(data.job_id);
    case 'granted':
      return alreadyApproved(data.job_id, phase.approval);
    case 'rejected':
      return alreadyRejected(data.job_id);
    case 'expired':
      return expiredRefusal(data.job_id, state);
    case 'invalidated':
      return accept([], { job_id: data.job_id, status: 'already_invalidated' });
    case 'awaiting':
      break;
    default: {
      const _exhaustive: never = phase;
      return notFound(data.job_id);
    }
  }
  if (phase.due) return expiredRefusal(data.job_id, phase.state);
  const approval = phase.state.approval;
  const bound = data.code === 'snapshot_changed' ? approval.policy_snapshot : approval.job_hash;
  if (data.expected !== bound) {
    return refuse('stale_review', `the approval of job ${data.job_id} is bound to another value`, {
      field: data.code === 'snapshot_changed' ? 'policy_snapshot' : 'job_hash',
      expected: bound,
      reviewed: data.expected,
    });
  }
  if (data.current === data.expected) return invalid('current equals expected: nothing changed', 'current');
  const event = eventOf(
    'ApprovalInvalidated',
    { job_id: data.job_id, approval_ref: approval.approval_ref, code: data.code, expected: data.expected, current: data.current },
    metadata,
  );
  return accept([event], { job_id: data.job_id, status: 'invalidated', state: 'INVALIDATED' });
}

// ---------------------------------------------------------------------------------------------
// dispatch path

/** The released job, or why a job in this state may never be dispatched. */
function releasedOrRefusal(state: JobAggregateState, jobId: string): ReleasedJobState | DecideRefused {
  if (isReleased(state)) return state;
  switch (state.status) {
    case 'initial':
    case 'submitted':
      return notFound(jobId);
    case 'APPROVAL_REQUIRED':
      // Invariant 2: nothing is dispatched before ApprovalGranted.
      return refuse('forbidden', `job ${jobId} is not approved and cannot be dispatched`);
    case 'DENIED':
      return refuse('policy_denied', `job ${jobId} was denied by policy`, { rule_id: state.evaluation.rule_id });
    case 'REJECTED':
      return alreadyRejected(jobId);
    case 'EXPIRED':
      return expiredRefusal(jobId, state);
    case 'INVALIDATED':
      return invalidatedRefusal(jobId);
    default: {
      const _exhaustive: never = state;
      return notFound(jobId);
    }
  }
}

function isRefusal(value: ReleasedJobState | DecideRefused): value is DecideRefused {
  return 'ok' in value;
}

function checkKey(stored: string | null, given: string, jobId: string): DecideRefused | null {
  if (stored === null || stored === given) return null;
  return refuse('invalid_request', `job ${jobId} is dispatched under another idempotency key`, {
    errors: [{ field: 'idempotency_key', message: 'does not match the key fixed by the first claim' }],
  });
}

/** `current` of the ApprovalInvalidated of a grant that no PolicyActivated precedes in the log. */
export const NO_ACTIVE_POLICY = 'none';

/**
 * The log decides races between streams (DESIGN section 12). The approve handler checks the
 * policy its instance holds in memory, outside the job stream's expected revision, so a grant can
 * be appended under a policy another instance had already replaced. An approved job is therefore
 * dispatched only once the global log confirms its grant: the policy active at the
 * ApprovalGranted's place in the log's one order (`grant_fact`, read by the dispatcher) must be
 * one the grant was checked against:
 * - `strict` (default): the approval's `policy_snapshot`;
 * - `decision`: that, or the grant's `equivalent_snapshot` (the snapshot the completing vote was
 *   re-evaluated under and found equivalent). Any other snapshot was never evaluated for this job,
 *   so the grant is void as in strict mode.
 * A void grant yields ApprovalInvalidated (`snapshot_changed`, `expected` = the grant's
 * `policy_snapshot`, `current` = the snapshot active at its position, or `none`): the job becomes
 * INVALIDATED and is never claimed, published or replayed. The check applies until the first
 * claim, which is the confirmation. An approved job that needs it and comes without a fact about
 * this very grant is refused (`invalid_request`): nothing is dispatched on a guess.
 * Null: nothing stands in the way (an allowed job, a confirmed grant, or one the log confirms now).
 */
function judgeGrant(job: ReleasedJobState, check: GrantCheck, metadata: CommandMetadata): DecideResult<GrantVoidedOutcome> | null {
  const approval = grantAwaitingLogCheck(job);
  if (approval === null) return null;
  const mode = check.snapshot_mode ?? 'strict';
  if (mode !== 'strict' && mode !== 'decision') return invalid('snapshot_mode must be strict or decision', 'snapshot_mode');
  const fact = check.grant_fact;
  if (typeof fact !== 'object' || fact === null) {
    return invalid(`job ${job.job.job_id} is approved: its grant must be checked against the log before the first claim`, 'grant_fact');
  }
  if (fact.approval_id !== approval.grant.approval_id) {
    return invalid(`the log fact is about approval ${String(fact.approval_id)}, not ${approval.grant.approval_id}`, 'grant_fact.approval_id');
  }
  const atGrant = fact.active_policy_snapshot;
  if (atGrant !== null && !isNonEmptyString(atGrant)) {
    return invalid('active_policy_snapshot must be a snapshot or null', 'grant_fact.active_policy_snapshot');
  }
  const honoured = mode === 'decision' ? [approval.policy_snapshot, approval.grant.equivalent_snapshot] : [approval.policy_snapshot];
  if (atGrant !== null && honoured.includes(atGrant)) return null;
  const current = atGrant ?? NO_ACTIVE_POLICY;
  const event = eventOf(
    'ApprovalInvalidated',
    { job_id: job.job.job_id, approval_ref: approval.approval_ref, code: 'snapshot_changed', expected: approval.policy_snapshot, current },
    metadata,
  );
  return accept([event], { job_id: job.job.job_id, status: 'invalidated', state: 'INVALIDATED', expected: approval.policy_snapshot, current });
}

/**
 * Claim the current attempt. Accepted `claimed` means: publish it (also when the same claimant
 * repeats its claim before recording the publish); `claim_lost` means: do not publish (another
 * dispatcher holds it, a later attempt exists, or the job moved past dispatch); `invalidated`
 * means: the log voided the grant (see {@link judgeGrant}), never publish.
 */
function claimDispatch(command: ClaimDispatch, state: JobAggregateState): DecideResult<ClaimDispatchOutcome> {
  const { data, metadata } = command;
  if (!isPositiveInteger(data.attempt)) return invalid('attempt must be an integer >= 1', 'attempt');
  if (!isNonEmptyString(data.idempotency_key)) return invalid('idempotency_key is required', 'idempotency_key');
  if (!isNonEmptyString(data.claimed_by)) return invalid('claimed_by is required', 'claimed_by');
  const job = releasedOrRefusal(state, data.job_id);
  if (isRefusal(job)) return job;
  const dispatch = job.dispatch;
  if (data.attempt > dispatch.attempt) {
    return invalid(`attempt ${data.attempt} is not open (current attempt ${dispatch.attempt})`, 'attempt');
  }
  if (job.status === 'PENDING' && data.attempt === dispatch.attempt) {
    const keyError = checkKey(dispatch.idempotency_key, data.idempotency_key, data.job_id);
    if (dispatch.claim === null) {
      if (keyError) return keyError;
      const voided = judgeGrant(job, data, metadata);
      if (voided) return voided;
      const event = eventOf(
        'DispatchClaimed',
        { job_id: data.job_id, attempt: data.attempt, idempotency_key: data.idempotency_key, claimed_by: data.claimed_by },
        metadata,
      );
      return accept([event], {
        job_id: data.job_id,
        status: 'claimed',
        attempt: data.attempt,
        idempotency_key: data.idempotency_key,
        claimed_by: data.claimed_by,
      });
    }
    if (dispatch.claim.claimed_by === data.claimed_by && !keyError) {
      return accept([], {
        job_id: data.job_id,
        status: 'claimed',
        attempt: data.attempt,
        idempotency_key: data.idempotency_key,
        claimed_by: data.claimed_by,
      });
    }
  }
  return accept([], {
    job_id: data.job_id,
    status: 'claim_lost',
    attempt: dispatch.attempt,
    claimed_by: dispatch.claim?.claimed_by ?? null,
    state: apiState(job),
  });
}

/**
 * Record the publish of the current, claimed attempt. Accepted also after the worker already
 * reported (the dispatcher may record late): the publish is added to the history and the later
 * state kept. A repeated record answers `already_dispatched` (the first record wins).
 */
function recordDispatch(command: RecordDispatch, state: JobAggregateState): DecideResult<RecordDispatchOutcome> {
  const { data, metadata } = command;
  if (!isPositiveInteger(data.attempt)) return invalid('attempt must be an integer >= 1', 'attempt');
  if (!isNonEmptyString(data.idempotency_key)) return invalid('idempotency_key is required', 'idempotency_key');
  if (!isNonEmptyString(data.topic)) return invalid('topic is required', 'topic');
  if (typeof data.partition !== 'number' || !Number.isInteger(data.partition) || data.partition < 0) {
    return invalid('partition must be an integer >= 0', 'partition');
  }
  if (!isNonEmptyString(data.offset)) return invalid('offset is required', 'offset');
  const job = releasedOrRefusal(state, data.job_id);
  if (isRefusal(job)) return job;
  const dispatch = job.dispatch;
  if (data.attempt !== dispatch.attempt) {
    return invalid(
      data.attempt < dispatch.attempt
        ? `attempt ${data.attempt} was superseded by attempt ${dispatch.attempt}`
        : `attempt ${data.attempt} is not open (current attempt ${dispatch.attempt})`,
      'attempt',
    );
  }
  if (dispatch.claim === null) return invalid(`attempt ${data.attempt} of job ${data.job_id} was never claimed`, 'attempt');
  const keyError = checkKey(dispatch.idempotency_key, data.idempotency_key, data.job_id);
  if (keyError) return keyError;
  if (dispatch.published !== null) {
    return accept([], {
      job_id: data.job_id,
      status: 'already_dispatched',
      attempt: dispatch.attempt,
      partition: dispatch.published.partition,
      offset: dispatch.published.offset,
    });
  }
  const event = eventOf(
    'JobDispatched',
    {
      job_id: data.job_id,
      attempt: data.attempt,
      idempotency_key: data.idempotency_key,
      topic: data.topic,
      partition: data.partition,
      offset: data.offset,
    },
    metadata,
  );
  return accept([event], {
    job_id: data.job_id,
    status: 'dispatched',
    attempt: data.attempt,
    state: job.status === 'PENDING' ? 'DISPATCHED' : apiState(job),
  });
}

/** How far the current attempt got; a replay's reason names the stage it got stuck at. */
const REASON_STAGE = { not_published: 0, not_recorded: 1, not_acknowledged: 2, not_completed: 3 } as const;

/**
 * Replay: open attempt `current + 1` for a job stuck at the stage its `reason` names
 * (`not_published`: pending, unclaimed; `not_recorded`: claimed, no publish recorded;
 * `not_acknowledged`: published, no worker report; `not_completed`: a worker reported `started`
 * and no outcome came within `run_timeout_ms`). If the job got further since the caller looked
 * -> `not_needed`; if another replayer opened the attempt -> `already_replayed`. If the new attempt
 * would exceed `max_attempts`: DispatchAbandoned, a terminal state, for a job no worker ever
 * started; for a job a worker did start (its effect may have happened) JobOutcomeUnknown instead,
 * so the job is UNKNOWN and an operator resolves it, never silently FAILED.
 * An approved job never claimed has its grant judged first (see {@link judgeGrant}): a void one is
 * invalidated, neither replayed nor abandoned.
 */
function replayDispatch(command: ReplayDispatch, state: JobAggregateState, nowMs: number): DecideResult<ReplayDispatchOutcome> {
  const { data, metadata } = command;
  if (!isPositiveInteger(data.attempt) || data.attempt < 2) {
    return invalid('a replay opens attempt 2 or later', 'attempt');
  }
  if (!isPositiveInteger(data.max_attempts)) return invalid('max_attempts must be an integer >= 1', 'max_attempts');
  if (!Object.hasOwn(REASON_STAGE, data.reason)) {
    return invalid('reason must be not_published, not_recorded, not_acknowledged or not_completed', 'reason');
  }
  if (data.reason === 'not_completed' && !isPositiveInteger(data.run_timeout_ms)) {
    return invalid('run_timeout_ms is required to replay a job that did not complete', 'run_timeout_ms');
  }
  const job = releasedOrRefusal(state, data.job_id);
  if (isRefusal(job)) return job;
  const dispatch = job.dispatch;
  switch (job.status) {
    case 'DISPATCH_ABANDONED':
      return accept([], { job_id: data.job_id, status: 'already_abandoned', attempts: job.abandonment.attempts });
    case 'SUCCEEDED':
    case 'FAILED':
    case 'UNKNOWN':
      return accept([], { job_id: data.job_id, status: 'not_needed', state: apiState(job) });
    case 'RUNNING':
    case 'PENDING':
    case 'DISPATCHED':
      break;
    default: {
      const _exhaustive: never = job;
      return notFound(data.job_id);
    }
  }
  if (data.attempt <= dispatch.attempt) {
    return accept([], { job_id: data.job_id, status: 'already_replayed', attempt: dispatch.attempt });
  }
  if (data.attempt > dispatch.attempt + 1) {
    return invalid(`the next attempt is ${dispatch.attempt + 1}, not ${data.attempt}`, 'attempt');
  }
  const stage = job.status === 'RUNNING' ? 3 : job.status === 'DISPATCHED' ? 2 : dispatch.claim !== null ? 1 : 0;
  const reasonStage = REASON_STAGE[data.reason];
  if (stage > reasonStage) return accept([], { job_id: data.job_id, status: 'not_needed', state: apiState(job) });
  if (stage < reasonStage) {
    // The stages only move forward within an attempt, so this is not a race but a wrong reason.
    return invalid(`reason ${data.reason} does not describe attempt ${dispatch.attempt} of job ${data.job_id}`, 'reason');
  }
  if (job.status === 'RUNNING' && data.run_timeout_ms !== undefined) {
    // A lagging index may see an old start: the run timeout counts from the start recorded in the stream.
    const startedMs = instantMs(job.started.at);
    if (startedMs !== null && nowMs < startedMs + data.run_timeout_ms) {
      return accept([], { job_id: data.job_id, status: 'not_needed', state: apiState(job) });
    }
  }
  // A grant the log voids is invalidated, not replayed (nor abandoned: it was never dispatchable).
  const voided = judgeGrant(job, data, metadata);
  if (voided) return voided;
  if (data.attempt > data.max_attempts) {
    if (job.started !== null && dispatch.idempotency_key !== null) {
      const event = eventOf(
        'JobOutcomeUnknown',
        {
          job_id: data.job_id,
          idempotency_key: dispatch.idempotency_key,
          worker: job.started.worker,
          reason: `no outcome after ${dispatch.attempt} dispatch attempts (max ${data.max_attempts}, last stuck ${data.reason}); the job was started by ${job.started.worker}`,
        },
        metadata,
      );
      return accept([event], {
        job_id: data.job_id,
        status: 'outcome_unknown',
        attempts: dispatch.attempt,
        max_attempts: data.max_attempts,
      });
    }
    const event = eventOf(
      'DispatchAbandoned',
      { job_id: data.job_id, attempts: dispatch.attempt, max_attempts: data.max_attempts, reason: data.reason },
      metadata,
    );
    return accept([event], {
      job_id: data.job_id,
      status: 'abandoned',
      attempts: dispatch.attempt,
      max_attempts: data.max_attempts,
    });
  }
  const event = eventOf('DispatchReplayed', { job_id: data.job_id, attempt: data.attempt, reason: data.reason }, metadata);
  return accept([event], { job_id: data.job_id, status: 'replayed', attempt: data.attempt });
}

/**
 * Who may report on a job, and on what (DESIGN section 12): a worker whose tenant scope covers the
 * job (`forbidden` otherwise), about an attempt the stream recorded a claim for, under the key the
 * first claim fixed. A report about anything else describes a dispatch that never happened (a
 * forged or misdirected report): `not_dispatched`, and nothing is recorded.
 */
function checkReport(
  job: ReleasedJobState,
  data: RecordJobStartedData | RecordJobCompletedData | RecordJobOutcomeUnknownData,
): DecideRefused | null {
  const scope = data.reporter_tenants;
  if (scope !== undefined && scope !== null && !scope.includes(job.job.request.tenant)) {
    return refuse('forbidden', `this worker may not report on jobs of tenant ${job.job.request.tenant}`);
  }
  const { idempotency_key: key, claimed_attempts } = job.dispatch;
  if (key === null) return refuse('not_dispatched', `job ${data.job_id} was never dispatched`);
  if (data.idempotency_key !== key) {
    return refuse('not_dispatched', `job ${data.job_id} was never dispatched under this idempotency key`, {
      errors: [{ field: 'idempotency_key', message: 'does not match the key fixed by the first claim' }],
    });
  }
  if (!claimed_attempts.includes(data.attempt)) {
    return refuse('not_dispatched', `attempt ${data.attempt} of job ${data.job_id} was never dispatched`, {
      errors: [{ field: 'attempt', message: `dispatched attempts: ${claimed_attempts.join(', ') || 'none'}` }],
    });
  }
  return null;
}

/**
 * A worker's `started`. Accepted before the publish is recorded (the dispatcher may be slow or
 * dead) and after abandonment (the worker did get it); later reports never move the state back.
 */
function recordJobStarted(command: RecordJobStarted, state: JobAggregateState): DecideResult<RecordJobStartedOutcome> {
  const { data, metadata } = command;
  if (!isNonEmptyString(data.idempotency_key)) return invalid('idempotency_key is required', 'idempotency_key');
  if (!isPositiveInteger(data.attempt)) return invalid('attempt must be an integer >= 1', 'attempt');
  if (!isNonEmptyString(data.worker)) return invalid('worker is required', 'worker');
  const job = releasedOrRefusal(state, data.job_id);
  if (isRefusal(job)) return job;
  const reportError = checkReport(job, data);
  if (reportError) return reportError;
  switch (job.status) {
    case 'PENDING':
    case 'DISPATCHED':
    case 'DISPATCH_ABANDONED': {
      const event = eventOf(
        'JobStarted',
        { job_id: data.job_id, idempotency_key: data.idempotency_key, worker: data.worker },
        metadata,
      );
      return accept([event], { job_id: data.job_id, status: 'started', state: 'RUNNING' });
    }
    case 'RUNNING':
    case 'UNKNOWN':
      return accept([], { job_id: data.job_id, status: 'already_started' });
    case 'SUCCEEDED':
    case 'FAILED':
      return accept([], { job_id: data.job_id, status: 'already_completed', result_status: job.completion.status });
    default: {
      const _exhaustive: never = job;
      return notFound(data.job_id);
    }
  }
}

/**
 * A worker's `succeeded` / `failed`: the first result wins; a conflicting second one is refused.
 * Accepted on an UNKNOWN job too: a genuine outcome that arrives late (a slow worker whose
 * replays ran out) is better than the operator's guess, and no worker can report one for a claim
 * another worker marked `unknown` (the claim table fences it out).
 */
function recordJobCompleted(
  command: RecordJobCompleted,
  state: JobAggregateState,
): DecideResult<RecordJobCompletedOutcome> {
  const { data, metadata } = command;
  if (!isNonEmptyString(data.idempotency_key)) return invalid('idempotency_key is required', 'idempotency_key');
  if (data.status !== 'succeeded' && data.status !== 'failed') return invalid('status must be succeeded or failed', 'status');
  if (!isPositiveInteger(data.attempt)) return invalid('attempt must be an integer >= 1', 'attempt');
  const job = releasedOrRefusal(state, data.job_id);
  if (isRefusal(job)) return job;
  const reportError = checkReport(job, data);
  if (reportError) return reportError;
  switch (job.status) {
    case 'PENDING':
    case 'DISPATCHED':
    case 'RUNNING':
    case 'UNKNOWN':
    case 'DISPATCH_ABANDONED': {
      const event = eventOf(
        'JobCompleted',
        {
          job_id: data.job_id,
          idempotency_key: data.idempotency_key,
          status: data.status,
          ...(data.result !== undefined ? { result: data.result } : {}),
          ...(data.error !== undefined ? { error: data.error } : {}),
        },
        metadata,
      );
      return accept([event], {
        job_id: data.job_id,
        status: 'completed',
        result_status: data.status,
        state: data.status === 'succeeded' ? 'SUCCEEDED' : 'FAILED',
      });
    }
    case 'SUCCEEDED':
    case 'FAILED':
      if (job.completion.status !== data.status) {
        return refuse('invalid_request', `job ${data.job_id} already ${job.completion.status}; the first result stands`, {
          errors: [{ field: 'status', message: `conflicts with the recorded ${job.completion.status}` }],
        });
      }
      return accept([], { job_id: data.job_id, status: 'already_completed', result_status: job.completion.status });
    default: {
      const _exhaustive: never = job;
      return notFound(data.job_id);
    }
  }
}

/**
 * A worker's `unknown`: it found the job's claim with an expired lease after the side effect had
 * begun and no outcome recorded, for a handler that is not idempotent, and marked the claim
 * `unknown` instead of running the effect again. JobOutcomeUnknown; the job is UNKNOWN until an
 * outcome is recorded (a late worker report, or an operator's ResolveJobOutcome). A recorded
 * outcome stands (`already_completed`); a repeat is `already_unknown`. Checked like every other
 * report (`checkReport`): tenant scope, the key of the first claim, a dispatched attempt.
 */
function recordJobOutcomeUnknown(
  command: RecordJobOutcomeUnknown,
  state: JobAggregateState,
): DecideResult<RecordJobOutcomeUnknownOutcome> {
  const { data, metadata } = command;
  if (!isNonEmptyString(data.idempotency_key)) return invalid('idempotency_key is required', 'idempotency_key');
  if (!isPositiveInteger(data.attempt)) return invalid('attempt must be an integer >= 1', 'attempt');
  if (!isNonEmptyString(data.worker)) return invalid('worker is required', 'worker');
  if (!isNonEmptyString(data.reason)) return invalid('reason is required', 'reason');
  if (data.fencing_token !== undefined && !isPositiveInteger(data.fencing_token)) {
    return invalid('fencing_token must be an integer >= 1', 'fencing_token');
  }
  const job = releasedOrRefusal(state, data.job_id);
  if (isRefusal(job)) return job;
  const reportError = checkReport(job, data);
  if (reportError) return reportError;
  switch (job.status) {
    case 'PENDING':
    case 'DISPATCHED':
    case 'RUNNING':
    case 'DISPATCH_ABANDONED': {
      const event = eventOf(
        'JobOutcomeUnknown',
        {
          job_id: data.job_id,
          idempotency_key: data.idempotency_key,
          worker: data.worker,
          reason: data.reason,
          ...(data.fencing_token !== undefined ? { fencing_token: data.fencing_token } : {}),
        },
        metadata,
      );
      return accept([event], { job_id: data.job_id, status: 'unknown', state: 'UNKNOWN' });
    }
    case 'UNKNOWN':
      return accept([], { job_id: data.job_id, status: 'already_unknown' });
    case 'SUCCEEDED':
    case 'FAILED':
      return accept([], { job_id: data.job_id, status: 'already_completed', result_status: job.completion.status });
    default: {
      const _exhaustive: never = job;
      return notFound(data.job_id);
    }
  }
}

const notAmbiguous = (jobId: string, state: JobAggregateState, extra: Record<string, unknown> = {}): DecideRefused => {
  const shown = isReleased(state) ? apiState(state) : state.status;
  return refuse('not_ambiguous', `the outcome of job ${jobId} is not unknown (state ${shown}): there is nothing to resolve`, {
    state: shown,
    ...extra,
  });
};

/**
 * An operator resolves an UNKNOWN job: JobOutcomeResolved with who (`resolved_by`), what
 * (`outcome`) and why (`reason`, required); the job becomes SUCCEEDED or FAILED. Only an UNKNOWN
 * job can be resolved (`not_ambiguous` otherwise: its outcome is known, or not due yet); the same
 * resolution again is `already_resolved`, another one `not_ambiguous` (the first one stands).
 */
function resolveJobOutcome(command: ResolveJobOutcome, state: JobAggregateState): DecideResult<ResolveJobOutcomeOutcome> {
  const { data, metadata } = command;
  if (data.outcome !== 'succeeded' && data.outcome !== 'failed') return invalid('outcome must be succeeded or failed', 'outcome');
  if (!isNonEmptyString(data.reason)) return invalid('reason is required to resolve an outcome', 'reason');
  if (!isNonEmptyString(data.resolved_by)) return invalid('resolved_by is required', 'resolved_by');
  if (state.status === 'initial' || state.status === 'submitted') return notFound(data.job_id);
  if (!isReleased(state)) return notAmbiguous(data.job_id, state);
  switch (state.status) {
    case 'UNKNOWN': {
      const event = eventOf(
        'JobOutcomeResolved',
        { job_id: data.job_id, outcome: data.outcome, reason: data.reason, resolved_by: data.resolved_by },
        metadata,
      );
      return accept([event], {
        job_id: data.job_id,
        status: 'resolved',
        outcome: data.outcome,
        resolved_by: data.resolved_by,
        state: data.outcome === 'succeeded' ? 'SUCCEEDED' : 'FAILED',
      });
    }
    case 'SUCCEEDED':
    case 'FAILED': {
      const resolution = state.completion.resolution;
      if (resolution === undefined) return notAmbiguous(data.job_id, state);
      if (state.completion.status !== data.outcome) {
        return notAmbiguous(data.job_id, state, { resolved_outcome: state.completion.status, resolved_by: resolution.resolved_by });
      }
      return accept([], { job_id: data.job_id, status: 'already_resolved', outcome: state.completion.status, resolved_by: resolution.resolved_by });
    }
    case 'PENDING':
    case 'DISPATCHED':
    case 'RUNNING':
    case 'DISPATCH_ABANDONED':
      return notAmbiguous(data.job_id, state);
    default: {
      const _exhaustive: never = state;
      return notFound(data.job_id);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// decide

function checkEnvelope(command: JobCommand, state: JobAggregateState): DecideRefused | number {
  const metadata = command.metadata as Partial<CommandMetadata> | undefined;
  if (typeof metadata !== 'object' || metadata === null) return invalid('command metadata is required', 'metadata');
  if (!isNonEmptyString(metadata.commandId)) return invalid('metadata.commandId is required', 'metadata.commandId');
  if (!isNonEmptyString(metadata.correlationId)) {
    return invalid('metadata.correlationId is required', 'metadata.correlationId');
  }
  if (!isNonEmptyString(metadata.actor)) return invalid('metadata.actor is required', 'metadata.actor');
  const nowMs = instantMs(metadata.now);
  if (nowMs === null) return invalid('metadata.now must be an ISO-8601 instant with an offset', 'metadata.now');
  const data = command.data as { job_id?: unknown } | undefined;
  if (typeof data !== 'object' || data === null || !isNonEmptyString(data.job_id)) {
    return invalid('data.job_id is required', 'job_id');
  }
  if (state.status !== 'initial' && state.job.job_id !== data.job_id) {
    // The shell read the wrong stream: deciding would write one job's events into another's.
    return invalid(`command for job ${data.job_id} decided on the stream of job ${state.job.job_id}`, 'job_id');
  }
  return nowMs;
}

function decideAny(command: JobCommand, state: JobAggregateState): DecideResult {
  const envelope = checkEnvelope(command, state);
  if (typeof envelope !== 'number') return envelope;
  const nowMs = envelope;
  switch (command.type) {
    case 'SubmitJob':
      return submitJob(command, state, nowMs);
    case 'ApproveJob':
      return approveJob(command, state, nowMs);
    case 'RejectJob':
      return rejectJob(command, state, nowMs);
    case 'ExpireApproval':
      return expireApproval(command, state, nowMs);
    case 'InvalidateApproval':
      return invalidateApproval(command, state, nowMs);
    case 'ClaimDispatch':
      return claimDispatch(command, state);
    case 'RecordDispatch':
      return recordDispatch(command, state);
    case 'ReplayDispatch':
      return replayDispatch(command, state, nowMs);
    case 'RecordJobStarted':
      return recordJobStarted(command, state);
    case 'RecordJobCompleted':
      return recordJobCompleted(command, state);
    case 'RecordJobOutcomeUnknown':
      return recordJobOutcomeUnknown(command, state);
    case 'ResolveJobOutcome':
      return resolveJobOutcome(command, state);
    default: {
      const unknown: never = command;
      return invalid(`unknown command ${String((unknown as { type?: unknown }).type)}`, 'type');
    }
  }
}

/**
 * Decides a command against the folded state of the job's stream. Never throws and never reads a
 * clock: accepted results carry the events to append (with the expected revision the state was
 * folded at) and the outcome to answer; refused results carry a stable `ErrorCode`.
 */
export function decide<C extends JobCommand>(command: C, state: JobAggregateState): DecideResult<JobOutcomeMap[C['type']]> {
  // decideAny dispatches on command.type to the decider of that type, whose outcome is JobOutcomeMap[type].
  return decideAny(command, state) as DecideResult<JobOutcomeMap[C['type']]>;
}

/** The decider triple, as emmett / fmodel-ts shape it. */
export interface Decider<Command, State, Event, Result> {
  decide(command: Command, state: State): Result;
  evolve(state: State, event: Event): State;
  initialState(): State;
}

/** The job aggregate: `decide`, `evolve` and `initialState` together. */
export const jobDecider: Decider<JobCommand, JobAggregateState, JobEvent, DecideResult> = {
  decide,
  evolve,
  initialState,
};
