import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CreateDelegationDto } from '@signoff/contracts';
import { ApiProblems, CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import { validateBody } from '../../shared/validate-body';
import type { DelegationView } from '../shared/delegations.projection';
import { GrantDelegationCommand } from './grant-delegation.command';

@ApiTags('delegations')
@Controller('delegations')
export class GrantDelegationHttpController {
  constructor(private readonly commands: CommandBus) {}

  @Post()
  @HttpCode(201)
  @Roles('reviewer')
  @ApiOperation({
    summary: 'Delegate my reviewer authority to someone for a period',
    description: 'The delegate may then approve or reject with `on_behalf_of: <me>`; it never gets more than my token has now.',
  })
  @ApiBody({ type: CreateDelegationDto })
  @ApiResponse({ status: 201, description: 'The delegation (with `status`)' })
  @ApiProblems(['invalid_request', 'invalid_delegation', 'forbidden', 'delegation_overlaps', 'too_many_delegations', 'busy', 'store_unavailable'], {
    invalid_delegation: '`reason`: self_delegation, empty_period, already_ended, period_too_long, starts_too_late, no_roles',
    forbidden: 'not a reviewer, or a role or tenant the token lacks',
  })
  async grant(@Body() body: unknown, @CurrentPrincipal() principal: Principal): Promise<DelegationView> {
    const input = validateBody(CreateDelegationDto, body, 'delegation');
    return this.commands.execute(new GrantDelegationCommand(principal, input));
  }
}
