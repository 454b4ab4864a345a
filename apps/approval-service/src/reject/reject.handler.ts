import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { RejectJobOutcome, toSignoffError } from '@signoff/approvals';
import { Clock, commandMetadata, JobCommandHandler, newCommandId } from '@signoff/core';
import { DelegationStreams, resolveOnBehalf } from '../delegation/shared/delegation-streams';
import { PendingApprovalsProjection } from '../projections/pending-approvals.projection';
import { rejectJobCommand } from './reject-job.builder';
import { RejectCommand } from './reject.command';

/**
 * Reject (DESIGN section 4), the one entry of the use case whatever the transport: tenant (404)
 * and topic (403) first, then the decider (a rejection by one eligible reviewer is a veto;
 * refusing is safe under any policy, so neither the snapshot nor the hash is checked). Races with
 * approve serialize on the stream's expected revision: exactly one of them is stored. Like
 * approve, the first attempt decides on this instance's fold of the stream when it has one.
 */
@CommandHandler(RejectCommand)
export class RejectHandler implements ICommandHandler<RejectCommand> {
  constructor(
    private readonly commands: JobCommandHandler,
    private readonly clock: Clock,
    private readonly projection: PendingApprovalsProjection,
    private readonly delegations: DelegationStreams,
  ) {}

  async execute({ principal, ref, input }: RejectCommand): Promise<RejectJobOutcome> {
    const commandId = newCommandId();
    const delegated = await resolveOnBehalf(this.delegations, principal.sub, input.on_behalf_of, this.clock.now());
    const cached = this.projection.cached(ref);
    const { result } = await this.commands.execute(
      ref,
      (state) => rejectJobCommand({ principal, ref, input, metadata: commandMetadata(this.clock, { actor: principal.sub, commandId }), delegated }, state),
      cached ? { loaded: cached } : {},
    );
    if (!result.ok) throw toSignoffError(result);
    return result.outcome;
  }
}
