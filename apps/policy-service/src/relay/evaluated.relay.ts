import { fromJobStreamId, JOB_STREAM_PREFIX, PolicyEvaluatedData } from '@signoff/contracts';
import { eventRelayProvider } from '@signoff/core';

/** The value of a `signoff.jobs.evaluated` message (key: job_id): the event data and the job's tenant. */
export type JobEvaluatedMessage = PolicyEvaluatedData & { readonly tenant: string };

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
  toMessage: (event) => {
    const data = event.data as PolicyEvaluatedData;
    const ref = fromJobStreamId(event.streamId);
    if (ref === null || ref.jobId !== data.job_id) return null;
    const value: JobEvaluatedMessage = { ...data, tenant: ref.tenant };
    return { key: data.job_id, value, headers: { 'event-id': event.id } };
  },
});
