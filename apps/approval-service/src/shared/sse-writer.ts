import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { Observable } from 'rxjs';
import type { ApprovalChange } from '../projections/approval-summary';

/** One Server-Sent Event: `id:` (the resumable change id), `event:` (the kind), `data:` (JSON, one line). */
export function sseEvent(change: ApprovalChange): string {
  return `id: ${change.id}\nevent: ${change.kind}\ndata: ${JSON.stringify({ kind: change.kind, at: change.at, approval: change.approval })}\n\n`;
}

export interface SseWriterOptions {
  readonly heartbeatMs: number;
  readonly maxBufferedBytes: number;
  readonly slowClientGraceMs: number;
  /** More response headers (the console's security headers). */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Writes the (already filtered) approval changes to `reply` as Server-Sent Events until the client
 * goes or the feed completes: the one SSE writer of `GET /api/v1/approvals/stream` and the
 * console's `GET /console/stream`. Written on the raw response (`reply.hijack()`): Nest's `@Sse`
 * would subscribe only after the headers are out and has no per-connection bound.
 *
 * Order matters for "live when told": the feed is subscribed first (a `Last-Event-ID` replay is
 * written synchronously, behind the pending headers), only then are the headers flushed, so a
 * client that saw the headers and then submits a job sees its `requested` change.
 *
 * A heartbeat comment every `heartbeatMs` keeps proxies from cutting an idle stream. A client that
 * leaves more than `maxBufferedBytes` unread for longer than `slowClientGraceMs` is disconnected
 * (it resumes with `Last-Event-ID`); writes never wait for a client, so it never holds back the
 * projection or other clients.
 */
export function writeApprovalChanges(reply: FastifyReply, changes: Observable<ApprovalChange>, options: SseWriterOptions): void {
  reply.hijack();
  const raw: ServerResponse = reply.raw;
  // Headers set by hooks so far (request id ...) go out too; the onSend hooks do not run once hijacked.
  raw.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    ...options.headers,
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
    if (raw.writableLength > options.maxBufferedBytes && overBound === undefined) {
      overBound = setTimeout(() => {
        if (raw.writableLength > options.maxBufferedBytes) raw.destroy();
        overBound = undefined;
      }, options.slowClientGraceMs);
    }
  };
  raw.on('drain', () => {
    clearTimeout(overBound);
    overBound = undefined;
  });
  // 1. subscribe (the replay is written synchronously here, behind the pending headers) ...
  const subscription = changes.subscribe({
    next: (change) => write(sseEvent(change)),
    error: () => raw.destroy(),
    complete: () => {
      if (!raw.destroyed) raw.end();
    },
  });
  // 2. ... then flush the headers: the stream is live from the moment the client sees them.
  raw.flushHeaders();
  write(': live\n\n');
  const heartbeat = setInterval(() => write(': heartbeat\n\n'), options.heartbeatMs);
  raw.once('close', () => {
    clearInterval(heartbeat);
    clearTimeout(overBound);
    subscription.unsubscribe();
  });
}
