import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { JobAggregateState, RejectJob, RejectJobOutcome, toSignoffError } from '@signoff/approvals';
import { JobRef, RejectDto } from '@signoff/contracts';
import { Clock, existingJob, JobCommandHandler } from '@signoff/core';
import { Principal } from '@signoff/runtime';
import { PendingApprovalsProjection } from '../projections/pending-approvals.projection';
import { commandMetadata } from '../shared/command-metadata';
import { assertMayDecide, reviewerRoles } from '../shared/job-access';

/**
 * Reject (DESIGN section 4), shared by HTTP and gRPC: tenant (404) and topic (403) first, then the
 * decider (a rejection by one eligible reviewer is a veto; refusing is safe under any policy, so
 * neither the snapshot nor the hash is checked). Races with approve serialize on the stream's
 * expected revision: exactly one of them is stored. Like approve, the first attempt decides on this
 * instance's fold of the stream when it has one.
 */
@Injectable()
export class RejectHandler {
  constructor(
    private readonly commands: JobCommandHandler,
    private readonly clock: Clock,
    private readonly projection: PendingApprovalsProjection,
  ) {}

  async reject(principal: Principal, ref: JobRef, input: RejectDto): Promise<RejectJobOutcome> {
    const jobId = ref.jobId;
    const commandId = randomUUID();
    const cached = this.projection.cached(ref);
    const { result } = await this.commands.execute(ref, (state: JobAggregateState): RejectJob => {
      const job = existingJob(principal, state, ref);
      assertMayDecide(principal, job);
      return {
        type: 'RejectJob',
        data: { job_id: jobId, reviewer: principal.sub, reviewer_roles: reviewerRoles(principal), reason: input.reason },
        metadata: commandMetadata(principal.sub, this.clock, commandId),
      };
    }, cached ? { loaded: cached } : {});
    if (!result.ok) throw toSignoffError(result);
    return result.outcome;
  }
}
