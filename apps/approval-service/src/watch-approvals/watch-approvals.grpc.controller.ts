import { Controller, UseFilters } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { GrpcMethod } from '@nestjs/microservices';
import { Metadata, type ServerWritableStream } from '@grpc/grpc-js';
import { map, Observable } from 'rxjs';
import { approvalChangeMessage, ApprovalChangeMessage } from '../grpc/approval.messages';
import { GrpcAuth } from '../grpc/grpc-auth';
import { GrpcErrorFilter } from '../grpc/grpc-errors';
import { liveNow } from './live-now';
import { WatchApprovalsQuery } from './watch-approvals.query';

/**
 * `signoff.v1.Approvals/WatchApprovals`: a server stream of approval changes (requested,
 * vote_recorded, granted, rejected, expired, invalidated, drifted, reminded, escalated) from this instance's
 * pending-approvals projection, limited to the caller's tenants and topics (and the optional topic
 * glob). Ends when the client cancels or the instance stops.
 *
 * Live when the client is told: the change feed is subscribed first, then the (empty) initial
 * metadata is sent, so a client that waits for the metadata (grpc-js: the call's `metadata`
 * event) and then submits a job sees its `requested` change. Without this the headers only left
 * with the first change, and a change made right after opening the call was lost.
 */
@Controller()
@UseFilters(GrpcErrorFilter)
export class WatchApprovalsGrpcController {
  constructor(
    private readonly auth: GrpcAuth,
    private readonly queries: QueryBus,
  ) {}

  @GrpcMethod('Approvals', 'WatchApprovals')
  async watch(request: { topic: string }, metadata: Metadata, call?: ServerWritableStream<unknown, unknown>): Promise<Observable<ApprovalChangeMessage>> {
    const principal = await this.auth.principal(metadata, ['reviewer', 'admin', 'auditor']);
    const changes = await this.queries.execute(new WatchApprovalsQuery(principal, { topic: request.topic }));
    // 1. join the feed (Nest subscribes only after this returns); 2. then say the stream is live.
    const live = liveNow(changes.pipe(map(approvalChangeMessage)));
    call?.sendMetadata(new Metadata());
    return live;
  }
}
