import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { RejectJobOutcome } from '@signoff/approvals';
import { ProblemDto, RejectDto } from '@signoff/contracts';
import { CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import { RejectAnswerDoc } from '../shared/approvals.openapi';
import { validateBody } from '../shared/validate-body';
import { RejectHandler } from './reject.handler';

@ApiTags('approvals')
@ApiBearerAuth()
@Controller('approvals')
export class RejectHttpController {
  constructor(private readonly handler: RejectHandler) {}

  @Post(':job_id/reject')
  @HttpCode(200)
  @Roles('reviewer')
  @ApiOperation({
    summary: 'Reject a job (idempotent; one eligible reviewer is a veto)',
  })
  @ApiBody({ type: RejectDto })
  @ApiOkResponse({ type: RejectAnswerDoc, description: 'rejected or already_rejected' })
  @ApiResponse({ status: 400, type: ProblemDto, description: 'invalid_request: a reason is required' })
  @ApiResponse({ status: 403, type: ProblemDto, description: 'forbidden, self_approval_forbidden' })
  @ApiResponse({ status: 404, type: ProblemDto, description: 'not_found' })
  @ApiResponse({ status: 409, type: ProblemDto, description: 'already_approved, expired, invalidated, not_awaiting_approval' })
  @ApiResponse({ status: 503, type: ProblemDto, description: 'busy or store_unavailable, with Retry-After' })
  async reject(@Param('job_id') jobId: string, @Body() body: unknown, @CurrentPrincipal() principal: Principal): Promise<RejectJobOutcome> {
    return this.handler.reject(principal, jobId, validateBody(RejectDto, body, 'rejection'));
  }
}
