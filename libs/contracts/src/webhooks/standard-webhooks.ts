import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks (https://www.standardwebhooks.com/) signing and verification, shared by the
 * sender (the approval service) and receivers.
 */

/** A signing secret: `whsec_` then the base64 of the key (at least 16 bytes: 24 base64 characters). */
export const WEBHOOK_SECRET_PATTERN = /^whsec_[A-Za-z0-9+/]{22,}={0,2}$/;

/** Default tolerance of {@link verifyWebhook} between `webhook-timestamp` and now (5 minutes, as the spec suggests). */
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;

/** The body of every webhook: `{type, timestamp, data}` (type like `approval.requested`). */
export interface WebhookPayload<D = Record<string, unknown>> {
  readonly type: string;
  /** ISO 8601 time of the event. */
  readonly timestamp: string;
  readonly data: D;
}

/** The three Standard Webhooks headers. */
export type WebhookHeaders = {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
};

/** Why a webhook was refused by {@link verifyWebhook}; `code` is stable. */
export class WebhookVerificationError extends Error {
  constructor(
    readonly code: 'missing_headers' | 'invalid_timestamp' | 'timestamp_too_old' | 'timestamp_too_new' | 'invalid_signature' | 'invalid_secret',
    message: string,
  ) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

/** The HMAC key of a `whsec_<base64>` secret. Throws on a malformed secret. */
export function webhookSecretKey(secret: string): Buffer {
  if (!WEBHOOK_SECRET_PATTERN.test(secret)) {
    throw new WebhookVerificationError('invalid_secret', 'a webhook secret is whsec_ followed by base64 of at least 16 bytes');
  }
  return Buffer.from(secret.slice('whsec_'.length), 'base64');
}

/** `v1,<base64 HMAC-SHA256(key, "${id}.${timestamp}.${body}")>` for one secret. */
export function webhookSignature(secret: string, id: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', webhookSecretKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/**
 * The headers of one delivery: one signature per secret (several during a rotation), space
 * separated. `timestamp` is unix seconds.
 */
export function signWebhook(secrets: readonly string[], id: string, timestamp: number, body: string): WebhookHeaders {
  if (secrets.length === 0) throw new WebhookVerificationError('invalid_secret', 'at least one webhook secret is needed');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets.map((s) => webhookSignature(s, id, timestamp, body)).join(' '),
  };
}

export interface VerifyWebhookOptions {
  /** Largest accepted distance between `webhook-timestamp` and now, either way (default 300 s). */
  readonly toleranceSeconds?: number;
  /** Now (default the system clock); for tests. */
  readonly now?: Date;
}

/**
 * Verifies a received webhook as a receiver should: the three headers are present, the timestamp
 * is within the tolerance (a replay of an old delivery is refused), and one `v1` signature of the
 * list matches the secret (constant-time comparison). `body` must be the raw bytes as received.
 * Returns the parsed payload; throws {@link WebhookVerificationError}.
 * Keep the `webhook-id`s seen within the tolerance to refuse a replay inside the window.
 */
export function verifyWebhook<D = Record<string, unknown>>(
  secret: string,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  body: string | Buffer,
  options: VerifyWebhookOptions = {},
): WebhookPayload<D> {
  const header = (name: string): string | undefined => {
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
    const value = key === undefined ? undefined : headers[key];
    return Array.isArray(value) ? value[0] : value;
  };
  const id = header('webhook-id');
  const ts = header('webhook-timestamp');
  const signatures = header('webhook-signature');
  if (!id || !ts || !signatures) throw new WebhookVerificationError('missing_headers', 'webhook-id, webhook-timestamp and webhook-signature are required');
  if (!/^\d{1,12}$/.test(ts)) throw new WebhookVerificationError('invalid_timestamp', 'webhook-timestamp must be unix seconds');
  const timestamp = Number(ts);
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_SECONDS;
  if (timestamp < now - tolerance) throw new WebhookVerificationError('timestamp_too_old', 'webhook-timestamp is older than the tolerance');
  if (timestamp > now + tolerance) throw new WebhookVerificationError('timestamp_too_new', 'webhook-timestamp is ahead of the tolerance');
  const text = typeof body === 'string' ? body : body.toString('utf8');
  const expected = Buffer.from(webhookSignature(secret, id, timestamp, text).slice(3), 'base64');
  const matches = signatures.split(' ').some((entry) => {
    const [version, mac] = entry.split(',', 2);
    if (version !== 'v1' || !mac) return false;
    const given = Buffer.from(mac, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!matches) throw new WebhookVerificationError('invalid_signature', 'no webhook-signature matches the secret');
  return JSON.parse(text) as WebhookPayload<D>;
}
