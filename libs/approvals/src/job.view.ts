import type { JobCompletedData, JobState, PolicyEvaluatedData } from '@signoff/contracts';
import type { SubmitAnswer } from './job.outcomes';
import type { Approval, GrantedApproval, JobAggregateState } from './job.state';

/** `approval` member of `GET /jobs/:id`. */
export interface JobApprovalView {
  readonly approval_ref: string;
  readonly state: 'pending' | 'approved' | 'rejected' | 'expired' | 'invalidated';
  readonly rule_id: string | null;
  readonly policy_snapshot: string;
  readonly job_hash: string;
  readonly required: number;
  readonly reviewers: readonly string[];
  /** Distinct reviewers counted so far. */
  readonly approvals: number;
  readonly voters: readonly string[];
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

/**
 * The API state of an aggregate state, or null when the job does not exist (`initial`, or an
 * incomplete `submitted`). `DISPATCH_ABANDONED` is shown as `FAILED`: the API's list of states is
 * fixed by the contract, and to a client a job whose delivery was given up has failed.
 */
export function apiStateOf(state: JobAggregateState): JobState | null {
  switch (state.status) {
    case 'initial':
    case 'submitted':
      return null;
    case 'DISPATCH_ABANDONED':
      return 'FAILED';
    case 'APPROVAL_REQUIRED':
    case 'DENIED':
    case 'REJECTED':
    case 'EXPIRED':
    case 'INVALIDATED':
    case 'PENDING':
    case 'DISPATCHED':
    case 'RUNNING':
    case 'SUCCEEDED':
    case 'FAILED':
    case 'UNKNOWN':
      return state.status;
    default: {
      const _exhaustive: never = state;
      return null;
    }
  }
}

/** The approval of a state, if the job has one. */
export function approvalOf(state: JobAggregateState): Approval | GrantedApproval | null {
  switch (state.status) {
    case 'initial':
    case 'submitted':
    case 'DENIED':
      return null;
    case 'APPROVAL_REQUIRED':
    case 'REJECTED':
    case 'EXPIRED':
    case 'INVALIDATED':
    case 'PENDING':
    case 'DISPATCHED':
    case 'RUNNING':
    case 'SUCCEEDED':
    case 'FAILED':
    case 'UNKNOWN':
    case 'DISPATCH_ABANDONED':
      return state.approval;
    default: {
      const _exhaustive: never = state;
      return null;
    }
  }
}

/**
 * The answer `POST /jobs` gave when the job was submitted (repeated as is for a duplicate
 * submission), or null when the job does not exist.
 */
export function submitAnswerOf(state: JobAggregateState): SubmitAnswer | null {
  if (state.status === 'initial' || state.status === 'submitted') return null;
  const { job, evaluation } = state;
  const common = {
    job_id: job.job_id,
    rule_id: evaluation.rule_id,
    policy_snapshot: evaluation.policy_snapshot,
    job_hash: job.job_hash,
  };
  switch (evaluation.decision) {
    case 'allow':
      return { ...common, status: 'accepted', decision: 'allow' };
    case 'deny':
      return { ...common, status: 'denied', decision: 'deny', reason: evaluation.reason };
    case 'require_human': {
      const approval = approvalOf(state);
      // A require_human job always has its approval (ApprovalRequested is in the same append).
      if (approval === null) return null;
      return { ...common, status: 'approval_required', decision: 'require_human', approval_ref: approval.approval_ref };
    }
    default: {
      const _exhaustive: never = evaluation.decision;
      return null;
    }
  }
}

function approvalView(state: JobAggregateState): JobApprovalView | undefined {
  const approval = approvalOf(state);
  if (approval === null) return undefined;
  const base = {
    approval_ref: approval.approval_ref,
    rule_id: approval.rule_id,
    policy_snapshot: approval.policy_snapshot,
    job_hash: approval.job_hash,
    required: approval.requirement.required,
    reviewers: approval.requirement.reviewers,
    approvals: approval.votes.length,
    voters: approval.votes.map((v) => v.reviewer),
    requested_at: approval.requested_at,
    expires_at: approval.expires_at,
  };
  switch (state.status) {
    case 'initial':
    case 'submitted':
    case 'DENIED':
      return undefined;
    case 'APPROVAL_REQUIRED':
      return { ...base, state: 'pending' };
    case 'REJECTED':
      return {
        ...base,
        state: 'rejected',
        rejected_by: state.rejection.rejected_by,
        rejection_reason: state.rejection.reason,
        rejected_at: state.rejection.at,
      };
    case 'EXPIRED':
      return { ...base, state: 'expired', expired_at: state.expiry.at };
    case 'INVALIDATED': {
      // A grant the log voided keeps who granted it, and when.
      const grant = 'grant' in state.approval ? state.approval.grant : null;
      const granted = grant ? { approval_id: grant.approval_id, approved_by: grant.approved_by, granted_at: grant.at } : {};
      return { ...base, state: 'invalidated', ...granted, invalidated: state.invalidation };
    }
    case 'PENDING':
    case 'DISPATCHED':
    case 'RUNNING':
    case 'SUCCEEDED':
    case 'FAILED':
    case 'UNKNOWN':
    case 'DISPATCH_ABANDONED': {
      if (state.approval === null) return undefined;
      const { grant } = state.approval;
      return { ...base, state: 'approved', approval_id: grant.approval_id, approved_by: grant.approved_by, granted_at: grant.at };
    }
    default: {
      const _exhaustive: never = state;
      return undefined;
    }
  }
}

function dispatchView(state: JobAggregateState): JobDispatchView | undefined {
  switch (state.status) {
    case 'initial':
    case 'submitted':
    case 'APPROVAL_REQUIRED':
    case 'DENIED':
    case 'REJECTED':
    case 'EXPIRED':
    case 'INVALIDATED':
      return undefined;
    case 'PENDING':
    case 'DISPATCHED':
    case 'RUNNING':
    case 'SUCCEEDED':
    case 'FAILED':
    case 'UNKNOWN':
    case 'DISPATCH_ABANDONED': {
      const { dispatch, abandonment } = state;
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
    default: {
      const _exhaustive: never = state;
      return undefined;
    }
  }
}

function resultView(state: JobAggregateState): JobResultView | undefined {
  switch (state.status) {
    case 'initial':
    case 'submitted':
    case 'APPROVAL_REQUIRED':
    case 'DENIED':
    case 'REJECTED':
    case 'EXPIRED':
    case 'INVALIDATED':
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
