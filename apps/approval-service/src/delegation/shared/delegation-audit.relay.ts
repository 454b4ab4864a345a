import { CloudEvent } from 'cloudevents';
import { auditMessage, DELEGATION_EVENT_TYPES, DELEGATION_STREAM_PREFIX, escapeUnsafeText, type DelegationEvent } from '@signoff/contracts';
import { eventRelayProvider } from '@signoff/core';
import type { RecordedEvent } from '@signoff/event-store';

const CLOUD_EVENT_TYPES: { readonly [T in DelegationEvent['type']]: string } = {
  DelegationGranted: 'signoff.delegation.granted',
  DelegationRevoked: 'signoff.delegation.revoked',
};

/**
 * A delegation event as a structured CloudEvent 1.0 for `signoff.audit`, shaped like the job
 * events' (`libs/core` audit mapper): `source` `/signoff/delegations`, `subject` the delegation id,
 * `id` the event id (auditors deduplicate by it), the event's metadata as extensions.
 */
export function toDelegationCloudEvent(event: RecordedEvent<DelegationEvent>): CloudEvent<unknown> {
  const meta = event.metadata as Partial<Record<'correlationId' | 'causationId' | 'actor' | 'at', unknown>>;
  const text = (value: unknown): string => escapeUnsafeText(typeof value === 'string' ? value : '');
  return new CloudEvent<unknown>({
    specversion: '1.0',
    id: escapeUnsafeText(event.id),
    source: '/signoff/delegations',
    type: CLOUD_EVENT_TYPES[event.type],
    subject: escapeUnsafeText(event.data.delegation_id),
    time: typeof meta.at === 'string' ? escapeUnsafeText(meta.at) : event.createdAt.toISOString(),
    datacontenttype: 'application/json',
    data: event.data,
    correlationid: text(meta.correlationId),
    causationid: text(meta.causationId),
    actor: text(meta.actor),
    streamrevision: event.revision.toString(),
    logposition: event.position.toString(),
  });
}

/**
 * Delegations reach `signoff.audit` too (at least once, in log order, from a checkpointed
 * subscription of the delegation streams), so an auditor reading the topic sees who let whom act
 * for them, and when it was revoked, beside the votes cast under it.
 */
export const DelegationAuditRelay = eventRelayProvider<DelegationEvent>({
  name: 'delegation-audit-relay',
  eventTypes: DELEGATION_EVENT_TYPES,
  streamPrefix: DELEGATION_STREAM_PREFIX,
  topic: (topics) => topics.audit,
  toMessage: (event) => auditMessage(toDelegationCloudEvent(event as unknown as RecordedEvent<DelegationEvent>), event.streamId),
});
