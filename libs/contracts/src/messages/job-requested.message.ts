import 'reflect-metadata';
import { IsNotEmpty, IsObject, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { SignoffError } from '../errors';
import { HEADERS } from '../topics';
import { ID_PATTERN, IsSafeIdentity, TOPIC_PATTERN } from '../validation';
import type { MessageRecord } from './message-record';

/**
 * `signoff.jobs.requested` (DESIGN section 6): job requests from upstream, the same body as
 * `POST /jobs`, key = job_id, the submitter's credential in the `authorization` header. Produced
 * outside Signoff (agents, automation); consumed by the policy service's Kafka ingress
 * (`JobRequestedMessageController`), which validates it with {@link SubmitJobDto} as the HTTP
 * route does. Refused messages go to `signoff.jobs.requested.dlq`.
 */

/** Version of the `signoff.jobs.requested` value described here (not on the wire). */
export const JOB_REQUESTED_MESSAGE_VERSION = 1;

/** The value of a `signoff.jobs.requested` message, which is also the body of `POST /jobs`. */
export interface JobRequestedMessage {
  readonly job_id?: string;
  readonly topic: string;
  readonly priority?: string;
  readonly tenant?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly payload?: unknown;
  /** Kafka ingress only: with a credential it must be the credential's subject; without one (trusted network only) it names the submitter. */
  readonly submitted_by?: string;
}

/** Body of `POST /jobs` and value of `signoff.jobs.requested` (DESIGN sections 4 and 6). */
export class SubmitJobDto {
  @ApiPropertyOptional({ description: 'Client-chosen id (idempotency key of the submission); generated when absent', example: 'inv-2026-0042' })
  @IsOptional() @IsString() @Matches(ID_PATTERN, { message: 'job_id must be 1-200 characters of A-Z a-z 0-9 . _ : @ - /' })
  job_id?: string;

  @ApiProperty({ description: 'What the job does; policies match on it', example: 'finance.payment.execute' })
  @IsString() @IsNotEmpty() @Matches(TOPIC_PATTERN, { message: 'topic must be 1-200 characters of letters, digits, . _ -' })
  topic!: string;

  @ApiPropertyOptional({ default: 'normal', example: 'high' })
  @IsOptional() @IsString() @MaxLength(32)
  priority?: string;

  @ApiPropertyOptional({ default: 'default', example: 'acme' })
  @IsOptional() @IsString() @Matches(ID_PATTERN, { message: 'tenant must be 1-200 characters of A-Z a-z 0-9 . _ : @ - /' })
  tenant?: string;

  /** Free-form string labels; `approval_*` and `signoff.*` are reserved. */
  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' }, description: 'String labels; names approval_* and signoff.* are reserved', example: { env: 'production' } })
  @IsOptional() @IsObject()
  labels?: Record<string, string>;

  @ApiPropertyOptional({ description: 'Any JSON value (at most 1 MiB, 32 levels deep)', example: { invoice: 'INV-42', amount: 1200 } })
  @IsOptional()
  payload?: unknown;

  /** Only on Kafka ingress: who submitted (HTTP takes the token's subject). */
  @ApiPropertyOptional({ description: 'Kafka ingress only; over HTTP the token subject is the submitter' })
  @IsOptional() @IsString() @MaxLength(200) @IsSafeIdentity()
  submitted_by?: string;
}


/** The DTO of a `signoff.jobs.requested` value: the body of `POST /jobs`. */
export const JobRequestedMessageDto = SubmitJobDto;
export type JobRequestedMessageDto = SubmitJobDto;

/**
 * A `signoff.jobs.requested` record for an upstream producer: key = the job id (so one job stays
 * on one partition), the request as the value and, when given, the submitter's credential as
 * `authorization: Bearer <JWT>`.
 */
export function jobRequestedMessage(request: JobRequestedMessage & { readonly job_id: string }, credential?: string): MessageRecord<JobRequestedMessage> {
  return { key: request.job_id, value: request, headers: credential === undefined ? {} : { [HEADERS.authorization]: `Bearer ${credential}` } };
}

/**
 * The request a `signoff.jobs.requested` value makes, before {@link SubmitJobDto} validates it
 * with the rest of the submission: the value's members, with the message key as `job_id` when the
 * value names none (key = job_id, DESIGN section 6). Throws `invalid_request` when the value is
 * not a JSON object or its `job_id` differs from the key.
 */
export function jobRequestOf(value: unknown, key: string | null): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SignoffError('invalid_request', 'the message value is not a JSON object');
  }
  const body = { ...(value as Record<string, unknown>) };
  if (body.job_id === undefined && key) body.job_id = key;
  else if (key && body.job_id !== key) {
    throw new SignoffError('invalid_request', `job_id ${String(body.job_id)} differs from the message key ${key}`);
  }
  return body;
}
