import { sameIdentity, type JobEvent, type JobRequest } from '@signoff/contracts';
import { voteIdentities } from './delegation.chain';
import { amendmentOf, changedPaths, checkAmendment, votesFor } from './job.amendment';
import type { ApproveJob, ExpireApproval, InvalidateApproval, RejectJob, VoteDelegation } from './job.commands';
import {
  accept,
  approvalPhase,
  eventOf,
  expiredRefusal,
  invalid,
  notAwaiting,
  notFound,
  refuse,
  settledRefusal,
  type SettledApproval,
} from './job.decision-kit';
import type {
  ApproveJobOutcome,
  DecideRefused,
  DecideResult,
  ExpireApprovalOutcome,
  InvalidateApprovalOutcome,
  JobOutcomeMap,
  RejectJobOutcome,
} from './job.outcomes';
import { apiStateOf, approvalOf, type Approval, type JobAggregateState } from './job.state';

/*
 * The approval (DESIGN sections 3 and 4): reviewers approve or reject, the sweeper expires, an
 * operator invalidates. Each command needs an open approval; on one that settled, the command
 * that settled it that way is answered again as done (see ALREADY_DONE), every other is refused.
 */

type ApprovalCommandType = (ApproveJob | RejectJob | ExpireApproval | InvalidateApproval)['type'];

/**
 * The idempotent answers: for each approval command, the settled approval it finds already done
 * and the answer it repeats (with no event). Any other settled approval refuses it (`settledRefusal`).
 */
const ALREADY_DONE = {
  ApproveJob: { as: 'approved', status: 'already_approved' },
  RejectJob: { as: 'rejected', status: 'already_rejected' },
  ExpireApproval: { as: 'expired', status: 'already_expired' },
  InvalidateApproval: { as: 'invalidated', status: 'already_invalidated' },
} as const satisfies { readonly [T in ApprovalCommandType]: { readonly as: SettledApproval['as']; readonly status: string } };

/** What an approval command answers on an approval that is no longer open. */
function answerSettled<T extends ApprovalCommandType>(type: T, jobId: string, settled: SettledApproval, state: JobAggregateState): DecideResult<JobOutcomeMap[T]> {
  const done = ALREADY_DONE[type];
  if (done.as !== settled.as) return settledRefusal(jobId, settled);
  const outcome =
    settled.as === 'approved'
      ? { job_id: jobId, status: done.status, approval_id: settled.approval.grant.approval_id, state: apiStateOf(state) }
      : { job_id: jobId, status: done.status };
  // ALREADY_DONE pairs each command type with the `already_*` status of its own outcome type.
  return accept([], outcome as JobOutcomeMap[T]);
}

/**
 * Whether the caller may review the approval at all: self-approval (the normalised identity of
 * `normalizeIdentity`, so `Agent-X` is `agent-x`), then the rule's reviewer roles (DESIGN section
 * 4 order). Checked before anything about where the approval stands is answered, so an ineligible
 * caller learns nothing about it (not even `already_approved`).
 */
function checkReviewer(state: JobAggregateState, reviewer: string, roles: readonly string[], delegation?: VoteDelegation): DecideRefused | null {
  const approval = approvalOf(state);
  if (approval === null || state.status === 'initial' || state.status === 'submitted') return null;
  const { job } = state;
  if (sameIdentity(reviewer, job.request.submitted_by)) {
    return refuse('self_approval_forbidden', `${reviewer} submitted job ${job.job_id} and cannot review it`);
  }
  // Under a delegation: neither who casts the vote nor anyone on the chain may be the submitter.
  const involved = voteIdentities(reviewer, delegation).find((who) => sameIdentity(who, job.request.submitted_by));
  if (involved !== undefined) {
    return refuse('self_approval_forbidden', `${involved} submitted job ${job.job_id}: no delegation lets them review it`);
  }
  // The rule's roles, plus those an escalation step added (ApprovalEscalated) since.
  const ruleRoles = approval.requirement.reviewers;
  const allowed = ruleRoles.length > 0 ? [...ruleRoles, ...(approval.escalation?.added_reviewers ?? [])] : ruleRoles;
  if (allowed.length > 0 && !roles.some((role) => allowed.includes(role))) {
    return refuse('forbidden', `reviewing job ${job.job_id} needs one of the roles ${allowed.join(', ')}`, {
      required_roles: allowed,
    });
  }
  return null;
}

/** What a vote's event records about the delegation it was cast under (nothing for one's own vote). */
function castFields(delegation: VoteDelegation | undefined): { cast_by?: string; on_behalf_of?: VoteDelegation['on_behalf_of'] } {
  return delegation === undefined ? {} : { cast_by: delegation.cast_by, on_behalf_of: delegation.on_behalf_of };
}

/** Whether a counted vote and a new one involve a common person (see `voteIdentities`). */
function sharesIdentity(counted: Approval['votes'][number], vote: { readonly reviewer: string; readonly delegation?: VoteDelegation }): boolean {
  const mine = voteIdentities(vote.reviewer, vote.delegation);
  return voteIdentities(counted.reviewer, counted).some((who) => mine.some((other) => sameIdentity(who, other)));
}

/** The approval an approval command acts on: open, and maybe already due. */
interface OpenApproval {
  readonly approval: Approval;
  readonly due: boolean;
  /** The submitted request the approval is about. */
  readonly request: JobRequest;
}

/**
 * The open approval a command acts on, or the command's answer when there is none, in the order
 * every approval command shares: `not_found`, `not_awaiting_approval`, the reviewer's eligibility
 * (for a reviewer's command: before anything about where the approval stands), then the answer
 * of a settled approval (`answerSettled`).
 */
function openApproval<T extends ApprovalCommandType>(
  type: T,
  state: JobAggregateState,
  nowMs: number,
  jobId: string,
  reviewer: { readonly reviewer: string; readonly reviewer_roles: readonly string[]; readonly delegation?: VoteDelegation } | null,
): OpenApproval | { readonly answer: DecideResult<JobOutcomeMap[T]> } {
  const phase = approvalPhase(state, nowMs);
  if (phase.phase === 'none') return { answer: notFound(jobId) };
  if (phase.phase === 'not_required') return { answer: notAwaiting(jobId) };
  const reviewerError = reviewer && checkReviewer(state, reviewer.reviewer, reviewer.reviewer_roles, reviewer.delegation);
  if (reviewerError) return { answer: reviewerError };
  if (phase.phase === 'settled') return { answer: answerSettled(type, jobId, phase.settled, state) };
  return { approval: phase.state.approval, due: phase.due, request: phase.state.job.request };
}

/**
 * Approve, in this order (each refusal with its stable code; fields checked by `checkCommandData`):
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
 * 8. an amended request (`amendment`, edit before approve): `checkAmendment` of job.amendment.ts
 *    (`amendment_field_fixed`, `reserved_label`, `amendment_denied`, `amendment_needs_new_approval`);
 *    the first vote for an amendment records JobAmendmentProposed before it;
 * 9. the vote, for the hash it approves (`approved_job_hash`: the original's or the amendment's):
 *    a reviewer who already voted for that hash (the same normalised identity: `Alice` is
 *    `alice`) gets `approval_recorded` again with no event; a new vote is recorded, and the one
 *    reaching `requirement.required` distinct reviewers FOR ONE HASH also grants, bound to that
 *    hash. Votes for different hashes never add up; a reviewer who approved the original and
 *    then an amendment has one vote for each.
 *
 * A changed snapshot is refused WITHOUT recording ApprovalInvalidated: the policy may be rolled
 * back (or a decision-mode re-evaluation may come out equivalent), and an approval invalidated by
 * one refused click would be lost for good. The drift is visible without it (the pending list's
 * `drifted`), and an operator who wants to close the approval does so with InvalidateApproval.
 * The integrity checks run before the repeated-vote answer, so a reviewer retrying after a
 * policy change learns about the change instead of being told the vote still stands.
 */
export function approveJob(command: ApproveJob, state: JobAggregateState, nowMs: number): DecideResult<ApproveJobOutcome> {
  const { data, metadata } = command;
  const open = openApproval('ApproveJob', state, nowMs, data.job_id, data);
  if ('answer' in open) return open.answer;
  const { approval } = open;
  if (open.due) return expiredRefusal(data.job_id, approval.expires_at);

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

  // Edit before approve (job.amendment.ts): an amended request identical to the original is a plain vote.
  const amendment = data.amendment !== undefined && data.amendment.job_hash !== approval.job_hash ? data.amendment : null;
  if (amendment !== null) {
    const refusal = checkAmendment(open.request, approval, amendment);
    if (refusal) return refusal;
  }
  const approvedHash = amendment?.job_hash ?? approval.job_hash;
  const amendedOutcome = amendment === null ? {} : { approved_job_hash: approvedHash };

  const required = approval.requirement.required;
  // Distinct reviewers by normalised identity (`Alice` and `alice` are one vote), per approved hash.
  // Under delegations, one person counts once: a vote involving anyone (voter, caster, chain) of a
  // counted vote for the same hash is answered as a repeat.
  const counted = votesFor(approval, approvedHash);
  if (counted.some((v) => sameIdentity(v.reviewer, data.reviewer) || sharesIdentity(v, data))) {
    return accept([], { job_id: data.job_id, status: 'approval_recorded', approvals: counted.length, required, ...amendedOutcome });
  }
  const approvals = counted.length + 1;
  const equivalent = equivalentSnapshot === undefined ? {} : { equivalent_snapshot: equivalentSnapshot };
  const cast = castFields(data.delegation);
  const events: JobEvent[] = [];
  if (amendment !== null && amendmentOf(approval, amendment.job_hash) === null) {
    const { evaluation } = amendment;
    events.push(
      eventOf(
        'JobAmendmentProposed',
        {
          job_id: data.job_id,
          approval_ref: approval.approval_ref,
          amendment_hash: amendment.job_hash,
          amends_job_hash: approval.job_hash,
          request: amendment.request,
          changed_paths: changedPaths(open.request, amendment.request),
          proposed_by: data.reviewer,
          evaluation: {
            decision: evaluation.decision === 'require_human' ? 'require_human' : 'allow',
            rule_id: evaluation.rule_id,
            policy_snapshot: data.active_policy_snapshot,
          },
        },
        metadata,
      ),
    );
  }
  events.push(
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
        approved_job_hash: approvedHash,
        ...cast,
      },
      metadata,
    ),
  );
  if (approvals < required) {
    return accept(events, { job_id: data.job_id, status: 'approval_recorded', approvals, required, ...amendedOutcome });
  }
  events.push(
    eventOf(
      'ApprovalGranted',
      {
        job_id: data.job_id,
        approval_ref: approval.approval_ref,
        approval_id: data.approval_id,
        approved_by: [...counted.map((v) => v.reviewer), data.reviewer],
        policy_snapshot: approval.policy_snapshot,
        job_hash: approvedHash,
        reason: data.reason ?? null,
        ...equivalent,
        ...cast,
      },
      metadata,
    ),
  );
  return accept(events, { job_id: data.job_id, status: 'approved', approval_id: data.approval_id, state: 'PENDING', approvals, required, ...amendedOutcome });
}

/**
 * Reject: `reason` is required (`invalid_request` first, it reveals nothing); then the approve
 * order of checks (eligibility before the approval's state), with a granted approval refused
 * `already_approved` and a rejected one answered `already_rejected`. One eligible reviewer's
 * rejection is a veto, whatever votes were counted.
 * Snapshot and hash are not checked: refusing a job is safe under any policy.
 */
export function rejectJob(command: RejectJob, state: JobAggregateState, nowMs: number): DecideResult<RejectJobOutcome> {
  const { data, metadata } = command;
  const open = openApproval('RejectJob', state, nowMs, data.job_id, data);
  if ('answer' in open) return open.answer;
  const { approval } = open;
  if (open.due) return expiredRefusal(data.job_id, approval.expires_at);
  const event = eventOf(
    'ApprovalRejected',
    { job_id: data.job_id, approval_ref: approval.approval_ref, rejected_by: data.reviewer, reason: data.reason, ...castFields(data.delegation) },
    metadata,
  );
  return accept([event], { job_id: data.job_id, status: 'rejected', state: 'REJECTED' });
}

/** Expire: only an awaiting approval with `now >= expires_at`; a recorded expiry is answered again. */
export function expireApproval(command: ExpireApproval, state: JobAggregateState, nowMs: number): DecideResult<ExpireApprovalOutcome> {
  const { data, metadata } = command;
  const open = openApproval('ExpireApproval', state, nowMs, data.job_id, null);
  if ('answer' in open) return open.answer;
  const { approval } = open;
  if (!open.due) {
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
export function invalidateApproval(
  command: InvalidateApproval,
  state: JobAggregateState,
  nowMs: number,
): DecideResult<InvalidateApprovalOutcome> {
  const { data, metadata } = command;
  const open = openApproval('InvalidateApproval', state, nowMs, data.job_id, null);
  if ('answer' in open) return open.answer;
  const { approval } = open;
  if (open.due) return expiredRefusal(data.job_id, approval.expires_at);
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
