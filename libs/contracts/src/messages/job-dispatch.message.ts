import 'reflect-metadata';
import { IsBoolean, IsInt, IsNotEmpty, IsObject, IsOptional, IsString, Min, ValidateNested } from 'class-validator';
import { Type } from 'class-transformer';
import type { JobRequest } from '../events';
import { HEADERS } from '../topics';
import { declareNestedMembers } from '../validation';
import type { MessageRecord } from './message-record';

/**
 * `signoff.jobs.dispatch` (DESIGN sections 6 and 12): released jobs to workers, key = job_id.
 * Produced by the dispatch service (`JobDispatcher`, through {@link dispatchMessage}); consumed
 * by every worker built on @signoff/worker-sdk (`verifyDispatch` validates the value with
 * {@link DispatchMessageDto}). Messages a worker refuses go to `signoff.jobs.dispatch.dlq`.
 */

/** Version of the `signoff.jobs.dispatch` value described here (not on the wire). */
export const DISPATCH_MESSAGE_VERSION = 1;

/** The approval block of an approved job's dispatch: who approved, under which snapshot, for which job hash. */
export interface DispatchApproval {
  readonly approval_id: string;
  readonly approved_by: readonly string[];
  readonly policy_snapshot: string;
  readonly job_hash: string;
}

/** The value of a `signoff.jobs.dispatch` message (DESIGN section 6, plus `submitted_by`, `job_hash`, `policy_snapshot`). */
export interface DispatchMessage {
  readonly job_id: string;
  readonly topic: string;
  readonly priority: string;
  readonly tenant: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly payload: unknown;
  /** Present on approved jobs only. */
  readonly approval?: DispatchApproval;
  readonly attempt: number;
  readonly idempotency_key: string;
  /** Part of the hashed request, so the worker can recompute `job_hash` (DESIGN section 3). */
  readonly submitted_by: string;
  /** The job hash the grant covers (also in the `job-hash` header). */
  readonly job_hash: string;
  /** The policy snapshot the grant covers: of the approval, or of the `allow` evaluation. */
  readonly policy_snapshot: string;
}

/** Validates the approval block of a dispatch message. */
export class DispatchApprovalDto {
  @IsString() @IsNotEmpty() approval_id!: string;
  @IsString({ each: true }) approved_by!: string[];
  @IsString() @IsNotEmpty() policy_snapshot!: string;
  @IsString() @IsNotEmpty() job_hash!: string;
}

/**
 * Validates a `signoff.jobs.dispatch` value on a worker. Looser than {@link DispatchMessage} where
 * the worker gives a more precise refusal itself: a missing `submitted_by` is `job_hash_mismatch`
 * (the hash cannot be recomputed), a missing `job_hash` / `policy_snapshot` leaves only the grant's.
 */
export class DispatchMessageDto {
  @IsString() @IsNotEmpty() job_id!: string;
  @IsString() @IsNotEmpty() topic!: string;
  @IsString() priority!: string;
  @IsString() tenant!: string;
  @IsObject() labels!: Record<string, string>;
  @IsOptional() payload?: unknown;
  @IsOptional() @ValidateNested() @Type(() => DispatchApprovalDto) approval?: DispatchApprovalDto;
  @IsInt() @Min(1) attempt!: number;
  @IsString() @IsNotEmpty() idempotency_key!: string;
  /** Part of the hashed request (DESIGN section 3): the worker recomputes job_hash from it and the other request fields. */
  @IsOptional() @IsString() submitted_by?: string;
  @IsOptional() @IsString() job_hash?: string;
  @IsOptional() @IsString() policy_snapshot?: string;
  @IsOptional() @IsBoolean() approval_granted?: boolean;
}
declareNestedMembers(DispatchMessageDto, { approval: DispatchApprovalDto });

/** What a dispatch message is built from: the job's request and the claimed attempt of its release. */
export interface DispatchMessageInput {
  readonly job_id: string;
  readonly request: JobRequest;
  /** The approval the job was released by; absent for an `allow` evaluation. */
  readonly approval?: DispatchApproval;
  readonly attempt: number;
  readonly idempotency_key: string;
  readonly job_hash: string;
  readonly policy_snapshot: string;
  /** The signed dispatch grant (`signoff-grant` header, see dispatch-grant.ts). */
  readonly grant: string;
}

/**
 * The `signoff.jobs.dispatch` record of a claimed attempt: key = job_id, the value of DESIGN
 * section 6 (a missing payload is sent as null) and the headers `idempotency-key`, `job-hash`,
 * `signoff-grant` and, on approved jobs only, `approval_granted: true`. Every field the grant
 * covers is stated in the value, so a worker can compare them one by one.
 */
export function dispatchMessage(input: DispatchMessageInput): MessageRecord<DispatchMessage> {
  const { topic, priority, tenant, labels, payload, submitted_by } = input.request;
  const value: DispatchMessage = {
    job_id: input.job_id,
    topic,
    priority,
    tenant,
    labels,
    payload: payload === undefined ? null : payload,
    ...(input.approval
      ? {
          approval: {
            approval_id: input.approval.approval_id,
            approved_by: input.approval.approved_by,
            policy_snapshot: input.approval.policy_snapshot,
            job_hash: input.approval.job_hash,
          },
        }
      : {}),
    attempt: input.attempt,
    idempotency_key: input.idempotency_key,
    submitted_by,
    job_hash: input.job_hash,
    policy_snapshot: input.policy_snapshot,
  };
  const headers: Record<string, string> = {
    [HEADERS.idempotencyKey]: input.idempotency_key,
    [HEADERS.jobHash]: input.job_hash,
    [HEADERS.grant]: input.grant,
  };
  if (input.approval) headers[HEADERS.approvalGranted] = 'true';
  return { key: input.job_id, value, headers };
}
