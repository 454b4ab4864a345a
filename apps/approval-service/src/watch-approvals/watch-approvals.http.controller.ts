import { Controller, Get, Headers, Inject, Query, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiHeader, ApiOperation, ApiProduces, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiProblems, CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import {
  APPROVAL_MODULE_OPTIONS,
  ApprovalModuleOptions,
  DEFAULT_SSE_HEARTBEAT_MS,
  DEFAULT_SSE_MAX_BUFFERED_BYTES,
  DEFAULT_SSE_SLOW_CLIENT_GRACE_MS,
} from '../shared/approval-options';
import { writeApprovalChanges } from '../shared/sse-writer';
import { WatchApprovalsQuery } from './watch-approvals.query';

/**
 * `GET /api/v1/approvals/stream`: the WatchApprovals changes as Server-Sent Events, for any HTTP
 * client (curl, any EventSource; the console has its own cookie-authenticated route). Written by
 * the shared SSE writer (`writeApprovalChanges`) on the raw response.
 *
 * Order matters for "live when told": 1. the query answers the filtered feed (refusals are
 * problem+json, nothing is written yet); 2. the feed is subscribed (with `Last-Event-ID`, the
 * retained changes after it come first); 3. only then are the headers flushed. A client that saw
 * the headers and then submits a job sees its `requested` change.
 *
 * A heartbeat comment every `sseHeartbeatMs` keeps proxies from cutting an idle stream. A client
 * that leaves more than `sseMaxBufferedBytes` unread for longer than `sseSlowClientGraceMs` is
 * disconnected (it resumes with `Last-Event-ID`); writes never wait for a client, so it never
 * holds back the projection or other clients.
 */
@ApiTags('approvals')
@Controller('approvals')
export class WatchApprovalsHttpController {
  private readonly heartbeatMs: number;
  private readonly maxBufferedBytes: number;
  private readonly slowClientGraceMs: number;

  constructor(
    private readonly queries: QueryBus,
    @Inject(APPROVAL_MODULE_OPTIONS) options: ApprovalModuleOptions,
  ) {
    this.heartbeatMs = options.sseHeartbeatMs ?? DEFAULT_SSE_HEARTBEAT_MS;
    this.maxBufferedBytes = options.sseMaxBufferedBytes ?? DEFAULT_SSE_MAX_BUFFERED_BYTES;
    this.slowClientGraceMs = options.sseSlowClientGraceMs ?? DEFAULT_SSE_SLOW_CLIENT_GRACE_MS;
  }

  @Get('stream')
  @Roles('reviewer', 'admin', 'auditor')
  @ApiOperation({
    summary: 'Approval changes as Server-Sent Events (requested, vote_recorded, granted, rejected, expired, invalidated, drifted, reminded, escalated)',
    description:
      'Only what the caller may read (the rules of the list). Each event has an `id:`; reconnect with `Last-Event-ID` to get every change after it, once. `: heartbeat` comments every 15 s.',
  })
  @ApiProduces('text/event-stream')
  @ApiQuery({ name: 'topic', required: false, description: 'A topic or a glob (`finance.*`).' })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'The `id:` of the last event received: resume after it.' })
  @ApiResponse({ status: 200, description: 'text/event-stream' })
  @ApiProblems(['invalid_request', 'invalid_last_event_id'], {
    invalid_request: 'bad topic glob',
    invalid_last_event_id: 'malformed or no longer retained: reload the list, reconnect without it',
  })
  async stream(
    @Query('topic') topic: unknown,
    @Headers('last-event-id') lastEventId: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const changes = await this.queries.execute(
      new WatchApprovalsQuery(principal, { topic: typeof topic === 'string' ? topic : undefined, after: lastEventId?.trim() || undefined }),
    );
    writeApprovalChanges(reply, changes, { heartbeatMs: this.heartbeatMs, maxBufferedBytes: this.maxBufferedBytes, slowClientGraceMs: this.slowClientGraceMs });
  }
}
