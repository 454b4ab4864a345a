import { ClaimDispatch, CommandMetadata, GrantCheck, isReleased, JobAggregateState, RecordDispatch } from '@signoff/approvals';
import type { JobRef } from '@signoff/contracts';
import type { PublishedRecord } from '@signoff/messaging';
import { newIdempotencyKey } from './dispatch-message';

/** What a claim decides on besides the job's state. */
export interface ClaimDispatchInput {
  readonly ref: JobRef;
  /** The log's fact about an approval's grant (DispatchLog.grantCheck), read before the first claim. */
  readonly grantCheck: GrantCheck;
  /** This dispatcher's instance id. */
  readonly claimedBy: string;
  readonly metadata: CommandMetadata;
}

/**
 * The ClaimDispatch command for the job in `state`: the current attempt of a released job (its
 * attempt and idempotency key, fixed by the first claim), else the first attempt with a fresh
 * idempotency key (the decider refuses to claim a job that is not released).
 */
export function claimDispatchCommand(input: ClaimDispatchInput, state: JobAggregateState): ClaimDispatch {
  const released = isReleased(state) ? state : null;
  return {
    type: 'ClaimDispatch',
    data: {
      job_id: input.ref.jobId,
      attempt: released?.dispatch.attempt ?? 1,
      idempotency_key: released?.dispatch.idempotency_key ?? newIdempotencyKey(input.ref),
      claimed_by: input.claimedBy,
      ...input.grantCheck,
    },
    metadata: input.metadata,
  };
}

/** What recording a publish needs: the attempt claimed and where the broker put its message. */
export interface RecordDispatchInput {
  readonly jobId: string;
  readonly claimed: { readonly attempt: number; readonly idempotency_key: string };
  readonly record: Pick<PublishedRecord, 'topic' | 'partition' | 'offset'>;
  readonly metadata: CommandMetadata;
}

/** The RecordDispatch command: the claimed attempt was published at `record`. */
export function recordDispatchCommand(input: RecordDispatchInput): RecordDispatch {
  return {
    type: 'RecordDispatch',
    data: {
      job_id: input.jobId,
      attempt: input.claimed.attempt,
      idempotency_key: input.claimed.idempotency_key,
      topic: input.record.topic,
      partition: input.record.partition,
      offset: input.record.offset,
    },
    metadata: input.metadata,
  };
}
