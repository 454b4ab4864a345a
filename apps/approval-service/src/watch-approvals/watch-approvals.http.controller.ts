import type { ServerResponse } from 'node:http';
import { Controller, Get, Headers, Inject, Query, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiProduces, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ProblemDto } from '@signoff/contracts';
import { CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import { ApprovalChange } from '../projections/approval-summary';
import {
  APPROVAL_MODULE_OPTIONS,
  ApprovalModuleOptions,
  DEFAULT_SSE_HEARTBEAT_MS,
  DEFAULT_SSE_MAX_BUFFERED_BYTES,
  DEFAULT_SSE_SLOW_CLIENT_GRACE_MS,
} from '../shared/approval-options';
import { WatchApprovalsQuery } from './watch-approvals.query';

/** One Server-Sent Event: `id:` (the resumable change id), `event:` (the kind), `data:` (JSON, one line). */
function sseEvent(change: ApprovalChange): string {
  return `id: ${change.id}\nevent: ${change.kind}\ndata: ${JSON.stringify({ kind: change.kind, at: change.at, approval: change.approval })}\n\n`;
}

/**
 * `GET /api/v1/approvals/stream`: the WatchApprovals changes as Server-Sent Events, for any HTTP
 * client (the console's EventSource, curl). Written by hand on the raw response (`reply.hijack()`):
 * Nest's `@Sse` would subscribe only after the headers are out and has no per-connection bound.
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
@ApiBearerAuth()
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
  @ApiResponse({ status: 400, type: ProblemDto, description: 'invalid_request (bad topic glob); invalid_last_event_id (malformed or no longer retained: reload the list, reconnect without it)' })
  async stream(
    @Query('topic') topic: unknown,
    @Headers('last-event-id') lastEventId: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const changes = await this.queries.execute(
      new WatchApprovalsQuery(principal, { topic: typeof topic === 'string' ? topic : undefined, after: lastEventId?.trim() || undefined }),
    );
    reply.hijack();
    const raw: ServerResponse = reply.raw;
    // Headers set by hooks so far (request id ...) go out too; the onSend hooks do not run once hijacked.
    raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    let overBound: NodeJS.Timeout | undefined;
    const write = (chunk: string): void => {
      if (raw.destroyed || raw.writableEnded) return;
      raw.write(chunk);
      // Bounded: what the client leaves unread stays in this response's buffer. Past the bound it
      // has the grace to drain (a replay is written in one go); still past it then, it is cut.

      if (raw.writableLength > this.maxBufferedBytes && overBound === undefined) {
        overBound = setTimeout(() => {
          if (raw.writableLength > this.maxBufferedBytes) raw.destroy();
          overBound = undefined;
        }, this.slowClientGraceMs);
      }
    };
    raw.on('drain', () => {
      clearTimeout(overBound);
      overBound = undefined;
    });
    // 2. subscribe (the replay is written synchronously here, behind the pending headers) ...
    const subscription = changes.subscribe({
      next: (change) => write(sseEvent(change)),
      error: () => raw.destroy(),
      complete: () => {
        if (!raw.destroyed) raw.end();
      },
    });
    // 3. ... then flush the headers: the stream is live from the moment the client sees them.
    raw.flushHeaders();
    write(': live\n\n');
    const heartbeat = setInterval(() => write(': heartbeat\n\n'), this.heartbeatMs);
    raw.once('close', () => {
      clearInterval(heartbeat);
      clearTimeout(overBound);
      subscription.unsubscribe();
    });
  }
}
