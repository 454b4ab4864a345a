import type { CommandMetadata, JobAggregateState, SubmitJob } from '@signoff/approvals';
import { JobRequest, SignoffError } from '@signoff/contracts';
import type { ActivePolicyView } from '@signoff/core';
import type { Evaluation } from '@signoff/policy-engine';

/** What a submission decides on besides the job's state. */
export interface SubmitJobInput {
  readonly jobId: string;
  /** The normalized request (submitter filled in). */
  readonly request: JobRequest;
  readonly jobHash: string;
  /** The policy the evaluation ran under. */
  readonly policy: Pick<ActivePolicyView, 'snapshot' | 'version'>;
  /**
   * The evaluation (a throttled one never gets here: nothing is stored), or null for a job id the
   * log already holds (answered from the log).
   */
  readonly evaluation: Exclude<Evaluation, { decision: 'throttle' }> | null;
  /** The approval's reference, used when the decision is `require_human`. */
  readonly approvalRef: string;
  readonly metadata: CommandMetadata;
}

/**
 * The SubmitJob command for the job in `state`. On a retry after a conflict the job may exist
 * now: the decider answers it as a duplicate; the evaluation is only needed (and only made) for a
 * new job. A job that was known when read but is gone now cannot be answered: 503 `busy`, retry.
 */
export function submitJobCommand(input: SubmitJobInput, state: JobAggregateState): SubmitJob {
  const { evaluation, policy } = input;
  // For a known job the placeholder below is never stored: the decider answers from the log.
  const outcome = evaluation ?? { decision: 'allow' as const, rule_id: null, reason: 'known job', approval: undefined };
  if (state.status === 'initial' && evaluation === null) throw new SignoffError('busy', 'the job vanished while being read; retry');
  return {
    type: 'SubmitJob',
    data: {
      job_id: input.jobId,
      request: input.request,
      job_hash: input.jobHash,
      policy: {
        decision: outcome.decision,
        rule_id: outcome.rule_id,
        reason: outcome.reason,
        policy_snapshot: policy.snapshot,
        policy_version: policy.version,
        ...(outcome.decision === 'require_human' ? { approval: outcome.approval } : {}),
      },
      ...(outcome.decision === 'require_human' ? { approval_ref: input.approvalRef } : {}),
    },
    metadata: input.metadata,
  };
}
