import type { JobEvent } from '@signoff/contracts';
import type { SubmitJob } from './job.commands';
import { accept, eventOf, invalid, refuse } from './job.decision-kit';
import type { DecideResult, SubmitAnswer, SubmitJobOutcome } from './job.outcomes';
import { approvalOf, foldJob, type JobAggregateState } from './job.state';

/*
 * Submission (DESIGN section 2): SubmitJob records a job with the policy outcome the caller
 * evaluated, in one append: JobSubmitted, PolicyEvaluated and, when a human must decide,
 * ApprovalRequested. A repeated submission is answered as the first one was.
 */

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

/**
 * Submit (fields checked by `checkCommandData`): a new job is recorded; the same job id with the
 * same hash is a `duplicate` answered with the original answer and no event; with another hash
 * it is refused `job_request_changed`.
 */
export function submitJob(command: SubmitJob, state: JobAggregateState, nowMs: number): DecideResult<SubmitJobOutcome> {
  const { data } = command;
  const { policy } = data;
  const expiresAt =
    policy.decision === 'require_human' && policy.approval ? new Date(nowMs + policy.approval.timeout_ms).toISOString() : null;

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
