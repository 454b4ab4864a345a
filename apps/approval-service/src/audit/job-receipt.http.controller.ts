import { Controller, Get, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { DecisionReceipt } from '@signoff/audit-proof';
import { requestedJobRef } from '@signoff/core';
import { ApiProblems, CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import { JobReceiptQuery } from './job-receipt.query';

@ApiTags('jobs')
@Controller('jobs')
export class JobReceiptHttpController {
  constructor(private readonly queries: QueryBus) {}

  @Get(':id/receipt')
  @Roles('submitter', 'reviewer', 'admin', 'auditor')
  @ApiOperation({
    summary: "The signed receipt of a job's latest decision",
    description: 'Detached Ed25519 signature (key_id of /.well-known/jwks.json) over the canonical JSON of `receipt` plus `key_id`; `inclusion` proves the deciding event is leaf `log_index` of a signed tree head. Verify offline: `npm run cli -- receipt verify FILE --jwks jwks.json`.',
  })
  @ApiQuery({ name: 'tenant', required: false })
  @ApiProblems(['not_found', 'no_decision', 'not_yet_logged', 'store_unavailable'], {
    no_decision: 'awaiting reviewers',
    not_yet_logged: 'retry after Retry-After',
  })
  receipt(@Param('id') jobId: string, @Query('tenant') tenant: unknown, @CurrentPrincipal() principal: Principal): Promise<DecisionReceipt> {
    return this.queries.execute(new JobReceiptQuery(principal, requestedJobRef(principal, jobId, tenant)));
  }
}
