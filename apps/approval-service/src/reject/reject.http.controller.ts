import { Body, Controller, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { RejectJobOutcome } from '@signoff/approvals';
import { ProblemDto, RejectDto } from '@signoff/contracts';
import { requestedJobRef } from '@signoff/core';
import { CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import { RejectAnswerDoc } from '../shared/approvals.openapi';
import { validateBody } from '../shared/validate-body';
import { RejectCommand } from './reject.command';

@ApiTags('approvals')
@ApiBearerAuth()
@Controller('approvals')
export class RejectHttpController {
  constructor(private readonly commands: CommandBus) {}

  @Post(':job_id/reject')
  @HttpCode(200)
  @Roles('reviewer')
  @ApiOperation({
    summary: 'Reject a job (idempotent; one eligible reviewer is a veto)',
  })
  @ApiQuery({ name: 'tenant', required: false, description: "The job's tenant; default: the token's only tenant, else `default`." })
  @ApiBody({ type: RejectDto })
  @ApiOkResponse({ type: RejectAnswerDoc, description: 'rejected or already_rejected' })
  @ApiResponse({ status: 400, type: ProblemDto, description: 'invalid_request: a reason is required' })
  @ApiResponse({ status: 403, type: ProblemDto, description: 'forbidden, self_approval_forbidden' })
  @ApiResponse({ status: 404, type: ProblemDto, description: 'not_found' })
  @ApiResponse({ status: 409, type: ProblemDto, description: 'already_approved, expired, invalidated, not_awaiting_approval' })
  @ApiResponse({ status: 503, type: ProblemDto, description: 'busy or store_unavailable, with Retry-After' })
  async reject(@Param('job_id') jobId: string, @Query('tenant') tenant: unknown, @Body() body: unknown, @CurrentPrincipal() principal: Principal): Promise<RejectJobOutcome> {
    const input = validateBody(RejectDto, body, 'rejection');
    return this.commands.execute(new RejectCommand(principal, requestedJobRef(principal, jobId, tenant), input));
  }
}
