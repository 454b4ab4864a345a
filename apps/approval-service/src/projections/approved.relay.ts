import { ApprovalGrantedData, JOB_STREAM_PREFIX, toJobApprovedMessage } from '@signoff/contracts';
import { eventRelayProvider } from '@signoff/core';

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
  toMessage: (event) => toJobApprovedMessage({ id: event.id, streamId: event.streamId, data: event.data as ApprovalGrantedData }),
});
