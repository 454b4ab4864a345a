import { Controller, UseFilters } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { GrpcMethod } from '@nestjs/microservices';
import type { Metadata } from '@grpc/grpc-js';
import { requestedJobRef } from '@signoff/core';
import { approvalMessage, ApprovalMessage } from '../grpc/approval.messages';
import { GrpcAuth } from '../grpc/grpc-auth';
import { GrpcErrorFilter } from '../grpc/grpc-errors';
import { GetApprovalQuery } from './get-approval.query';

/** `signoff.v1.Approvals/GetApproval`: as `GET /approvals/:job_id` (`tenant` '' = not sent); the request is in `request_json`. */
@Controller()
@UseFilters(GrpcErrorFilter)
export class GetApprovalGrpcController {
  constructor(
    private readonly auth: GrpcAuth,
    private readonly queries: QueryBus,
  ) {}

  @GrpcMethod('Approvals', 'GetApproval')
  async get(request: { job_id: string; tenant: string }, metadata: Metadata): Promise<ApprovalMessage> {
    const principal = await this.auth.principal(metadata, ['reviewer', 'admin', 'auditor']);
    return approvalMessage(await this.queries.execute(new GetApprovalQuery(principal, requestedJobRef(principal, request.job_id, request.tenant))));
  }
}
