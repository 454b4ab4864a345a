import type { CommandMetadata, JobAggregateState, RejectJob } from '@signoff/approvals';
import type { JobRef, RejectDto } from '@signoff/contracts';
import { existingJob } from '@signoff/core';
import type { Principal } from '@signoff/runtime';
import type { DelegatedVote } from '../delegation/shared/delegation-streams';
import { voterOf } from '../delegation/shared/delegated-voter';
import { assertMayDecide } from '../shared/job-access';

/** What a rejection decides on besides the job's state. */
export interface RejectJobInput {
  readonly principal: Principal;
  readonly ref: JobRef;
  readonly input: RejectDto;
  readonly metadata: CommandMetadata;
  /** `on_behalf_of` resolved (the chain, or the refusal raised after the job's own checks). */
  readonly delegated?: DelegatedVote;
}

/**
 * The RejectJob command for the job in `state`: 404 unless the job exists in a tenant the caller
 * sees, 403 unless the caller's topics cover it. Neither snapshot nor hash is checked: refusing
 * is safe under any policy.
 */
export function rejectJobCommand(request: RejectJobInput, state: JobAggregateState): RejectJob {
  const { principal, ref, input } = request;
  const job = existingJob(principal, state, ref);
  assertMayDecide(principal, job);
  return {
    type: 'RejectJob',
    data: { job_id: ref.jobId, ...voterOf(principal, job, request.delegated), reason: input.reason },
    metadata: request.metadata,
  };
}
