import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { delegationStatus } from '@signoff/approvals';
import { Clock, commandMetadata, newCommandId } from '@signoff/core';
import { DelegationStreams } from '../shared/delegation-streams';
import type { DelegationView } from '../shared/delegations.projection';
import { grantDelegationCommand } from './grant-delegation.builder';
import { GrantDelegationCommand } from './grant-delegation.command';

/** Grant: build from the caller's token (`grantDelegationCommand`), decide and append on the caller's delegation stream. */
@CommandHandler(GrantDelegationCommand)
export class GrantDelegationHandler implements ICommandHandler<GrantDelegationCommand> {
  constructor(
    private readonly streams: DelegationStreams,
    private readonly clock: Clock,
  ) {}

  async execute({ principal, input }: GrantDelegationCommand): Promise<DelegationView> {
    const commandId = newCommandId();
    const metadata = commandMetadata(this.clock, { actor: principal.sub, commandId });
    const { delegation } = await this.streams.execute(principal.sub, () => grantDelegationCommand(principal, input, commandId, metadata));
    return { ...delegation, status: delegationStatus(delegation, Date.parse(metadata.now)) };
  }
}
