import { Controller, Get, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { requestedJobRef } from '@signoff/core';
import { ApiProblems, CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import { JobEventsDoc } from '../shared/approvals.openapi';
import { JobEventsQuery, JobEventsView } from './job-events.query';

@ApiTags('jobs')
@Controller('jobs')
export class JobEventsHttpController {
  constructor(private readonly queries: QueryBus) {}

  @Get(':id/events')
  @Roles('auditor', 'admin', 'reviewer')
  @ApiOperation({ summary: "A job's events in order: who decided what, when, under which policy" })
  @ApiQuery({ name: 'tenant', required: false, description: "The job's tenant; default: the token's only tenant, else `default`." })
  @ApiOkResponse({ type: JobEventsDoc })
  @ApiProblems(['not_found', 'store_unavailable'], { not_found: "missing, another tenant's, or outside a reviewer's topics" })
  events(@Param('id') jobId: string, @Query('tenant') tenant: unknown, @CurrentPrincipal() principal: Principal): Promise<JobEventsView> {
    return this.queries.execute(new JobEventsQuery(principal, requestedJobRef(principal, jobId, tenant)));
  }
}
