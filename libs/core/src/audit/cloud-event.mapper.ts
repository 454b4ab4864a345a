import { CloudEvent } from 'cloudevents';
import { escapeUnsafeText, fromJobStreamId, SignoffEvent, SignoffEventType } from '@signoff/contracts';
import { RecordedEvent } from '@signoff/event-store';
import { redactEventData } from './history-redaction';

/** The CloudEvent `type` of each domain event (`signoff.<area>.<what happened>`). */
export function cloudEventType(type: SignoffEventType): string {
  switch (type) {
    case 'JobSubmitted':
      return 'signoff.job.submitted';
    case 'PolicyEvaluated':
      return 'signoff.policy.evaluated';
    case 'ApprovalRequested':
      return 'signoff.approval.requested';
    case 'ApprovalVoteRecorded':
      return 'signoff.approval.vote_recorded';
    case 'JobAmendmentProposed':
      return 'signoff.job.amendment_proposed';
    case 'ApprovalGranted':
      return 'signoff.approval.granted';
    case 'ApprovalRejected':
      return 'signoff.approval.rejected';
    case 'ApprovalExpired':
      return 'signoff.approval.expired';
    case 'ApprovalInvalidated':
      return 'signoff.approval.invalidated';
    case 'ApprovalReminderSent':
      return 'signoff.approval.reminder_sent';
    case 'ApprovalEscalated':
      return 'signoff.approval.escalated';
    case 'DispatchClaimed':
      return 'signoff.dispatch.claimed';
    case 'JobDispatched':
      return 'signoff.job.dispatched';
    case 'DispatchReplayed':
      return 'signoff.dispatch.replayed';
    case 'DispatchAbandoned':
      return 'signoff.dispatch.abandoned';
    case 'JobStarted':
      return 'signoff.job.started';
    case 'JobCompleted':
      return 'signoff.job.completed';
    case 'JobOutcomeUnknown':
      return 'signoff.job.outcome_unknown';
    case 'JobOutcomeResolved':
      return 'signoff.job.outcome_resolved';
    case 'PolicyActivated':
      return 'signoff.policy.activated';
    default: {
      const unreachable: never = type;
      throw new Error(`no CloudEvent type for ${String(unreachable)}`);
    }
  }
}

/**
 * A CloudEvents attribute value: CloudEvents 1.0 forbids control characters (U+0000-U+001F,
 * U+007F-U+009F) and lone surrogates in String attributes, and a line break or a bidi override in
 * `actor` would forge or disguise the line an auditor reads. Identities are refused with such
 * characters where they enter; whatever gets here anyway (an old event, a field of a worker's
 * report) is written with `\uXXXX` escapes, never raw.
 */
function attribute(value: string): string {
  return escapeUnsafeText(value);
}

/** A stored domain event as a structured-mode CloudEvent 1.0 (`subject` = job id, extension `tenant` = its tenant). */
export function toCloudEvent(event: RecordedEvent<SignoffEvent>, redact: readonly string[]): CloudEvent<unknown> {
  const data = redactEventData(event, redact);
  const subject = event.type === 'PolicyActivated' ? event.data.snapshot : event.data.job_id;
  const tenant = event.type === 'PolicyActivated' ? null : (fromJobStreamId(event.streamId)?.tenant ?? null);
  const meta = event.metadata as Partial<Record<'correlationId' | 'causationId' | 'actor' | 'at', unknown>>;
  const text = (value: unknown): string => attribute(typeof value === 'string' ? value : '');
  return new CloudEvent<unknown>({
    specversion: '1.0',
    id: attribute(event.id),
    source: event.type === 'PolicyActivated' ? '/signoff/policy' : '/signoff/jobs',
    type: cloudEventType(event.type),
    subject: attribute(subject),
    time: typeof meta.at === 'string' ? attribute(meta.at) : event.createdAt.toISOString(),
    datacontenttype: 'application/json',
    data,
    correlationid: text(meta.correlationId),
    causationid: text(meta.causationId),
    actor: text(meta.actor),
    streamrevision: event.revision.toString(),
    logposition: event.position.toString(),
    // Job ids are scoped by tenant: `subject` alone does not name the job.
    ...(tenant !== null ? { tenant: attribute(tenant) } : {}),
  });
}
