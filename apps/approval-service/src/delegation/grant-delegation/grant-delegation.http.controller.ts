import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CreateDelegationDto, ProblemDto } from '@signoff/contracts';
import { CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import { validateBody } from '../../shared/validate-body';
import type { DelegationView } from '../shared/delegations.projection';
import { GrantDelegationCommand } from './grant-delegation.command';

@ApiTags('delegations')
@ApiBearerAuth()
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
  @ApiResponse({ status: 400, type: ProblemDto, description: 'invalid_request, invalid_delegation (`reason`: self_delegation, empty_period, already_ended, period_too_long, starts_too_late, no_roles)' })
  @ApiResponse({ status: 403, type: ProblemDto, description: 'forbidden (a role or tenant your token lacks)' })
  @ApiResponse({ status: 409, type: ProblemDto, description: 'delegation_overlaps, too_many_delegations' })
  async grant(@Body() body: unknown, @CurrentPrincipal() principal: Principal): Promise<DelegationView> {
    const input = validateBody(CreateDelegationDto, body, 'delegation');
    return this.commands.execute(new GrantDelegationCommand(principal, input));
  }
}
