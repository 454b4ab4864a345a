import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ApprovalGrantedData, JOB_STREAM_PREFIX, SignoffTopics, toJobApprovedMessage } from '@signoff/contracts';
import { EventRelay, SIGNOFF_TOPICS } from '@signoff/core';
import { EventStore } from '@signoff/event-store';
import { MessageBus } from '@signoff/messaging';

/** The relay's checkpoint name, shared by every instance of the service (one logical publisher). */
export const APPROVED_RELAY_NAME = 'approval-service.approved-relay';

/**
 * Announces each stored ApprovalGranted on `signoff.jobs.approved`, from a checkpointed
 * subscription: published at least once, after the grant is durable, even if the process dies
 * in between. A notification only: the dispatcher's replay of approved-but-undispatched jobs reads
 * the log, so nothing depends on this message arriving.
 */
@Injectable()
export class ApprovedRelay implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly relay: EventRelay;

  constructor(store: EventStore, bus: MessageBus, @Inject(SIGNOFF_TOPICS) topics: SignoffTopics) {
    this.relay = new EventRelay(store, bus, {
      name: APPROVED_RELAY_NAME,
      eventTypes: ['ApprovalGranted'],
      streamPrefix: JOB_STREAM_PREFIX,
      topic: topics.approved,
      toMessage: (event) => toJobApprovedMessage({ id: event.id, streamId: event.streamId, data: event.data as ApprovalGrantedData }),
    });
  }

  onApplicationBootstrap(): void {
    this.relay.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.relay.stop();
  }
}
