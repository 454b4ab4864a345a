import { Controller, Get, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ApiProblems, CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import { ApprovalListItem, toListItem } from '../projections/approval-summary';
import { ApprovalPageDoc } from '../shared/approvals.openapi';
import { ListApprovalsQuery, MAX_PAGE_SIZE } from './list-approvals.query';

@ApiTags('approvals')
@Controller('approvals')
export class ListApprovalsHttpController {
  constructor(private readonly queries: QueryBus) {}

  @Get()
  @Roles('reviewer', 'admin', 'auditor')
  @ApiOperation({ summary: 'Open approvals, oldest first', description: 'Only what the caller may read: its tenants; for a reviewer its topics (admins and auditors see every topic). Items name their `tenant`.' })
  @ApiQuery({ name: 'state', required: false, enum: ['pending'] })
  @ApiQuery({ name: 'topic', required: false, description: 'A topic or a glob (`finance.*`).' })
  @ApiQuery({ name: 'tenant', required: false, description: 'Only this tenant (default: every tenant of the token).' })
  @ApiQuery({ name: 'cursor', required: false, description: 'The `next_cursor` of the previous page.' })
  @ApiQuery({ name: 'limit', required: false, description: `Page size, 1 to ${MAX_PAGE_SIZE} (default 50).` })
  @ApiQuery({ name: 'rule', required: false, description: 'Only this rule id.' })
  @ApiQuery({ name: 'drifted', required: false, enum: ['true', 'false'] })
  @ApiQuery({ name: 'expires_within', required: false, description: 'Only approvals expiring within this many seconds.' })
  @ApiOkResponse({ type: ApprovalPageDoc })
  @ApiProblems(['invalid_request'], { invalid_request: 'unknown state, bad topic glob, limit or cursor' })
  async list(@Query() query: Record<string, unknown>, @CurrentPrincipal() principal: Principal): Promise<{ items: ApprovalListItem[]; next_cursor: string | null }> {
    const one = (name: string): string | undefined => {
      const value = query[name];
      return typeof value === 'string' ? value : Array.isArray(value) && typeof value[0] === 'string' ? value[0] : undefined;
    };
    const page = await this.queries.execute(
      new ListApprovalsQuery(principal, { state: one('state'), topic: one('topic'), tenant: one('tenant'), cursor: one('cursor'), limit: one('limit'), rule: one('rule'), drifted: one('drifted'), expires_within: one('expires_within') }),
    );
    return { items: page.items.map(toListItem), next_cursor: page.next_cursor };
  }
}
