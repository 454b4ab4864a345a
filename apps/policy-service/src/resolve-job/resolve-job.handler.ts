import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { JobAggregateState, ResolveJobOutcome, ResolveJobOutcomeOutcome, toSignoffError } from '@signoff/approvals';
import { ResolveJobDto, SignoffError } from '@signoff/contracts';
import { Clock, JobCommandHandler } from '@signoff/core';
import { canSeeTenant, Principal } from '@signoff/runtime';

/**
 * An operator resolves a job whose outcome is UNKNOWN (`POST /jobs/:id/resolve`, admin): the
 * tenant check first (another tenant's job is 404 like a missing one), then the decider records
 * JobOutcomeResolved with who (`resolved_by`, the caller's `sub`), what and why. Only an UNKNOWN
 * job can be resolved (409 `not_ambiguous` otherwise); the same resolution again is
 * `already_resolved`.
 */
@Injectable()
export class ResolveJobHandler {
  constructor(
    private readonly commands: JobCommandHandler,
    private readonly clock: Clock,
  ) {}

  async resolve(principal: Principal, jobId: string, input: ResolveJobDto): Promise<ResolveJobOutcomeOutcome> {
    const commandId = randomUUID();
    const { result } = await this.commands.execute(jobId, (state: JobAggregateState): ResolveJobOutcome => {
      if (state.status !== 'initial' && state.status !== 'submitted' && !canSeeTenant(principal, state.job.request.tenant)) {
        throw new SignoffError('not_found', 'no such job');
      }
      return {
        type: 'ResolveJobOutcome',
        data: { job_id: jobId, outcome: input.outcome, reason: input.reason, resolved_by: principal.sub },
        metadata: { commandId, correlationId: commandId, actor: principal.sub, now: this.clock.now().toISOString() },
      };
    });
    if (!result.ok) throw toSignoffError(result);
    return result.outcome;
  }
}
