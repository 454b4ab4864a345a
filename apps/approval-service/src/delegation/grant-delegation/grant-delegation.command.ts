import { Command } from '@nestjs/cqrs';
import type { CreateDelegationDto } from '@signoff/contracts';
import type { Principal } from '@signoff/runtime';
import type { DelegationView } from '../shared/delegations.projection';

/** Delegate my authority to someone for a period (`POST /delegations`), on the CommandBus. */
export class GrantDelegationCommand extends Command<DelegationView> {
  constructor(
    readonly principal: Principal,
    readonly input: CreateDelegationDto,
  ) {
    super();
  }
}
