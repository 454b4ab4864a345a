import { JOB_STREAM_PREFIX, PolicyEvaluatedData, toJobEvaluatedMessage } from '@signoff/contracts';
import { eventRelayProvider } from '@signoff/core';

/**
 * Publishes every stored PolicyEvaluated to `signoff.jobs.evaluated` (key job_id, value the event
 * data plus the `tenant` of the job's stream: job ids are scoped by tenant) from a checkpointed
 * subscription, so a job recorded just before a crash is still announced. The dispatch service
 * acts on `decision: "allow"`.
 */
export const EvaluatedRelay = eventRelayProvider({
  name: 'policy-service.evaluated-relay',
  eventTypes: ['PolicyEvaluated'],
  streamPrefix: JOB_STREAM_PREFIX,
  topic: (topics) => topics.evaluated,
  toMessage: (event) => toJobEvaluatedMessage({ id: event.id, streamId: event.streamId, data: event.data as PolicyEvaluatedData }),
});
