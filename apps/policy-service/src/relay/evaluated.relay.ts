import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { JOB_STREAM_PREFIX, PolicyEvaluatedData, SignoffTopics, toJobEvaluatedMessage } from '@signoff/contracts';
import { EventRelay, SIGNOFF_TOPICS } from '@signoff/core';
import { EventStore } from '@signoff/event-store';
import { MessageBus } from '@signoff/messaging';

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
      toMessage: (event) => toJobEvaluatedMessage({ id: event.id, streamId: event.streamId, data: event.data as PolicyEvaluatedData }),
    });
  }

  onApplicationBootstrap(): void {
    this.relay.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.relay.stop();
  }
}
