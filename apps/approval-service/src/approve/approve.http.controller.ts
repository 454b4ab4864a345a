import { Body, Controller, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBody, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ApproveJobOutcome } from '@signoff/approvals';
import { ApproveDto } from '@signoff/contracts';
import { requestedJobRef } from '@signoff/core';
import { ApiProblems, CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import { ApproveAnswerDoc } from '../shared/approvals.openapi';
import { validateBody } from '../shared/validate-body';
import { ApproveCommand } from './approve.command';

@ApiTags('approvals')
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
  @ApiProblems(
    [
      'invalid_request', 'reserved_label', 'amendment_field_fixed',
      'forbidden', 'self_approval_forbidden', 'amendment_denied', 'delegation_not_found', 'delegation_chain_too_long',
      'not_found',
      'snapshot_changed', 'job_request_changed', 'stale_review', 'already_rejected', 'expired', 'invalidated', 'not_awaiting_approval', 'amendment_needs_new_approval', 'too_many_amendments',
      'busy', 'store_unavailable', 'policy_unavailable',
    ],
    {
      invalid_request: 'per-field `errors`',
      reserved_label: 'in `amended_request`',
      amendment_field_fixed: '`amended_request` changes topic, priority, tenant, submitted_by or job_id',
      forbidden: "not a reviewer, outside the token's topics or the rule's reviewer roles, or a delegation that does not cover the job",
      self_approval_forbidden: 'the submitter, anywhere on an `on_behalf_of` chain',
      amendment_denied: 'the active policy denies the amended request (`rule_id`, `reason`)',
      not_found: 'also for a job of a tenant the caller may not see',
      snapshot_changed: 'with `expected`, `current`',
      stale_review: 'the `policy_snapshot` / `job_hash` sent are not what the approval is bound to',
      busy: 'contention retries exhausted, with Retry-After',
      store_unavailable: 'with Retry-After',
      policy_unavailable: 'no active policy known yet',
    },
  )
  async approve(@Param('job_id') jobId: string, @Query('tenant') tenant: unknown, @Body() body: unknown, @CurrentPrincipal() principal: Principal): Promise<ApproveJobOutcome> {
    const input = validateBody(ApproveDto, body, 'approval');
    return this.commands.execute(new ApproveCommand(principal, requestedJobRef(principal, jobId, tenant), input));
  }
}
