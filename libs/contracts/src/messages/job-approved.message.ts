import 'reflect-metadata';
import { IsNotEmpty, IsString, Matches } from 'class-validator';
import { ApprovalGrantedData, fromJobStreamId } from '../events';
import { HEADERS } from '../topics';
import { ID_PATTERN } from '../validation';
import type { MessageRecord, RelayedEvent } from './message-record';

/**
 * `signoff.jobs.approved` (DESIGN section 6): every stored ApprovalGranted, key = job_id.
 * Produced by the approval service's approved relay ({@link toJobApprovedMessage}); consumed by
 * the dispatch service (`JobReleasedMessageController`, through {@link readReleaseNotice}).
 */

/** Version of the `signoff.jobs.approved` value described here (not on the wire). */
export const JOB_APPROVED_MESSAGE_VERSION = 1;

/** The value of a `signoff.jobs.approved` message. */
export interface JobApprovedMessage {
  readonly job_id: string;
  /** The job's tenant (from its stream id): job ids are scoped by tenant. */
  readonly tenant: string;
  readonly approval_id: string;
  readonly approved_by: readonly string[];
  readonly policy_snapshot: string;
  readonly job_hash: string;
}

/** Validates a `signoff.jobs.approved` value as the relay writes it. */
export class JobApprovedMessageDto {
  @IsString() @Matches(ID_PATTERN) job_id!: string;
  @IsString() @Matches(ID_PATTERN) tenant!: string;
  @IsString() @IsNotEmpty() approval_id!: string;
  @IsString({ each: true }) approved_by!: string[];
  @IsString() @IsNotEmpty() policy_snapshot!: string;
  @IsString() @IsNotEmpty() job_hash!: string;
}

/**
 * The `signoff.jobs.approved` record of a stored ApprovalGranted: key = job_id, the grant's
 * approval id, approvers, snapshot and job hash with the `tenant` of the job's stream, header
 * `event-id`. Null (nothing published) for an event outside a job stream or of another job.
 */
export function toJobApprovedMessage(event: RelayedEvent<ApprovalGrantedData>): MessageRecord<JobApprovedMessage> | null {
  const data = event.data;
  const ref = fromJobStreamId(event.streamId);
  if (ref === null || ref.jobId !== data.job_id) return null;
  const value: JobApprovedMessage = {
    job_id: data.job_id,
    tenant: ref.tenant,
    approval_id: data.approval_id,
    approved_by: data.approved_by,
    policy_snapshot: data.policy_snapshot,
    job_hash: data.job_hash,
  };
  return { key: data.job_id, value, headers: { [HEADERS.eventId]: event.id } };
}
