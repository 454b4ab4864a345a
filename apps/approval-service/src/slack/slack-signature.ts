import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack's replay window: a request timestamp further than this from now is refused. */
export const SLACK_TIMESTAMP_TOLERANCE_S = 300;

export type SlackSignatureRefusal = 'slack_signature_missing' | 'slack_timestamp_stale' | 'slack_signature_invalid';

/** `v0=` + hex(HMAC-SHA256(secret, `v0:<timestamp>:<raw body>`)), as Slack signs a request. */
export function slackSignature(signingSecret: string, timestamp: string, rawBody: Buffer | string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:`).update(rawBody).digest('hex')}`;
}

/**
 * Why a request's `X-Slack-Signature` / `X-Slack-Request-Timestamp` do not authenticate its raw
 * body, or null when they do. The compare is constant-time; `nowMs` comes from the caller's clock.
 */
export function verifySlackSignature(
  signingSecret: string,
  headers: { readonly signature: string | undefined; readonly timestamp: string | undefined },
  rawBody: Buffer,
  nowMs: number,
): SlackSignatureRefusal | null {
  const { signature, timestamp } = headers;
  if (!signature || !timestamp) return 'slack_signature_missing';
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowMs / 1000 - Number(timestamp)) > SLACK_TIMESTAMP_TOLERANCE_S) return 'slack_timestamp_stale';
  const expected = Buffer.from(slackSignature(signingSecret, timestamp, rawBody), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'slack_signature_invalid';
  return null;
}
