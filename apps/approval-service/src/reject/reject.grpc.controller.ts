import { Controller, UseFilters } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { GrpcMethod } from '@nestjs/microservices';
import type { Metadata } from '@grpc/grpc-js';
import { RejectDto } from '@signoff/contracts';
import { requestedJobRef } from '@signoff/core';
import { GrpcAuth } from '../grpc/grpc-auth';
import { GrpcErrorFilter } from '../grpc/grpc-errors';
import { validateBody } from '../shared/validate-body';
import { RejectCommand } from './reject.command';

interface RejectRequest {
  job_id: string;
  reason: string;
  tenant: string;
  on_behalf_of?: string;
}

/** `signoff.v1.Approvals/Reject`: as `POST /approvals/:job_id/reject` (a reason is required: INVALID_ARGUMENT). */
@Controller()
@UseFilters(GrpcErrorFilter)
export class RejectGrpcController {
  constructor(
    private readonly auth: GrpcAuth,
    private readonly commands: CommandBus,
  ) {}

  @GrpcMethod('Approvals', 'Reject')
  async reject(request: RejectRequest, metadata: Metadata): Promise<Record<string, unknown>> {
    const principal = await this.auth.principal(metadata, ['reviewer']);
    // proto3 strings are '' when not sent: '' means absent here.
    const body = Object.fromEntries(Object.entries({ reason: request.reason, on_behalf_of: request.on_behalf_of }).filter(([, v]) => v !== '' && v !== undefined));
    const input = validateBody(RejectDto, body, 'rejection');
    const outcome = await this.commands.execute(new RejectCommand(principal, requestedJobRef(principal, request.job_id, request.tenant), input));
    return { ...outcome };
  }
}
