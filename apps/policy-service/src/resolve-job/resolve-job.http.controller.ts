import { Body, Controller, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBody, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ResolveJobOutcomeOutcome } from '@signoff/approvals';
import { ResolveJobDto, SignoffError, validateMessage } from '@signoff/contracts';
import { requestedJobRef } from '@signoff/core';
import { ApiProblems, CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import { ResolveJobCommand } from './resolve-job.command';

/** `POST /api/v1/jobs/:id/resolve[?tenant=]` (admin) body `{outcome: "succeeded"|"failed", reason}`. */
@ApiTags('jobs')
@Controller('jobs')
export class ResolveJobHttpController {
  constructor(private readonly commands: CommandBus) {}

  @Post(':id/resolve')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({ summary: 'Decide the outcome of a job whose outcome is UNKNOWN (recorded as JobOutcomeResolved: who, what, why)' })
  @ApiQuery({ name: 'tenant', required: false, description: "The job's tenant; default: the token's only tenant, else `default`." })
  @ApiBody({ type: ResolveJobDto })
  @ApiResponse({ status: 200, description: '{job_id, status: "resolved", outcome, resolved_by, state} or {job_id, status: "already_resolved", outcome, resolved_by}' })
  @ApiProblems(['invalid_request', 'not_found', 'not_ambiguous', 'busy', 'store_unavailable'], {
    invalid_request: 'outcome must be succeeded or failed, a reason is required',
    not_found: 'also for a job of a tenant the caller may not see',
    not_ambiguous: 'the job is not UNKNOWN (its outcome is known, or not due yet), with its `state`',
    busy: 'with Retry-After',
    store_unavailable: 'with Retry-After',
  })
  async resolve(
    @Param('id') id: string,
    @Query('tenant') tenant: unknown,
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ResolveJobOutcomeOutcome> {
    const input = validateMessage(ResolveJobDto, body ?? {});
    if (!input.ok) throw new SignoffError('invalid_request', 'the resolution is invalid', { errors: input.errors });
    return this.commands.execute(new ResolveJobCommand(principal, requestedJobRef(principal, id, tenant), input.value));
  }
}
