import { Controller, UseFilters } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { GrpcMethod } from '@nestjs/microservices';
import type { Metadata } from '@grpc/grpc-js';
import { ApproveDto } from '@signoff/contracts';
import { requestedJobRef } from '@signoff/core';
import { GrpcAuth } from '../grpc/grpc-auth';
import { GrpcErrorFilter } from '../grpc/grpc-errors';
import { validateBody } from '../shared/validate-body';
import { ApproveCommand } from './approve.command';

interface ApproveRequest {
  job_id: string;
  reason: string;
  policy_snapshot: string;
  job_hash: string;
  tenant: string;
  on_behalf_of?: string;
}

/** `signoff.v1.Approvals/Approve`: as `POST /approvals/:job_id/approve`; already_approved is OK with its status. */
@Controller()
@UseFilters(GrpcErrorFilter)
export class ApproveGrpcController {
  constructor(
    private readonly auth: GrpcAuth,
    private readonly commands: CommandBus,
  ) {}

  @GrpcMethod('Approvals', 'Approve')
  async approve(request: ApproveRequest, metadata: Metadata): Promise<Record<string, unknown>> {
    const principal = await this.auth.principal(metadata, ['reviewer']);
    // proto3 strings are '' when not sent: '' means absent here.
    const body = Object.fromEntries(
      Object.entries({ reason: request.reason, policy_snapshot: request.policy_snapshot, job_hash: request.job_hash, on_behalf_of: request.on_behalf_of }).filter(
        ([, v]) => v !== '' && v !== undefined,
      ),
    );
    const input = validateBody(ApproveDto, body, 'approval');
    const outcome = await this.commands.execute(new ApproveCommand(principal, requestedJobRef(principal, request.job_id, request.tenant), input));
    return { ...outcome };
  }
}
