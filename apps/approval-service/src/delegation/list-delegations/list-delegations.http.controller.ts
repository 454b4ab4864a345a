import { Controller, Get, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiProblems, CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import type { DelegationView } from '../shared/delegations.projection';
import { ListDelegationsQuery } from './list-delegations.query';

const one = (value: unknown): string | undefined => (typeof value === 'string' ? value : Array.isArray(value) && typeof value[0] === 'string' ? value[0] : undefined);

@ApiTags('delegations')
@Controller('delegations')
export class ListDelegationsHttpController {
  constructor(private readonly queries: QueryBus) {}

  @Get()
  @Roles('reviewer', 'admin', 'auditor')
  @ApiOperation({ summary: 'My delegations (given and received), or with `tenant` all of a tenant (admin, auditor)' })
  @ApiQuery({ name: 'tenant', required: false })
  @ApiQuery({ name: 'status', required: false, enum: ['scheduled', 'active', 'ended', 'revoked'] })
  @ApiResponse({ status: 200, description: '{items, truncated}, newest first' })
  @ApiProblems(['invalid_request', 'forbidden', 'store_unavailable'], { forbidden: '`tenant` without the admin or auditor role' })
  async list(@Query() query: Record<string, unknown>, @CurrentPrincipal() principal: Principal): Promise<{ items: DelegationView[]; truncated: boolean }> {
    const tenant = one(query.tenant);
    const status = one(query.status);
    return this.queries.execute(new ListDelegationsQuery(principal, { ...(tenant !== undefined ? { tenant } : {}), ...(status !== undefined ? { status } : {}) }));
  }
}
