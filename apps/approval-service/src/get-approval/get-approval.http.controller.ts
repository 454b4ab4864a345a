import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ProblemDto } from '@signoff/contracts';
import { CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import { ApprovalDetailDoc } from '../shared/approvals.openapi';
import { ApprovalDetail, GetApprovalQuery } from './get-approval.query';

@ApiTags('approvals')
@ApiBearerAuth()
@Controller('approvals')
export class GetApprovalHttpController {
  constructor(private readonly query: GetApprovalQuery) {}

  @Get(':job_id')
  @Roles('reviewer', 'admin', 'auditor')
  @ApiOperation({ summary: 'An approval with the job request it is bound to (evidence for the reviewer)' })
  @ApiOkResponse({ type: ApprovalDetailDoc })
  @ApiResponse({ status: 404, type: ProblemDto, description: "not_found (missing, another tenant's, or a job that needed no approval)" })
  get(@Param('job_id') jobId: string, @CurrentPrincipal() principal: Principal): Promise<ApprovalDetail> {
    return this.query.get(principal, jobId);
  }
}
