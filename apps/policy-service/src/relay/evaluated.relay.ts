import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { fromJobStreamId, JOB_STREAM_PREFIX, PolicyEvaluatedData, SignoffTopics } from '@signoff/contracts';
import { EventRelay, SIGNOFF_TOPICS } from '@signoff/core';
import { EventStore } from '@signoff/event-store';
import { MessageBus } from '@signoff/messaging';

/** The value of a `signoff.jobs.evaluated` message (key: job_id): the event data and the job's tenant. */
export type JobEvaluatedMessage = PolicyEvaluatedData & { readonly tenant: string };

/**
 * Publishes every stored PolicyEvaluated to `signoff.jobs.evaluated` (key job_id, value the event
 * data plus the `tenant` of the job's stream: job ids are scoped by tenant) from a checkpointed
 * subscription, so a job recorded just before a crash is still announced. The dispatch service
 * acts on `decision: "allow"`.
 */
@Injectable()
export class EvaluatedRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly relay: EventRelay;

  constructor(store: EventStore, bus: MessageBus, @Inject(SIGNOFF_TOPICS) topics: SignoffTopics) {
    this.relay = new EventRelay(store, bus, {
      name: 'policy-service.evaluated-relay',
      eventTypes: ['PolicyEvaluated'],
      streamPrefix: JOB_STREAM_PREFIX,
      topic: topics.evaluated,
      toMessage: (event) => {
        const data = event.data as PolicyEvaluatedData;
        const ref = fromJobStreamId(event.streamId);
        if (ref === null || ref.jobId !== data.job_id) return null;
        const value: JobEvaluatedMessage = { ...data, tenant: ref.tenant };
        return { key: data.job_id, value, headers: { 'event-id': event.id } };
      },
    });
  }

  onApplicationBootstrap(): void {
    this.relay.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.relay.stop();
  }
}
