import { Body, Controller, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApproveJobOutcome } from '@signoff/approvals';
import { ApproveDto, ProblemDto } from '@signoff/contracts';
import { requestedJobRef } from '@signoff/core';
import { CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import { ApproveAnswerDoc } from '../shared/approvals.openapi';
import { validateBody } from '../shared/validate-body';
import { ApproveCommand } from './approve.command';

@ApiTags('approvals')
@ApiBearerAuth()
@Controller('approvals')
export class ApproveHttpController {
  constructor(private readonly commands: CommandBus) {}

  @Post(':job_id/approve')
  @HttpCode(200)
  @Roles('reviewer')
  @ApiOperation({
    summary: 'Approve a job (idempotent)',
    description:
      'Checked against the active policy snapshot and the job hash in the same expected-revision append. With `amended_request` (edit before approve) ' +
      'the vote approves the amended request instead: its own job hash, evaluated by the active policy, counted apart from votes for other versions.',
  })
  @ApiQuery({ name: 'tenant', required: false, description: "The job's tenant; default: the token's only tenant, else `default`." })
  @ApiBody({ type: ApproveDto, required: false })
  @ApiOkResponse({ type: ApproveAnswerDoc, description: 'approved, approval_recorded or already_approved' })
  @ApiResponse({ status: 400, type: ProblemDto, description: 'invalid_request (per-field `errors`); amended_request: reserved_label, amendment_field_fixed' })
  @ApiResponse({ status: 403, type: ProblemDto, description: 'forbidden (role, topic or the rule\'s reviewer roles), self_approval_forbidden, amendment_denied (rule_id, reason)' })
  @ApiResponse({ status: 404, type: ProblemDto, description: 'not_found (also for a job of a tenant the caller may not see)' })
  @ApiResponse({
    status: 409,
    type: ProblemDto,
    description:
      'snapshot_changed (expected, current), job_request_changed, stale_review, already_rejected, expired, invalidated, not_awaiting_approval, amendment_needs_new_approval, too_many_amendments',
  })
  @ApiResponse({ status: 503, type: ProblemDto, description: 'busy (contention retries exhausted) or store_unavailable, with Retry-After' })
  async approve(@Param('job_id') jobId: string, @Query('tenant') tenant: unknown, @Body() body: unknown, @CurrentPrincipal() principal: Principal): Promise<ApproveJobOutcome> {
    const input = validateBody(ApproveDto, body, 'approval');
    return this.commands.execute(new ApproveCommand(principal, requestedJobRef(principal, jobId, tenant), input));
  }
}
