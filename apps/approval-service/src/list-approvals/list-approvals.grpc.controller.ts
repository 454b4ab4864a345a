import { Controller, UseFilters } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { GrpcMethod } from '@nestjs/microservices';
import type { Metadata } from '@grpc/grpc-js';
import { approvalMessage, ApprovalMessage } from '../grpc/approval.messages';
import { GrpcAuth } from '../grpc/grpc-auth';
import { GrpcErrorFilter } from '../grpc/grpc-errors';
import { ListApprovalsQuery } from './list-approvals.query';

interface ListApprovalsRequest {
  state: string;
  topic: string;
  tenant: string;
  cursor: string;
  limit: number;
}

/** `signoff.v1.Approvals/ListApprovals`: as `GET /approvals` (next_cursor '' on the last page). */
@Controller()
@UseFilters(GrpcErrorFilter)
export class ListApprovalsGrpcController {
  constructor(
    private readonly auth: GrpcAuth,
    private readonly queries: QueryBus,
  ) {}

  @GrpcMethod('Approvals', 'ListApprovals')
  async list(request: ListApprovalsRequest, metadata: Metadata): Promise<{ items: ApprovalMessage[]; next_cursor: string }> {
    const principal = await this.auth.principal(metadata, ['reviewer', 'admin', 'auditor']);
    const page = await this.queries.execute(new ListApprovalsQuery(principal, request));
    return { items: page.items.map(approvalMessage), next_cursor: page.next_cursor ?? '' };
  }
}
