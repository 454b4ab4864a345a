import { Body, Controller, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBody, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { RejectJobOutcome } from '@signoff/approvals';
import { RejectDto } from '@signoff/contracts';
import { requestedJobRef } from '@signoff/core';
import { ApiProblems, CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import { RejectAnswerDoc } from '../shared/approvals.openapi';
import { validateBody } from '../shared/validate-body';
import { RejectCommand } from './reject.command';

@ApiTags('approvals')
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
  @ApiProblems(
    [
      'invalid_request',
      'forbidden', 'self_approval_forbidden', 'delegation_not_found', 'delegation_chain_too_long',
      'not_found',
      'already_approved', 'expired', 'invalidated', 'not_awaiting_approval',
      'busy', 'store_unavailable',
    ],
    {
      invalid_request: 'a reason is required',
      forbidden: "not a reviewer, outside the token's topics or the rule's reviewer roles, or a delegation that does not cover the job",
      self_approval_forbidden: 'the submitter, anywhere on an `on_behalf_of` chain',
      not_found: 'also for a job of a tenant the caller may not see',
      busy: 'with Retry-After',
      store_unavailable: 'with Retry-After',
    },
  )
  async reject(@Param('job_id') jobId: string, @Query('tenant') tenant: unknown, @Body() body: unknown, @CurrentPrincipal() principal: Principal): Promise<RejectJobOutcome> {
    const input = validateBody(RejectDto, body, 'rejection');
    return this.commands.execute(new RejectCommand(principal, requestedJobRef(principal, jobId, tenant), input));
  }
}
