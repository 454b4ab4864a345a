/** The action ids of the two buttons of a Signoff message. */
export const SLACK_APPROVE_ACTION = 'signoff_approve';
export const SLACK_REJECT_ACTION = 'signoff_reject';

/** What a button carries: the job, and the snapshot and hash the message showed. */
export interface SlackButtonValue {
  readonly tenant: string;
  readonly jobId: string;
  readonly policySnapshot: string;
  readonly jobHash: string;
}

/** The evidence summary of a pending approval (redacted as the audit stream is: no payload, no labels). */
export interface SlackApprovalSummary {
  readonly tenant: string;
  readonly jobId: string;
  readonly topic: string;
  readonly ruleId: string;
  readonly reason: string | null;
  readonly approvals: number;
  readonly required: number;
  readonly expiresAt: string | null;
  readonly policySnapshot: string;
  readonly jobHash: string;
}

const SHA256 = /^sha256:[0-9a-f]{64}$/;
const ID = /^[A-Za-z0-9._:-]{1,200}$/;

/** `sha256:` and the first 12 hex digits: what a reviewer compares by eye. */
export function shortHash(hash: string): string {
  return hash.startsWith('sha256:') ? hash.slice(0, 'sha256:'.length + 12) : hash.slice(0, 12);
}

export function encodeButtonValue(v: SlackButtonValue): string {
  return JSON.stringify({ t: v.tenant, j: v.jobId, s: v.policySnapshot, h: v.jobHash });
}

/** The button value of a Signoff message, or null when it is not one (forged or foreign). */
export function decodeButtonValue(value: string): SlackButtonValue | null {
  let d: unknown;
  try {
    d = JSON.parse(value);
  } catch {
    return null;
  }
  const o = d as { t?: unknown; j?: unknown; s?: unknown; h?: unknown } | null;
  if (typeof o !== 'object' || o === null) return null;
  const { t, j, s, h } = o;
  if (typeof t !== 'string' || !ID.test(t) || typeof j !== 'string' || !ID.test(j) || typeof s !== 'string' || !SHA256.test(s) || typeof h !== 'string' || !SHA256.test(h)) return null;
  return { tenant: t, jobId: j, policySnapshot: s, jobHash: h };
}

/** Slack mrkdwn: `&`, `<` and `>` are the only characters Slack asks to escape (so `<!channel>` in a reason pings nobody). */
export function escapeMrkdwn(text: string): string {
  return esc(text);
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The Block Kit message of a pending approval, with Approve / Reject buttons bound to what it shows. */
export function approvalRequestMessage(s: SlackApprovalSummary): { text: string; blocks: unknown[] } {
  const value = encodeButtonValue({ tenant: s.tenant, jobId: s.jobId, policySnapshot: s.policySnapshot, jobHash: s.jobHash });
  const fields = [
    `*Topic*\n${esc(s.topic)}`,
    `*Tenant*\n${esc(s.tenant)}`,
    `*Rule*\n${esc(s.ruleId)}${s.reason ? ` (${esc(s.reason)})` : ''}`,
    `*Quorum*\n${s.approvals} of ${s.required}`,
    `*Expires*\n${s.expiresAt ?? 'never'}`,
    `*Snapshot / job hash*\n\`${shortHash(s.policySnapshot)}\` / \`${shortHash(s.jobHash)}\``,
  ];
  return {
    text: `Approval requested: ${s.topic} (${s.tenant}/${s.jobId})`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: 'Approval requested' } },
      { type: 'section', text: { type: 'mrkdwn', text: `Job \`${esc(s.jobId)}\`` }, fields: fields.map((text) => ({ type: 'mrkdwn', text })) },
      {
        type: 'actions',
        elements: [
          { type: 'button', action_id: SLACK_APPROVE_ACTION, style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value },
          { type: 'button', action_id: SLACK_REJECT_ACTION, style: 'danger', text: { type: 'plain_text', text: 'Reject' }, value },
        ],
      },
    ],
  };
}

/**
 * The one-line message of a reminder or an escalation: "Reminder: ... waits since ...", and for an
 * escalation the roles that may now approve.
 */
export function escalationText(e: { tenant: string; jobId: string; topic: string; requestedAt: string | null; addedReviewers: readonly string[] }): string {
  const since = e.requestedAt ? ` waits since ${e.requestedAt}` : ' still waits';
  const subject = `approval of ${esc(e.topic)} (${esc(e.tenant)}/${esc(e.jobId)})${since}`;
  if (e.addedReviewers.length === 0) return `Reminder: ${subject}`;
  return `Escalated: ${subject}; ${e.addedReviewers.map(esc).join(', ')} may now approve`;
}

/** The callback id of the reject modal, and the block / action ids of its reason input. */
export const SLACK_REJECT_CALLBACK = 'signoff_reject_reason';
export const SLACK_REASON_BLOCK = 'reason';
export const SLACK_REASON_ACTION = 'reason';

/**
 * The modal a Reject button opens (Slack `views.open`): one required reason, and in
 * `private_metadata` the job, tenant, snapshot and hash of the message that was clicked, so the
 * rejection binds to what the reviewer saw, as the approve button's value does.
 */
export function rejectModal(button: SlackButtonValue, maxReasonLength: number, responseUrl: string | null = null): Record<string, unknown> {
  // The button's value plus `r`, the click's response_url (so the decision can update the message).
  const metadata = responseUrl ? JSON.stringify({ ...(JSON.parse(encodeButtonValue(button)) as object), r: responseUrl }) : encodeButtonValue(button);
  return {
    type: 'modal',
    callback_id: SLACK_REJECT_CALLBACK,
    private_metadata: metadata,
    title: { type: 'plain_text', text: 'Reject approval' },
    submit: { type: 'plain_text', text: 'Reject' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `Reject job \`${esc(button.jobId)}\` (${esc(button.tenant)}), snapshot \`${shortHash(button.policySnapshot)}\`, job hash \`${shortHash(button.jobHash)}\`` },
      },
      {
        type: 'input',
        block_id: SLACK_REASON_BLOCK,
        label: { type: 'plain_text', text: 'Reason' },
        element: { type: 'plain_text_input', action_id: SLACK_REASON_ACTION, multiline: true, min_length: 1, max_length: maxReasonLength },
      },
    ],
  };
}

/** The response_url a reject modal's private_metadata carries (`r`), or null. */
export function responseUrlOf(privateMetadata: string): string | null {
  try {
    const r = (JSON.parse(privateMetadata) as { r?: unknown } | null)?.r;
    return typeof r === 'string' && r.length <= 2000 ? r : null;
  } catch {
    return null;
  }
}
