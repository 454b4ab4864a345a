import { Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { SignedTreeHead } from '@signoff/audit-proof';
import { ApiProblems, CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import { queryValue } from './audit-input';
import { AuditEventsPage, AuditEventsQuery } from './audit-events.query';
import { ConsistencyProofQuery, ConsistencyProofView, InclusionProofQuery, InclusionProofView, SignTreeHeadCommand, TreeHeadQuery } from './audit-proofs.query';

@ApiTags('audit')
@Controller('audit')
export class AuditHttpController {
  constructor(
    private readonly queries: QueryBus,
    private readonly commands: CommandBus,
  ) {}

  @Get('tree-head')
  @Roles('auditor', 'admin')
  @ApiOperation({ summary: 'The newest signed tree head {tree_size, root_hash, timestamp, key_id, signature} of the audit Merkle tree' })
  @ApiProblems(['audit_unavailable'], { audit_unavailable: 'no audit tree on this store' })
  treeHead(): Promise<SignedTreeHead> {
    return this.queries.execute(new TreeHeadQuery());
  }

  @Post('tree-head')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({ summary: 'Sign a tree head now (on demand)' })
  @ApiProblems(['audit_unavailable', 'store_unavailable'])
  signTreeHead(): Promise<SignedTreeHead> {
    return this.commands.execute(new SignTreeHeadCommand());
  }

  @Get('events')
  @Roles('auditor', 'admin')
  @ApiOperation({
    summary: "The auditor's questions: domain events as CloudEvents (redacted like signoff.audit), in log order, paged",
    description: 'Filters (all optional, all must hold): actor (exact), tenant, topic (a glob), decision (allowed, denied, approval_required, granted, rejected, expired, invalidated), from / to (ISO 8601, on the event time). At most 5,000 events are scanned per request: a page may be short and still have a next_cursor. tree_head: the newest signed head; prove an item with GET /audit/proof/inclusion?event_id=<id>.',
  })
  @ApiQuery({ name: 'actor', required: false })
  @ApiQuery({ name: 'tenant', required: false })
  @ApiQuery({ name: 'topic', required: false })
  @ApiQuery({ name: 'decision', required: false })
  @ApiQuery({ name: 'from', required: false })
  @ApiQuery({ name: 'to', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'limit', required: false, description: '1 to 1000 (default 100).' })
  @ApiProblems(['invalid_audit_filter', 'invalid_cursor', 'store_unavailable'], { invalid_audit_filter: 'with `parameter`' })
  events(@Query() query: Record<string, unknown>, @CurrentPrincipal() principal: Principal): Promise<AuditEventsPage> {
    const names = ['actor', 'tenant', 'topic', 'decision', 'from', 'to', 'cursor', 'limit'] as const;
    const input = Object.fromEntries(names.filter((n) => query[n] !== undefined).map((n) => [n, queryValue(query, n)]));
    return this.queries.execute(new AuditEventsQuery(principal, input));
  }

  @Get('proof/inclusion')
  @Roles('auditor', 'admin')
  @ApiOperation({ summary: "An event's leaf hash and RFC 9162 audit path to a signed tree head (hashes only)" })
  @ApiQuery({ name: 'event_id', required: true })
  @ApiQuery({ name: 'tree_size', required: false, description: 'A signed head size above the leaf index (default: the newest head covering the event).' })
  @ApiProblems(['invalid_event_id', 'invalid_tree_size', 'not_found', 'audit_unavailable'], {
    not_found: 'no such event in the log (the tree has read all of it as of the request), or of a tenant the caller may not see',
    audit_unavailable: 'no audit tree on this store, or the tree is still reading the log (reason tree_catching_up / tree_stalled, Retry-After)',
  })
  inclusion(@Query() query: Record<string, unknown>, @CurrentPrincipal() principal: Principal): Promise<InclusionProofView> {
    return this.queries.execute(new InclusionProofQuery(principal, { event_id: queryValue(query, 'event_id'), tree_size: queryValue(query, 'tree_size') }));
  }

  @Get('proof/consistency')
  @Roles('auditor', 'admin')
  @ApiOperation({ summary: 'RFC 9162 consistency proof: the tree of `from` leaves is a prefix of the tree of `to` leaves' })
  @ApiQuery({ name: 'from', required: true })
  @ApiQuery({ name: 'to', required: false, description: 'Default: the newest signed head.' })
  @ApiProblems(['invalid_tree_size', 'audit_unavailable'])
  consistency(@Query() query: Record<string, unknown>): Promise<ConsistencyProofView> {
    return this.queries.execute(new ConsistencyProofQuery({ from: queryValue(query, 'from'), to: queryValue(query, 'to') }));
  }
}
