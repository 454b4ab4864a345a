/** The fields Signoff reads from a Slack `block_actions` interaction. */
export interface SlackInteraction {
  readonly teamId: string;
  readonly userId: string;
  readonly actionId: string;
  readonly value: string;
  readonly responseUrl: string | null;
  /** Lets the app open a modal in answer (valid for 3 s); absent when Slack sent none. */
  readonly triggerId?: string;
}

/** The fields Signoff reads from a modal's `view_submission`. */
export interface SlackViewSubmission {
  readonly teamId: string;
  readonly userId: string;
  readonly callbackId: string;
  /** What the app put in the modal when it opened it (the button's job, tenant, snapshot and hash). */
  readonly privateMetadata: string;
  /** Input values by `<block_id>.<action_id>`. */
  readonly fields: Readonly<Record<string, string>>;
}

/** The largest interaction body accepted (Slack's are a few kilobytes). */
export const SLACK_MAX_BODY_BYTES = 64 * 1024;
const MAX_DEPTH = 16;

/** A refused interaction body: answered 400 with this `code`, never 500. */
export class SlackInteractionRefused extends Error {
  constructor(
    readonly code: 'slack_payload_too_large' | 'slack_payload_invalid',
    message: string,
  ) {
    super(message);
  }
}

function depth(value: unknown, level = 0): number {
  if (level > MAX_DEPTH || typeof value !== 'object' || value === null) return level;
  let max = level;
  for (const child of Object.values(value)) {
    max = Math.max(max, depth(child, level + 1));
    if (max > MAX_DEPTH) break;
  }
  return max;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function text(value: unknown, max: number): string | null {
  return typeof value === 'string' && value.length > 0 && value.length <= max && !value.includes('\u0000') && !LONE_SURROGATE.test(value) ? value : null;
}

/** The JSON `payload` of a raw `application/x-www-form-urlencoded` interaction body, checked and bounded. */
function readPayload(rawBody: Buffer): Record<string, unknown> {
  if (rawBody.length > SLACK_MAX_BODY_BYTES) throw new SlackInteractionRefused('slack_payload_too_large', `the body exceeds ${SLACK_MAX_BODY_BYTES} bytes`);
  const payload = new URLSearchParams(rawBody.toString('utf8')).get('payload');
  if (payload === null) throw new SlackInteractionRefused('slack_payload_invalid', 'the form has no payload field');
  if (payload.includes('\u0000') || LONE_SURROGATE.test(payload)) throw new SlackInteractionRefused('slack_payload_invalid', 'the payload holds NUL or a lone surrogate');
  let doc: unknown;
  try {
    doc = JSON.parse(payload);
  } catch {
    throw new SlackInteractionRefused('slack_payload_invalid', 'the payload is not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || depth(doc) > MAX_DEPTH) throw new SlackInteractionRefused('slack_payload_invalid', 'the payload is not a bounded JSON object');
  return doc as Record<string, unknown>;
}

type SlackUserFields = { user?: { id?: unknown; team_id?: unknown }; team?: { id?: unknown } };

function userOf(d: SlackUserFields): { userId: string | null; teamId: string | null } {
  return { userId: text(d.user?.id, 64), teamId: text(d.user?.team_id, 64) ?? text(d.team?.id, 64) };
}

function blockActions(d: Record<string, unknown>): SlackInteraction {
  const action = Array.isArray(d.actions) ? (d.actions[0] as { action_id?: unknown; value?: unknown } | undefined) : undefined;
  const { userId, teamId } = userOf(d as SlackUserFields);
  const actionId = text(action?.action_id, 255);
  const value = text(action?.value, 2000);
  if (!userId || !teamId || !actionId || !value) throw new SlackInteractionRefused('slack_payload_invalid', 'user.id, team id, actions[0].action_id and actions[0].value are required');
  const responseUrl = text(d.response_url, 2000);
  const triggerId = text(d.trigger_id, 255);
  return { teamId, userId, actionId, value, responseUrl, ...(triggerId ? { triggerId } : {}) };
}

/** The largest rejection reason a modal may submit (the API's RejectDto bound). */
export const SLACK_MAX_REASON_LENGTH = 2000;

function viewSubmission(d: Record<string, unknown>): SlackViewSubmission {
  const { userId, teamId } = userOf(d as SlackUserFields);
  const view = d.view as { callback_id?: unknown; private_metadata?: unknown; state?: { values?: unknown } } | undefined;
  const callbackId = text(view?.callback_id, 255);
  const privateMetadata = text(view?.private_metadata, 3000);
  if (!userId || !teamId || !callbackId || !privateMetadata) throw new SlackInteractionRefused('slack_payload_invalid', 'user.id, team id, view.callback_id and view.private_metadata are required');
  // state.values.<block_id>.<action_id>.value: a plain_text_input's text.
  const values = view?.state?.values;
  const fields: Record<string, string> = {};
  if (typeof values === 'object' && values !== null) {
    for (const [blockId, block] of Object.entries(values as Record<string, unknown>).slice(0, 20)) {
      if (typeof block !== 'object' || block === null) continue;
      for (const [actionId, input] of Object.entries(block as Record<string, unknown>).slice(0, 20)) {
        const value = (input as { value?: unknown } | null)?.value;
        if (typeof value === 'string' && value.length <= SLACK_MAX_REASON_LENGTH * 2 && !LONE_SURROGATE.test(value)) fields[`${blockId}.${actionId}`] = value;
      }
    }
  }
  return { teamId, userId, callbackId, privateMetadata, fields };
}

/** A signed interaction: a button click or a modal's submission. */
export type SlackRequest = { readonly type: 'block_actions'; readonly interaction: SlackInteraction } | { readonly type: 'view_submission'; readonly submission: SlackViewSubmission };

/** The interaction of a raw body: `block_actions` (a button) or `view_submission` (a modal); anything else is a coded 400. */
export function parseSlackRequest(rawBody: Buffer): SlackRequest {
  const d = readPayload(rawBody);
  if (d.type === 'block_actions') return { type: 'block_actions', interaction: blockActions(d) };
  if (d.type === 'view_submission') return { type: 'view_submission', submission: viewSubmission(d) };
  throw new SlackInteractionRefused('slack_payload_invalid', 'only block_actions and view_submission interactions are handled');
}

/** The `block_actions` interaction of a raw `application/x-www-form-urlencoded` body whose `payload` field is JSON. */
export function parseSlackInteraction(rawBody: Buffer): SlackInteraction {
  const d = readPayload(rawBody);
  if (d.type !== 'block_actions') throw new SlackInteractionRefused('slack_payload_invalid', 'only block_actions interactions are handled');
  return blockActions(d);
}
