import { Command } from '@nestjs/cqrs';
import type { RevokeDelegationDto } from '@signoff/contracts';
import type { Principal } from '@signoff/runtime';
import type { DelegationView } from '../shared/delegations.projection';

/** Revoke a delegation (`DELETE /delegations/:id`): its delegator or an admin, on the CommandBus. */
export class RevokeDelegationCommand extends Command<DelegationView & { readonly outcome: 'revoked' | 'already_revoked' }> {
  constructor(
    readonly principal: Principal,
    readonly delegationId: string,
    readonly input: RevokeDelegationDto,
  ) {
    super();
  }
}
