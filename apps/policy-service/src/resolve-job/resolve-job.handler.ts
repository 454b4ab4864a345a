import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { JobAggregateState, ResolveJobOutcome, ResolveJobOutcomeOutcome, toSignoffError } from '@signoff/approvals';
import { JobRef, ResolveJobDto } from '@signoff/contracts';
import { Clock, existingJob, JobCommandHandler } from '@signoff/core';
import { Principal } from '@signoff/runtime';

/**
 * An operator resolves a job whose outcome is UNKNOWN (`POST /jobs/:id/resolve[?tenant=]`, admin):
 * the job must exist in a tenant the caller may see (`existingJob`: 404 like a missing one
 * otherwise, as for approve and reject), then the decider records JobOutcomeResolved with who
 * (`resolved_by`, the caller's `sub`), what and why. Only an UNKNOWN job can be resolved (409
 * `not_ambiguous` otherwise); the same resolution again is `already_resolved`.
 */
@Injectable()
export class ResolveJobHandler {
  constructor(
    private readonly commands: JobCommandHandler,
    private readonly clock: Clock,
  ) {}

  async resolve(principal: Principal, ref: JobRef, input: ResolveJobDto): Promise<ResolveJobOutcomeOutcome> {
    const commandId = randomUUID();
    const { result } = await this.commands.execute(ref, (state: JobAggregateState): ResolveJobOutcome => {
      existingJob(principal, state, ref);
      return {
        type: 'ResolveJobOutcome',
        data: { job_id: ref.jobId, outcome: input.outcome, reason: input.reason, resolved_by: principal.sub },
        metadata: { commandId, correlationId: commandId, actor: principal.sub, now: this.clock.now().toISOString() },
      };
    });
    if (!result.ok) throw toSignoffError(result);
    return result.outcome;
  }
}
