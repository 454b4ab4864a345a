import { Controller, Get, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { JobView } from '@signoff/approvals';
import { requestedJobRef } from '@signoff/core';
import { ApiProblems, CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import { GetJobQuery } from './get-job.query';

/**
 * `GET /api/v1/jobs/:id[?tenant=]`: the job's state. A job of a tenant the caller may not see, or
 * one it may not read (a submitter reads only its own jobs, a reviewer only those of its topics),
 * is 404 like a missing one.
 */
@ApiTags('jobs')
@Controller('jobs')
export class GetJobHttpController {
  constructor(private readonly queries: QueryBus) {}

  @Get(':id')
  @ApiQuery({ name: 'tenant', required: false, description: "The job's tenant; default: the token's only tenant, else `default`." })
  @ApiResponse({ status: 200, description: '{job_id, topic, state, decision, rule_id, policy_snapshot, job_hash, approval?, dispatch?, result?}' })
  @ApiProblems(['not_found', 'store_unavailable'], { not_found: 'also for a job of a tenant the caller may not see, or one it may not read' })
  @Roles('submitter', 'reviewer', 'admin', 'auditor')
  async get(@Param('id') id: string, @Query('tenant') tenant: unknown, @CurrentPrincipal() principal: Principal): Promise<JobView> {
    return this.queries.execute(new GetJobQuery(principal, requestedJobRef(principal, id, tenant)));
  }
}
