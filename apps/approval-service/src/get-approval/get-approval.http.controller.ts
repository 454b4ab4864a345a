import { Controller, Get, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { requestedJobRef } from '@signoff/core';
import { ApiProblems, CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import { ApprovalDetailDoc } from '../shared/approvals.openapi';
import { ApprovalDetail, GetApprovalQuery } from './get-approval.query';

@ApiTags('approvals')
@Controller('approvals')
export class GetApprovalHttpController {
  constructor(private readonly queries: QueryBus) {}

  @Get(':job_id')
  @Roles('reviewer', 'admin', 'auditor')
  @ApiOperation({ summary: 'An approval with the job request it is bound to (evidence for the reviewer)' })
  @ApiQuery({ name: 'tenant', required: false, description: "The job's tenant; default: the token's only tenant, else `default`." })
  @ApiOkResponse({ type: ApprovalDetailDoc })
  @ApiProblems(['not_found', 'store_unavailable', 'policy_unavailable'], {
    not_found: "missing, another tenant's, outside a reviewer's topics, or a job that needed no approval",
    policy_unavailable: 'no active policy known yet',
  })
  get(@Param('job_id') jobId: string, @Query('tenant') tenant: unknown, @CurrentPrincipal() principal: Principal): Promise<ApprovalDetail> {
    return this.queries.execute(new GetApprovalQuery(principal, requestedJobRef(principal, jobId, tenant)));
  }
}
