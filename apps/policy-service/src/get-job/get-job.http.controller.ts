import { Controller, Get, Param } from '@nestjs/common';
import { JobView, toJobView } from '@signoff/approvals';
import { SignoffError } from '@signoff/contracts';
import { JobCommandHandler } from '@signoff/core';
import { canSeeTenant, CurrentPrincipal, Principal, Roles } from '@signoff/runtime';

/** `GET /api/v1/jobs/:id`: the job's state; another tenant's job is 404 like a missing one. */
@Controller('jobs')
export class GetJobHttpController {
  constructor(private readonly commands: JobCommandHandler) {}

  @Get(':id')
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
