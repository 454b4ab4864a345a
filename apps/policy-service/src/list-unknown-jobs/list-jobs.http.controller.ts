import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ProblemDto, SignoffError } from '@signoff/contracts';
import { CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import { UnknownJobItem, UnknownJobsQuery } from './unknown-jobs.query';

/**
 * `GET /api/v1/jobs?state=UNKNOWN` (admin, auditor): the jobs whose outcome is unknown (a worker
 * lost its lease after the side effect began and before an outcome was recorded), oldest first,
 * for an operator to resolve (`POST /jobs/:id/resolve`). Only `state=UNKNOWN` is listed.
 */
@ApiTags('jobs')
@ApiBearerAuth()
@Controller('jobs')
export class ListJobsHttpController {
  constructor(private readonly unknownJobs: UnknownJobsQuery) {}

  @Get()
  @Roles('admin', 'auditor')
  @ApiQuery({ name: 'state', required: true, enum: ['UNKNOWN'] })
  @ApiResponse({
    status: 200,
    description:
      '{items: [{job_id, topic, tenant, state, idempotency_key, attempt, worker, started_at, reported_by, unknown_reason, unknown_since}], truncated}',
  })
  @ApiResponse({ status: 400, type: ProblemDto, description: 'invalid_request: only state=UNKNOWN is listed' })
  async list(@Query('state') state: unknown, @CurrentPrincipal() principal: Principal): Promise<{ items: UnknownJobItem[]; truncated: boolean }> {
    if (state !== 'UNKNOWN') {
      throw new SignoffError('invalid_request', 'only state=UNKNOWN can be listed', {
        errors: [{ field: 'state', message: 'must be UNKNOWN' }],
      });
    }
    return this.unknownJobs.list(principal);
  }
}
