/** The fields Signoff reads from a Slack `block_actions` interaction. */
export interface SlackInteraction {
  readonly teamId: string;
  readonly userId: string;
  readonly actionId: string;
  readonly value: string;
  readonly responseUrl: string | null;
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

/** The interaction of a raw `application/x-www-form-urlencoded` body whose `payload` field is JSON. */
export function parseSlackInteraction(rawBody: Buffer): SlackInteraction {
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
  const d = doc as { type?: unknown; user?: { id?: unknown; team_id?: unknown }; team?: { id?: unknown }; actions?: unknown; response_url?: unknown };
  if (d.type !== 'block_actions') throw new SlackInteractionRefused('slack_payload_invalid', 'only block_actions interactions are handled');
  const action = Array.isArray(d.actions) ? (d.actions[0] as { action_id?: unknown; value?: unknown } | undefined) : undefined;
  const userId = text(d.user?.id, 64);
  const teamId = text(d.user?.team_id, 64) ?? text(d.team?.id, 64);
  const actionId = text(action?.action_id, 255);
  const value = text(action?.value, 2000);
  if (!userId || !teamId || !actionId || !value) throw new SlackInteractionRefused('slack_payload_invalid', 'user.id, team id, actions[0].action_id and actions[0].value are required');
  const responseUrl = text(d.response_url, 2000);
  return { teamId, userId, actionId, value, responseUrl };
}
