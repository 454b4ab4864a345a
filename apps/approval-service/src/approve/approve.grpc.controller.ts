import { Controller, UseFilters } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { GrpcMethod } from '@nestjs/microservices';
import type { Metadata } from '@grpc/grpc-js';
import { ApproveDto, SignoffError } from '@signoff/contracts';
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
  /** Edit before approve: `amended_request` as JSON text ('' = none). */
  amended_request_json: string;
}

/** The longest `amended_request_json` read (the HTTP body limit). */
const MAX_AMENDED_REQUEST_JSON = 1024 * 1024;

/** `amended_request_json` as the HTTP body's `amended_request` member, or undefined when not sent. */
function amendedRequestOf(json: string | undefined): unknown {
  if (json === undefined || json === '') return undefined;
  if (json.length > MAX_AMENDED_REQUEST_JSON) throw new SignoffError('payload_too_large', `amended_request_json exceeds ${MAX_AMENDED_REQUEST_JSON} characters`);
  try {
    return JSON.parse(json) as unknown;
  } catch {
    throw new SignoffError('invalid_request', 'the approval is invalid', { errors: [{ field: 'amended_request_json', message: 'amended_request_json must be JSON text' }] });
  }
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
      Object.entries({
        reason: request.reason,
        policy_snapshot: request.policy_snapshot,
        job_hash: request.job_hash,
        on_behalf_of: request.on_behalf_of,
        amended_request: amendedRequestOf(request.amended_request_json),
      }).filter(
        ([, v]) => v !== '' && v !== undefined,
      ),
    );
    const input = validateBody(ApproveDto, body, 'approval');
    const outcome = await this.commands.execute(new ApproveCommand(principal, requestedJobRef(principal, request.job_id, request.tenant), input));
    return { ...outcome };
  }
}
