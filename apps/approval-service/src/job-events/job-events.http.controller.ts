import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ProblemDto } from '@signoff/contracts';
import { CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import { JobEventsDoc } from '../shared/approvals.openapi';
import { JobEventsQuery, JobEventsView } from './job-events.query';

@ApiTags('jobs')
@ApiBearerAuth()
@Controller('jobs')
export class JobEventsHttpController {
  constructor(private readonly query: JobEventsQuery) {}

  @Get(':id/events')
  @Roles('auditor', 'admin', 'reviewer')
  @ApiOperation({ summary: "A job's events in order: who decided what, when, under which policy" })
  @ApiOkResponse({ type: JobEventsDoc })
  @ApiResponse({ status: 404, type: ProblemDto, description: "not_found (missing or another tenant's job)" })
  events(@Param('id') jobId: string, @CurrentPrincipal() principal: Principal): Promise<JobEventsView> {
    return this.query.events(principal, jobId);
  }
}
