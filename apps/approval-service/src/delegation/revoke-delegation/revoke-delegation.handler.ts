import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { delegationStatus } from '@signoff/approvals';
import { SignoffError } from '@signoff/contracts';
import { Clock, commandMetadata, newCommandId } from '@signoff/core';
import { DelegationStreams } from '../shared/delegation-streams';
import { DelegationsProjection } from '../shared/delegations.projection';
import { revokeDelegationCommand } from './revoke-delegation.builder';
import { RevokeDelegationCommand } from './revoke-delegation.command';

/**
 * Revoke: the read model says whose stream holds the id (404 `not_found` when it knows none), then
 * the decider decides on that stream (not_found for anyone but the delegator, the delegate and a
 * covering admin; forbidden for the delegate; already_revoked again).
 */
@CommandHandler(RevokeDelegationCommand)
export class RevokeDelegationHandler implements ICommandHandler<RevokeDelegationCommand> {
  constructor(
    private readonly streams: DelegationStreams,
    private readonly projection: DelegationsProjection,
    private readonly clock: Clock,
  ) {}

  async execute({ principal, delegationId, input }: RevokeDelegationCommand) {
    const known = this.projection.get(delegationId);
    if (known === null) throw new SignoffError('not_found', `delegation ${delegationId.slice(0, 200)} not found`);
    const metadata = commandMetadata(this.clock, { actor: principal.sub, commandId: newCommandId() });
    const { status, delegation } = await this.streams.execute(known.delegator, () => revokeDelegationCommand(principal, known, input, metadata));
    return { ...delegation, status: delegationStatus(delegation, Date.parse(metadata.now)), outcome: status };
  }
}
