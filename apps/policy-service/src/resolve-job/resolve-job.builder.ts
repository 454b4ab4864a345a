import type { CommandMetadata, JobAggregateState, ResolveJobOutcome } from '@signoff/approvals';
import type { JobRef, ResolveJobDto } from '@signoff/contracts';
import { existingJob } from '@signoff/core';
import type { Principal } from '@signoff/runtime';

/** What a resolution decides on besides the job's state. */
export interface ResolveJobInput {
  readonly principal: Principal;
  readonly ref: JobRef;
  readonly input: ResolveJobDto;
  readonly metadata: CommandMetadata;
}

/**
 * The ResolveJobOutcome command for the job in `state`: 404 unless the job exists in a tenant the
 * caller sees; who resolves is the caller's `sub`.
 */
export function resolveJobCommand(request: ResolveJobInput, state: JobAggregateState): ResolveJobOutcome {
  const { principal, ref, input } = request;
  existingJob(principal, state, ref);
  return {
    type: 'ResolveJobOutcome',
    data: { job_id: ref.jobId, outcome: input.outcome, reason: input.reason, resolved_by: principal.sub },
    metadata: request.metadata,
  };
}
