import { auditMessage, JOB_EVENT_TYPES, SignoffEvent } from '@signoff/contracts';
import { EventStore } from '@signoff/event-store';
import { eventRelayProvider } from '../event-relay';
import { toCloudEvent } from './cloud-event.mapper';
import { AUDIT_REDACT } from './history-redaction';
import { RuleRedactions } from './rule-redactions';

/**
 * Publishes every domain event to `signoff.audit` as a structured CloudEvent 1.0 (key = job id),
 * from a checkpointed subscription: at least once, in log order; the CloudEvent `id` is the
 * event id, so an auditor's sink deduplicates redeliveries. AUDIT_REDACT_FIELDS and the deciding
 * rule's `redact` paths are redacted.
 */
export const AuditRelay = eventRelayProvider<SignoffEvent>(
  (store: EventStore, redact: string[]) => {
    const redactions = new RuleRedactions(store, redact);
    return {
      name: 'audit-relay',
      eventTypes: [...JOB_EVENT_TYPES, 'PolicyActivated'],
      topic: (topics) => topics.audit,
      prepareBatch: (events) => redactions.prepareBatch(events),
      toMessage: async (event) => auditMessage(toCloudEvent(event as never, await redactions.pathsFor(event as never)), event.streamId),
    };
  },
  [AUDIT_REDACT],
);
