import { Controller, Get, Param } from '@nestjs/common';
import { ApiResponse, ApiTags } from '@nestjs/swagger';
import { JobView, toJobView } from '@signoff/approvals';
import { ProblemDto, SignoffError } from '@signoff/contracts';
import { JobCommandHandler } from '@signoff/core';
import { canSeeTenant, CurrentPrincipal, Principal, Roles } from '@signoff/runtime';

/** `GET /api/v1/jobs/:id`: the job's state; another tenant's job is 404 like a missing one. */
@ApiTags('jobs')
@Controller('jobs')
export class GetJobHttpController {
  constructor(private readonly commands: JobCommandHandler) {}

  @Get(':id')
  @ApiResponse({ status: 200, description: '{job_id, topic, state, decision, rule_id, policy_snapshot, job_hash, approval?, dispatch?, result?}' })
  @ApiResponse({ status: 404, type: ProblemDto, description: 'not_found (also for a job of a tenant the caller may not see)' })
  @Roles('submitter', 'reviewer', 'admin', 'auditor')
  async get(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<JobView> {
    const { state } = await this.commands.load(id);
    const view = toJobView(state);
    if (!view || state.status === 'initial' || state.status === 'submitted' || !canSeeTenant(principal, state.job.request.tenant)) {
      throw new SignoffError('not_found', 'no such job');
    }
    return view;
  }
}
