import { ApprovalGrantedData, fromJobStreamId, JOB_STREAM_PREFIX } from '@signoff/contracts';
import { eventRelayProvider } from '@signoff/core';

/** The value of a `signoff.jobs.approved` message (key: job_id). */
export interface JobApprovedMessage {
  readonly job_id: string;
  /** The job's tenant (from its stream id): job ids are scoped by tenant. */
  readonly tenant: string;
  readonly approval_id: string;
  readonly approved_by: readonly string[];
  readonly policy_snapshot: string;
  readonly job_hash: string;
}

/** The relay's checkpoint name, shared by every instance of the service (one logical publisher). */
export const APPROVED_RELAY_NAME = 'approval-service.approved-relay';

/**
 * Announces each stored ApprovalGranted on `signoff.jobs.approved`, from a checkpointed
 * subscription: published at least once, after the grant is durable, even if the process dies
 * in between. A notification only: the dispatcher's replay of approved-but-undispatched jobs reads
 * the log, so nothing depends on this message arriving.
 */
export const ApprovedRelay = eventRelayProvider({
  name: APPROVED_RELAY_NAME,
  eventTypes: ['ApprovalGranted'],
  streamPrefix: JOB_STREAM_PREFIX,
  topic: (topics) => topics.approved,
  toMessage: (event) => {
    const data = event.data as ApprovalGrantedData;
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
    return { key: data.job_id, value, headers: { 'event-id': event.id } };
  },
});
