import {
  ApprovalEscalatedData,
  ApprovalExpiredData,
  ApprovalReminderSentData,
  ApprovalGrantedData,
  ApprovalInvalidatedData,
  ApprovalRejectedData,
  ApprovalRequestedData,
  ApprovalVoteRecordedData,
  CastOnBehalf,
  EventMetadata,
  JobRequest,
  WebhookPayload,
} from '@signoff/contracts';
import type { WebhookEventType } from '@signoff/runtime';

/** The stored event of each webhook type. */
export const WEBHOOK_SOURCE_EVENTS: Readonly<Record<WebhookEventType, string>> = {
  'approval.requested': 'ApprovalRequested',
  'approval.vote_recorded': 'ApprovalVoteRecorded',
  'approval.granted': 'ApprovalGranted',
  'approval.rejected': 'ApprovalRejected',
  'approval.expired': 'ApprovalExpired',
  'approval.invalidated': 'ApprovalInvalidated',
  'approval.reminder': 'ApprovalReminderSent',
  'approval.escalated': 'ApprovalEscalated',
};

/** The webhook type of each stored event type (the inverse of {@link WEBHOOK_SOURCE_EVENTS}). */
export const WEBHOOK_TYPE_OF_EVENT: Readonly<Record<string, WebhookEventType>> = Object.fromEntries(
  Object.entries(WEBHOOK_SOURCE_EVENTS).map(([webhookType, eventType]) => [eventType, webhookType as WebhookEventType]),
);

/** The events of escalation steps: told to the targets the step names, whatever their `events` filter. */
export const ESCALATION_SOURCE_EVENTS = ['ApprovalReminderSent', 'ApprovalEscalated'] as const;

export type WebhookSourceEvent =
  | { readonly type: 'ApprovalRequested'; readonly data: ApprovalRequestedData }
  | { readonly type: 'ApprovalVoteRecorded'; readonly data: ApprovalVoteRecordedData }
  | { readonly type: 'ApprovalGranted'; readonly data: ApprovalGrantedData }
  | { readonly type: 'ApprovalRejected'; readonly data: ApprovalRejectedData }
  | { readonly type: 'ApprovalExpired'; readonly data: ApprovalExpiredData }
  | { readonly type: 'ApprovalInvalidated'; readonly data: ApprovalInvalidatedData }
  | { readonly type: 'ApprovalReminderSent'; readonly data: ApprovalReminderSentData }
  | { readonly type: 'ApprovalEscalated'; readonly data: ApprovalEscalatedData };

/**
 * The webhook body of an approval event. `job` is the job's request (from its JobSubmitted): only
 * `tenant` and `topic` are taken from it. The payload, labels and submitter never leave (they are
 * what AUDIT_REDACT_FIELDS and a rule's `redact` protect), nor do reviewers' free-text reasons
 * other than a rejection's.
 */
/** A vote cast under a delegation names who cast it (`cast_by`) and for whom (`on_behalf_of` chain); nothing otherwise. */
function castOf(data: CastOnBehalf): CastOnBehalf {
  return data.cast_by === undefined ? {} : { cast_by: data.cast_by, ...(data.on_behalf_of ? { on_behalf_of: data.on_behalf_of } : {}) };
}

export function toWebhookPayload(
  event: WebhookSourceEvent & { readonly metadata?: unknown },
  job: Pick<JobRequest, 'tenant' | 'topic'>,
  createdAt: Date,
): WebhookPayload {
  const timestamp = (event.metadata as EventMetadata | undefined)?.at ?? createdAt.toISOString();
  const common = { job_id: event.data.job_id, tenant: job.tenant, topic: job.topic, approval_ref: event.data.approval_ref };
  switch (event.type) {
    case 'ApprovalRequested': {
      const d = event.data;
      return {
        type: 'approval.requested',
        timestamp,
        data: { ...common, rule_id: d.rule_id, policy_snapshot: d.policy_snapshot, job_hash: d.job_hash, required: d.requirement.required, requested_at: d.requested_at, expires_at: d.expires_at },
      };
    }
    case 'ApprovalVoteRecorded':
      return {
        type: 'approval.vote_recorded',
        timestamp,
        data: {
          ...common,
          reviewer: event.data.reviewer,
          approvals: event.data.approvals,
          required: event.data.required,
          // Edit before approve: the hash the vote approved (`approvals` counts the votes for it).
          ...(event.data.approved_job_hash ? { approved_job_hash: event.data.approved_job_hash } : {}),
          ...castOf(event.data),
        },
      };
    case 'ApprovalGranted': {
      const d = event.data;
      return { type: 'approval.granted', timestamp, data: { ...common, approval_id: d.approval_id, approved_by: d.approved_by, policy_snapshot: d.policy_snapshot, job_hash: d.job_hash, ...castOf(d) } };
    }
    case 'ApprovalRejected':
      return { type: 'approval.rejected', timestamp, data: { ...common, rejected_by: event.data.rejected_by, reason: event.data.reason, ...castOf(event.data) } };
    case 'ApprovalExpired':
      return { type: 'approval.expired', timestamp, data: { ...common, expires_at: event.data.expires_at, on_timeout: event.data.on_timeout } };
    case 'ApprovalInvalidated':
      return { type: 'approval.invalidated', timestamp, data: { ...common, code: event.data.code } };
    case 'ApprovalReminderSent':
      return { type: 'approval.reminder', timestamp, data: { ...common, step: event.data.step, at: event.data.at } };
    case 'ApprovalEscalated':
      return { type: 'approval.escalated', timestamp, data: { ...common, step: event.data.step, add_reviewers: event.data.add_reviewers } };
    default: {
      const never: never = event;
      throw new Error(`not a webhook event: ${(never as { type: string }).type}`);
    }
  }
}
