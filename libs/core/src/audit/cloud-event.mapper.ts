import { CloudEvent } from 'cloudevents';
import { escapeUnsafeText, JobRequest, SignoffEvent, SignoffEventType } from '@signoff/contracts';
import { RecordedEvent } from '@signoff/event-store';
import { redactPaths } from '@signoff/observability';

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
    case 'ApprovalGranted':
      return 'signoff.approval.granted';
    case 'ApprovalRejected':
      return 'signoff.approval.rejected';
    case 'ApprovalExpired':
      return 'signoff.approval.expired';
    case 'ApprovalInvalidated':
      return 'signoff.approval.invalidated';
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
    case 'PolicyActivated':
      return 'signoff.policy.activated';
    default: {
      const unreachable: never = type;
      throw new Error(`no CloudEvent type for ${String(unreachable)}`);
    }
  }
}

/**
 * Redacts the configured request paths (`payload.card_number`, `labels.ssn`) wherever the job
 * request appears in an event, and the same paths under `result` of JobCompleted.
 */
export function redactEventData(event: SignoffEvent, paths: readonly string[]): unknown {
  if (paths.length === 0) return event.data;
  switch (event.type) {
    case 'JobSubmitted':
      return { ...event.data, request: redactPaths<JobRequest>(event.data.request, paths) };
    case 'JobCompleted':
      return { ...event.data, result: redactPaths(event.data.result, paths.filter((p) => p.startsWith('result.')).map((p) => p.slice('result.'.length))) };
    default:
      return event.data;
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

/** A stored domain event as a structured-mode CloudEvent 1.0 (`subject` = job id). */
export function toCloudEvent(event: RecordedEvent<SignoffEvent>, redact: readonly string[]): CloudEvent<unknown> {
  const data = redactEventData(event, redact);
  const subject = event.type === 'PolicyActivated' ? event.data.snapshot : event.data.job_id;
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
  });
}
