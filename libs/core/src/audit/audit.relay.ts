import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { auditMessage, JOB_EVENT_TYPES, SignoffEvent, SignoffTopics } from '@signoff/contracts';
import { EventStore } from '@signoff/event-store';
import { MessageBus } from '@signoff/messaging';
import { EventRelay } from '../event-relay';
import { SIGNOFF_TOPICS } from '../core.tokens';
import { toCloudEvent } from './cloud-event.mapper';
import { AUDIT_REDACT } from './history-redaction';
import { RuleRedactions } from './rule-redactions';

/**
 * Publishes every domain event to `signoff.audit` as a structured CloudEvent 1.0 (key = job id),
 * from a checkpointed subscription: at least once, in log order; the CloudEvent `id` is the
 * event id, so an auditor's sink deduplicates redeliveries. AUDIT_REDACT_FIELDS and the deciding
 * rule's `redact` paths are redacted.
 */
@Injectable()
export class AuditRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly relay: EventRelay<SignoffEvent>;

  constructor(store: EventStore, bus: MessageBus, @Inject(SIGNOFF_TOPICS) topics: SignoffTopics, @Inject(AUDIT_REDACT) redact: string[]) {
    const redactions = new RuleRedactions(store, redact);
    this.relay = new EventRelay<SignoffEvent>(store, bus, {
      name: 'audit-relay',
      eventTypes: [...JOB_EVENT_TYPES, 'PolicyActivated'],
      topic: topics.audit,
      toMessage: async (event) => auditMessage(toCloudEvent(event as never, await redactions.pathsFor(event as never)), event.streamId),
    });
  }

  onApplicationBootstrap(): void {
    this.relay.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.relay.stop();
  }
}
