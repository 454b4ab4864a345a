import type { SlackConfig } from '@signoff/runtime';
import { DeliveryTarget } from '../webhooks/webhook-endpoint.delivery';
import { toWebhookPayload } from '../webhooks/webhook-payload.mapper';
import { SLACK_NOTIFY_TARGET } from '../escalation/notify-targets';
import { approvalRequestMessage, escalationText } from './slack-message.blocks';

/** The checkpoint, dead-letter stream and metric label of the Slack delivery (`:` keeps it apart from any webhook endpoint id). */
export const SLACK_DELIVERY_ID = 'slack:outbound';
export const SLACK_DELIVERY_FAILED = 'SlackDeliveryFailed';

/**
 * Slack's incoming webhook as a delivery target: served exactly as a webhook endpoint is (its own
 * checkpointed subscription, batch of one, at least once, retries with back-off, a per-message
 * claim across instances, a dead letter once the attempts run out), so a dead Slack only holds
 * this checkpoint back, never a vote or a job. A request becomes Block Kit with the evidence and
 * the buttons; every other change one line of text (redacted as webhooks are: no payload).
 */
export function slackTarget(slack: SlackConfig): DeliveryTarget {
  return {
    id: SLACK_DELIVERY_ID,
    notifyName: SLACK_NOTIFY_TARGET,
    subscription: SLACK_DELIVERY_ID,
    deadLetterStream: SLACK_DELIVERY_ID,
    deadLetterType: SLACK_DELIVERY_FAILED,
    events: slack.events,
    url: slack.incomingWebhookUrl,
    render: (event, job) => {
      const payload = toWebhookPayload(event, job, event.createdAt);
      if (event.type === 'ApprovalRequested') {
        const d = event.data;
        const message = approvalRequestMessage({ tenant: job.tenant, jobId: d.job_id, topic: job.topic, ruleId: d.rule_id ?? '(none)', reason: null, approvals: 0, required: d.requirement.required, expiresAt: d.expires_at, policySnapshot: d.policy_snapshot, jobHash: d.job_hash });
        return { type: payload.type, body: JSON.stringify(message) };
      }
      if (event.type === 'ApprovalReminderSent' || event.type === 'ApprovalEscalated') {
        const added = event.type === 'ApprovalEscalated' ? event.data.add_reviewers : [];
        const text = escalationText({ tenant: job.tenant, jobId: event.data.job_id, topic: job.topic, requestedAt: job.requested_at ?? null, addedReviewers: added });
        return { type: payload.type, body: JSON.stringify({ text }) };
      }
      return { type: payload.type, body: JSON.stringify({ text: `${payload.type}: ${job.topic} (${job.tenant}/${event.data.job_id})` }) };
    },
    headers: () => ({ 'content-type': 'application/json' }),
  };
}
