import { Controller, UseFilters } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { Metadata } from '@grpc/grpc-js';
import { SignoffError } from '@signoff/contracts';
import { globToRegExp } from '@signoff/runtime';
import { filter, map, Observable } from 'rxjs';
import { approvalChangeMessage, ApprovalChangeMessage } from '../grpc/approval.messages';
import { GrpcAuth } from '../grpc/grpc-auth';
import { GrpcErrorFilter } from '../grpc/grpc-errors';
import { PendingApprovalsProjection } from '../projections/pending-approvals.projection';
import { maySeeApproval } from '../shared/job-access';

const TOPIC_GLOB = /^[A-Za-z0-9._*-]{1,200}$/;

/**
 * `signoff.v1.Approvals/WatchApprovals`: a server stream of approval changes (requested,
 * vote_recorded, granted, rejected, expired, invalidated, drifted) from this instance's
 * pending-approvals projection, from the moment of the call on, limited to the caller's tenants
 * and topics (and the optional topic glob). Ends when the client cancels or the instance stops.
 */
@Controller()
@UseFilters(GrpcErrorFilter)
export class WatchApprovalsGrpcController {
  constructor(
    private readonly auth: GrpcAuth,
    private readonly projection: PendingApprovalsProjection,
  ) {}

  @GrpcMethod('Approvals', 'WatchApprovals')
  async watch(request: { topic: string }, metadata: Metadata): Promise<Observable<ApprovalChangeMessage>> {
    const principal = await this.auth.principal(metadata, ['reviewer', 'admin', 'auditor']);
    if (request.topic !== '' && !TOPIC_GLOB.test(request.topic)) {
      throw new SignoffError('invalid_request', 'topic must be a topic or a glob with *', { errors: [{ field: 'topic', message: 'invalid glob' }] });
    }
    const topic = request.topic === '' ? null : globToRegExp(request.topic);
    return this.projection.changes().pipe(
      filter(({ approval, readable }) => (topic === null || topic.test(approval.topic)) && maySeeApproval(principal, readable)),
      map(approvalChangeMessage),
    );
  }
}
