import 'reflect-metadata';
import { IsIn, IsNotEmpty, IsObject, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ERROR_CODES } from './errors';
import { IsSafeIdentity } from './validation';

/*
 * Bodies of the HTTP routes that are not also a Kafka message (DESIGN section 4); `POST /jobs`
 * shares its body with `signoff.jobs.requested` (messages/job-requested.message.ts).
 */

/** Body of `POST /approvals/:job_id/approve`. */
export class ApproveDto {
  @ApiPropertyOptional({ example: 'validated invoice and policy context' })
  @IsOptional() @IsString() @MaxLength(2000)
  reason?: string;

  @ApiPropertyOptional({ description: 'The snapshot the reviewer looked at; a difference is 409 stale_review' })
  @IsOptional() @IsString() @Matches(/^sha256:[0-9a-f]{64}$/, { message: 'policy_snapshot must be sha256:<64 hex>' })
  policy_snapshot?: string;

  @ApiPropertyOptional({ description: 'The job hash the reviewer looked at; a difference is 409 stale_review' })
  @IsOptional() @IsString() @Matches(/^sha256:[0-9a-f]{64}$/, { message: 'job_hash must be sha256:<64 hex>' })
  job_hash?: string;

  @ApiPropertyOptional({ example: 'alice', description: 'Vote for this reviewer under their delegation to you (chain of at most 3)' })
  @IsOptional() @IsString() @MaxLength(200) @IsSafeIdentity()
  on_behalf_of?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description:
      'Edit before approve: approve this amended request instead of the original. Members `payload` and/or `labels` (labels replace the whole set); ' +
      'topic, priority, tenant, submitted_by and job_id are fixed (400 amendment_field_fixed). Checked as POST /jobs checks a request ' +
      '(400 invalid_request, reserved_label) and evaluated by the active policy (403 amendment_denied, 409 amendment_needs_new_approval).',
    example: { payload: { invoice: 'INV-42', amount: 900 } },
  })
  @IsOptional() @IsObject()
  amended_request?: Record<string, unknown>;
}

/** Body of `POST /approvals/:job_id/reject`. */
export class RejectDto {
  @ApiProperty({ example: 'amount exceeds the invoice' })
  @IsString() @IsNotEmpty() @MaxLength(2000)
  reason!: string;

  @ApiPropertyOptional({ example: 'alice', description: 'Vote for this reviewer under their delegation to you (chain of at most 3)' })
  @IsOptional() @IsString() @MaxLength(200) @IsSafeIdentity()
  on_behalf_of?: string;
}

/** Body of `POST /jobs/:id/resolve` (admin): the operator's decision on a job whose outcome is UNKNOWN. */
export class ResolveJobDto {
  @ApiProperty({ enum: ['succeeded', 'failed'], description: 'What the operator established happened downstream' })
  @IsIn(['succeeded', 'failed'])
  outcome!: 'succeeded' | 'failed';

  @ApiProperty({ example: 'payment provider shows the transfer under the idempotency key' })
  @IsString() @IsNotEmpty() @MaxLength(2000)
  reason!: string;
}

/** The RFC 9457 problem document every error is answered with (for OpenAPI). */
export class ProblemDto {
  @ApiProperty({ example: 'https://signoff.dev/problems/snapshot-changed' }) type!: string;
  @ApiProperty({ example: 'snapshot changed' }) title!: string;
  @ApiProperty({ example: 409 }) status!: number;
  @ApiPropertyOptional() detail?: string;
  @ApiPropertyOptional() instance?: string;
  @ApiProperty({ description: 'Stable machine-readable error code (each response narrows it to the codes it may carry)', enum: Object.keys(ERROR_CODES), example: 'snapshot_changed' })
  code!: string;
}

