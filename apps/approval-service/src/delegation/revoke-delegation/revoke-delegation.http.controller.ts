import { Body, Controller, Delete, HttpCode, Param } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { RevokeDelegationDto, SignoffError } from '@signoff/contracts';
import { ApiProblems, CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import { validateBody } from '../../shared/validate-body';
import { RevokeDelegationCommand } from './revoke-delegation.command';

const DELEGATION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

@ApiTags('delegations')
@Controller('delegations')
export class RevokeDelegationHttpController {
  constructor(private readonly commands: CommandBus) {}

  @Delete(':id')
  @HttpCode(200)
  @Roles('reviewer', 'admin')
  @ApiOperation({ summary: 'Revoke a delegation (its delegator, or an admin of its tenants); idempotent' })
  @ApiResponse({ status: 200, description: 'The delegation, with `outcome` revoked or already_revoked' })
  @ApiProblems(['forbidden', 'not_found', 'busy', 'store_unavailable'], { forbidden: 'the delegate cannot revoke', not_found: 'also for a delegation the caller is no party to' })
  async revoke(@Param('id') id: string, @Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    if (!DELEGATION_ID.test(id)) throw new SignoffError('not_found', 'delegation not found');
    const input = validateBody(RevokeDelegationDto, body, 'revocation');
    return this.commands.execute(new RevokeDelegationCommand(principal, id, input));
  }
}
