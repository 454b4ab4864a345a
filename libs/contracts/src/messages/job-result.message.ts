import 'reflect-metadata';
import { IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Matches, MaxLength, Min } from 'class-validator';
import { HEADERS } from '../topics';
import { SignoffError } from '../errors';
import { ID_PATTERN, IsSafeIdentity, validateMessage } from '../validation';
import type { MessageRecord } from './message-record';

/**
 * `signoff.jobs.results` (DESIGN sections 6 and 12): workers' reports, key = job_id, the
 * worker's credential in the `authorization` header. Produced by @signoff/worker-sdk (through
 * {@link jobResultMessage}); consumed by the dispatch service (`JobResultsMessageController`,
 * through {@link jobResultOf}, which validates it with {@link JobResultMessageDto}). Refused
 * reports go to `signoff.jobs.results.dlq`.
 */

/** Version of the `signoff.jobs.results` value described here (not on the wire). */
export const JOB_RESULT_MESSAGE_VERSION = 1;

/** The `status` of a worker's report; `unknown`: the lease was lost without a recorded outcome (see the worker SDK). */
export const JOB_RESULT_STATUSES = ['started', 'succeeded', 'failed', 'unknown'] as const;
export type JobResultStatus = (typeof JOB_RESULT_STATUSES)[number];

/**
 * Value of `signoff.jobs.results` (DESIGN section 6), plus `attempt`: the dispatch attempt the
 * worker received (a report for an attempt the job's stream never recorded is refused), and
 * `tenant`: the tenant of the dispatch the worker ran (job ids are scoped by tenant; absent =
 * `default`, as in reports of older workers). The worker's credential travels in the
 * `authorization` header, never in the value.
 */
export class JobResultMessageDto {
  @IsString() @IsNotEmpty() job_id!: string;
  @IsOptional() @IsString() @Matches(ID_PATTERN, { message: 'tenant must be 1-200 characters of A-Z a-z 0-9 . _ : @ - /' })
  tenant?: string;
  @IsString() @IsNotEmpty() idempotency_key!: string;
  @IsInt() @Min(1) attempt!: number;
  @IsIn(JOB_RESULT_STATUSES) status!: JobResultStatus;
  /** The run counter of the claim the report is about (grows with every takeover). */
  @IsOptional() @IsInt() @Min(1) fencing_token?: number;
  @IsOptional() result?: unknown;
  @IsOptional() @IsString() error?: string;
  @IsOptional() @IsString() @MaxLength(200) @IsSafeIdentity() worker?: string;
}


/** What a report says happened. */
export type JobResultOutcome =
  | { readonly status: 'started' }
  | { readonly status: 'succeeded' | 'failed'; readonly result?: unknown; readonly error?: string }
  | { readonly status: 'unknown'; readonly error: string; readonly fencing_token: number };

/** The dispatch a report is about, as the worker received it. */
export interface ReportedDispatch {
  readonly job_id: string;
  readonly tenant: string;
  readonly idempotency_key: string;
  readonly attempt: number;
}

/** The value of a `signoff.jobs.results` message. */
export type JobResultMessage = ReportedDispatch & { readonly worker?: string } & JobResultOutcome;

/**
 * The `signoff.jobs.results` record of a worker's report: key = job_id, the dispatch's job id,
 * tenant, idempotency key and attempt, the reporting worker instance, the outcome, and the headers
 * `idempotency-key` and `authorization: Bearer <credential>` (never in the value).
 */
export function jobResultMessage(job: ReportedDispatch, worker: string, outcome: JobResultOutcome, credential: string): MessageRecord<JobResultMessage> {
  return {
    key: job.job_id,
    value: { job_id: job.job_id, tenant: job.tenant, idempotency_key: job.idempotency_key, attempt: job.attempt, worker, ...outcome },
    headers: { [HEADERS.idempotencyKey]: job.idempotency_key, [HEADERS.authorization]: `Bearer ${credential}` },
  };
}

/**
 * A `signoff.jobs.results` value validated with {@link JobResultMessageDto}, whose `job_id` is
 * the message key. Throws `invalid_request` (with the per-field `errors`) otherwise.
 */
export function jobResultOf(value: unknown, key: string | null): JobResultMessageDto {
  const parsed = validateMessage(JobResultMessageDto, value);
  if (!parsed.ok) throw new SignoffError('invalid_request', 'not a valid result message', { errors: parsed.errors });
  const report = parsed.value;
  if (key !== null && key !== report.job_id) {
    throw new SignoffError('invalid_request', `job_id ${report.job_id} differs from the message key ${key}`);
  }
  return report;
}
