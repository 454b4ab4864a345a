import { Controller, Get, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { FieldError, ID_PATTERN, SignoffError } from '@signoff/contracts';
import { ApiProblems, CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import { UnknownJobsPage, UnknownJobsQuery } from './unknown-jobs.query';

/**
 * `GET /api/v1/jobs?state=UNKNOWN` (admin, auditor): the jobs whose outcome is unknown (a worker
 * lost its lease after the side effect began and before an outcome was recorded), oldest first,
 * for an operator to resolve (`POST /jobs/:id/resolve?tenant=`). Only `state=UNKNOWN` is listed;
 * only jobs the caller may read (its tenants), optionally those of one `tenant`. Items name their
 * `tenant`.
 */
@ApiTags('jobs')
@Controller('jobs')
export class ListJobsHttpController {
  constructor(private readonly queries: QueryBus) {}

  @Get()
  @Roles('admin', 'auditor')
  @ApiQuery({ name: 'state', required: true, enum: ['UNKNOWN'] })
  @ApiQuery({ name: 'tenant', required: false, description: 'Only this tenant (default: every tenant of the token).' })
  @ApiResponse({
    status: 200,
    description:
      '{items: [{job_id, topic, tenant, state, idempotency_key, attempt, worker, started_at, reported_by, unknown_reason, unknown_since}], truncated}',
  })
  @ApiProblems(['invalid_request', 'store_unavailable'], { invalid_request: 'only state=UNKNOWN is listed; tenant must be a tenant id' })
  async list(
    @Query('state') state: unknown,
    @Query('tenant') tenant: unknown,
    @CurrentPrincipal() principal: Principal,
  ): Promise<UnknownJobsPage> {
    const errors: FieldError[] = [];
    if (state !== 'UNKNOWN') errors.push({ field: 'state', message: 'must be UNKNOWN' });
    const only = tenant === undefined || tenant === '' ? undefined : tenant;
    if (only !== undefined && (typeof only !== 'string' || !ID_PATTERN.test(only))) errors.push({ field: 'tenant', message: 'tenant must be a tenant id' });
    if (errors.length > 0) throw new SignoffError('invalid_request', 'the job query is invalid (only state=UNKNOWN can be listed)', { errors });
    return this.queries.execute(new UnknownJobsQuery(principal, only as string | undefined));
  }
}
