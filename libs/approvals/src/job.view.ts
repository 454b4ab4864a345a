import type { JobCompletedData, JobState, PolicyEvaluatedData } from '@signoff/contracts';
import { votesFor } from './job.amendment';
import { apiStateOf, approvalOf, phaseOf, type Approval, type JobAggregateState } from './job.state';

// Read by the view's callers next to toJobView; they live with the state and the submission.
export { apiStateOf } from './job.state';
export { submitAnswerOf } from './job.submission.decider';

/** One amended request reviewers approved (edit before approve), with its own votes. */
export interface JobAmendmentView {
  readonly job_hash: string;
  /** What the reviewer changed (`payload.amount`, `labels.env`). */
  readonly changed_paths: readonly string[];
  readonly proposed_by: string;
  readonly proposed_at: string;
  /** How the active policy decided the amended request when it was proposed. */
  readonly decision: 'allow' | 'require_human';
  readonly rule_id: string | null;
  /** Distinct reviewers who approved this amendment. */
  readonly approvals: number;
  readonly voters: readonly string[];
}

/** `approval` member of `GET /jobs/:id`. */
export interface JobApprovalView {
  readonly approval_ref: string;
  readonly state: 'pending' | 'approved' | 'rejected' | 'expired' | 'invalidated';
  readonly rule_id: string | null;
  readonly policy_snapshot: string;
  readonly job_hash: string;
  readonly required: number;
  readonly reviewers: readonly string[];
  /** Distinct reviewers counted so far for the original request (`job_hash`). */
  readonly approvals: number;
  readonly voters: readonly string[];
  /** Amended requests reviewers approved instead, each with its own votes; absent when none. */
  readonly amendments?: readonly JobAmendmentView[];
  /** Set when the grant binds an amendment: its hash (the job is dispatched as amended). */
  readonly approved_job_hash?: string;
  /** Votes cast under a delegation: whose vote (`reviewer`, one of `voters` or of an amendment's) was cast by whom. Absent when none. */
  readonly cast_for?: readonly { readonly reviewer: string; readonly cast_by: string }[];
  readonly requested_at: string;
  readonly expires_at: string;
  readonly approval_id?: string;
  readonly approved_by?: readonly string[];
  readonly granted_at?: string;
  readonly rejected_by?: string;
  readonly rejection_reason?: string;
  readonly rejected_at?: string;
  readonly expired_at?: string;
  readonly invalidated?: { readonly code: string; readonly expected: string; readonly current: string; readonly at: string };
  /** The escalation steps fired (reminders and escalations), present once one fired. */
  readonly escalations?: readonly { readonly step: number; readonly kind: 'reminder' | 'escalation'; readonly at: string }[];
  /** Roles an escalation added to `reviewers`. */
  readonly added_reviewers?: readonly string[];
}

/** `dispatch` member of `GET /jobs/:id`, present once a claim or a replay happened. */
export interface JobDispatchView {
  readonly attempt: number;
  readonly idempotency_key: string | null;
  readonly claimed_by: string | null;
  readonly claimed_at: string | null;
  readonly topic: string | null;
  readonly partition: number | null;
  readonly offset: string | null;
  readonly dispatched_at: string | null;
  readonly replays: number;
  /** Set when replays were exhausted (the job's state is then FAILED unless a worker reported). */
  readonly abandoned?: { readonly attempts: number; readonly max_attempts: number; readonly reason: string; readonly at: string };
}

/** `result.resolution`: an operator decided the outcome of a job that was UNKNOWN. */
export interface JobResolutionView {
  readonly resolved_by: string;
  readonly reason: string;
  readonly resolved_at: string;
  /** Why the outcome had been unknown, and since when. */
  readonly unknown_reason: string;
  readonly unknown_since: string;
}

/** `result` member of `GET /jobs/:id`, from the worker's reports. */
export interface JobResultView {
  readonly status: 'running' | 'unknown' | JobCompletedData['status'];
  readonly worker?: string;
  readonly started_at?: string;
  readonly completed_at?: string;
  readonly result?: unknown;
  readonly error?: string;
  /** UNKNOWN: why (the worker that found the lease lost says what it found), since when, who reported it. */
  readonly unknown_reason?: string;
  readonly unknown_since?: string;
  readonly reported_by?: string;
  readonly resolution?: JobResolutionView;
}

/** The body of `GET /jobs/:id` (DESIGN section 4). */
export interface JobView {
  readonly job_id: string;
  readonly topic: string;
  readonly state: JobState;
  readonly decision: PolicyEvaluatedData['decision'];
  readonly rule_id: string | null;
  readonly policy_snapshot: string;
  readonly job_hash: string;
  readonly approval?: JobApprovalView;
  readonly dispatch?: JobDispatchView;
  readonly result?: JobResultView;
}

function amendmentViews(approval: Approval): { amendments?: JobAmendmentView[] } {
  if (!approval.amendments?.length) return {};
  return {
    amendments: approval.amendments.map((a) => {
      const votes = votesFor(approval, a.job_hash);
      return {
        job_hash: a.job_hash,
        changed_paths: a.changed_paths,
        proposed_by: a.proposed_by,
        proposed_at: a.proposed_at,
        decision: a.evaluation.decision,
        rule_id: a.evaluation.rule_id,
        approvals: votes.length,
        voters: votes.map((v) => v.reviewer),
      };
    }),
  };
}

function castFor(votes: readonly { readonly reviewer: string; readonly cast_by?: string }[]): Pick<JobApprovalView, 'cast_for'> {
  const cast = votes.flatMap((v) => (v.cast_by === undefined ? [] : [{ reviewer: v.reviewer, cast_by: v.cast_by }]));
  return cast.length === 0 ? {} : { cast_for: cast };
}

function approvalView(state: JobAggregateState): JobApprovalView | undefined {
  const approval = approvalOf(state);
  if (approval === null) return undefined;
  const original = votesFor(approval, approval.job_hash);
  const base = {
    approval_ref: approval.approval_ref,
    rule_id: approval.rule_id,
    policy_snapshot: approval.policy_snapshot,
    job_hash: approval.job_hash,
    required: approval.requirement.required,
    reviewers: approval.requirement.reviewers,
    approvals: original.length,
    voters: original.map((v) => v.reviewer),
    ...castFor(approval.votes),
    requested_at: approval.requested_at,
    expires_at: approval.expires_at,
    ...(approval.escalation
      ? {
          escalations: approval.escalation.fired,
          ...(approval.escalation.added_reviewers.length > 0 ? { added_reviewers: approval.escalation.added_reviewers } : {}),
        }
      : {}),
    ...amendmentViews(approval),
  };
  const phase = phaseOf(state);
  switch (phase.phase) {
    case 'absent':
    case 'denied':
      return undefined;
    case 'awaiting_approval':
      return { ...base, state: 'pending' };
    case 'approval_closed': {
      const closed = phase.state;
      switch (closed.status) {
        case 'REJECTED':
          return {
            ...base,
            state: 'rejected',
            rejected_by: closed.rejection.rejected_by,
            rejection_reason: closed.rejection.reason,
            rejected_at: closed.rejection.at,
          };
        case 'EXPIRED':
          return { ...base, state: 'expired', expired_at: closed.expiry.at };
        case 'INVALIDATED': {
          // A grant the log voided keeps who granted it, and when.
          const grant = 'grant' in closed.approval ? closed.approval.grant : null;
          const granted = grant
        ? { approval_id: grant.approval_id, approved_by: grant.approved_by, granted_at: grant.at, ...(grant.approved_job_hash ? { approved_job_hash: grant.approved_job_hash } : {}) }
        : {};
          return { ...base, state: 'invalidated', ...granted, invalidated: closed.invalidation };
        }
        default: {
          const _exhaustive: never = closed;
          return undefined;
        }
      }
    }
    case 'released': {
      if (phase.state.approval === null) return undefined;
      const { grant } = phase.state.approval;
      return {
        ...base,
        state: 'approved',
        approval_id: grant.approval_id,
        approved_by: grant.approved_by,
        granted_at: grant.at,
        ...(grant.approved_job_hash ? { approved_job_hash: grant.approved_job_hash } : {}),
      };
    }
    default: {
      const _exhaustive: never = phase;
      return undefined;
    }
  }
}

function dispatchView(state: JobAggregateState): JobDispatchView | undefined {
  const phase = phaseOf(state);
  if (phase.phase !== 'released') return undefined;
  const { dispatch, abandonment } = phase.state;
  // Nothing to show before the first claim: an allowed or approved job waiting for its dispatcher.
  if (dispatch.idempotency_key === null && dispatch.replays.length === 0 && abandonment === null) return undefined;
  return {
    attempt: dispatch.attempt,
    idempotency_key: dispatch.idempotency_key,
    claimed_by: dispatch.claim?.claimed_by ?? null,
    claimed_at: dispatch.claim?.at ?? null,
    topic: dispatch.published?.topic ?? null,
    partition: dispatch.published?.partition ?? null,
    offset: dispatch.published?.offset ?? null,
    dispatched_at: dispatch.published?.at ?? null,
    replays: dispatch.replays.length,
    ...(abandonment ? { abandoned: abandonment } : {}),
  };
}

function resultView(job: JobAggregateState): JobResultView | undefined {
  const phase = phaseOf(job);
  if (phase.phase !== 'released') return undefined;
  const state = phase.state;
  switch (state.status) {
    case 'PENDING':
    case 'DISPATCHED':
    case 'DISPATCH_ABANDONED':
      return undefined;
    case 'RUNNING':
      return { status: 'running', worker: state.started.worker, started_at: state.started.at };
    case 'UNKNOWN': {
      const { started, unknown } = state;
      return {
        status: 'unknown',
        ...(started ? { worker: started.worker, started_at: started.at } : {}),
        unknown_reason: unknown.reason,
        unknown_since: unknown.at,
        reported_by: unknown.worker,
      };
    }
    case 'SUCCEEDED':
    case 'FAILED': {
      const { completion, started } = state;
      const resolution = completion.resolution;
      return {
        status: completion.status,
        ...(started ? { worker: started.worker, started_at: started.at } : {}),
        completed_at: completion.at,
        ...(completion.result !== undefined ? { result: completion.result } : {}),
        ...(completion.error !== undefined ? { error: completion.error } : {}),
        ...(resolution
          ? {
              resolution: {
                resolved_by: resolution.resolved_by,
                reason: resolution.reason,
                resolved_at: resolution.at,
                unknown_reason: resolution.unknown.reason,
                unknown_since: resolution.unknown.at,
              },
            }
          : {}),
      };
    }
    default: {
      const _exhaustive: never = state;
      return undefined;
    }
  }
}

/**
 * The API view of a job (`GET /jobs/:id`), or null when the job does not exist (answer 404).
 * `approval`, `dispatch` and `result` are present only when there is something to show.
 */
export function toJobView(state: JobAggregateState): JobView | null {
  const apiState = apiStateOf(state);
  if (apiState === null || state.status === 'initial' || state.status === 'submitted') return null;
  const approval = approvalView(state);
  const dispatch = dispatchView(state);
  const result = resultView(state);
  return {
    job_id: state.job.job_id,
    topic: state.job.request.topic,
    state: apiState,
    decision: state.evaluation.decision,
    rule_id: state.evaluation.rule_id,
    policy_snapshot: state.evaluation.policy_snapshot,
    job_hash: state.job.job_hash,
    ...(approval ? { approval } : {}),
    ...(dispatch ? { dispatch } : {}),
    ...(result ? { result } : {}),
  };
}
