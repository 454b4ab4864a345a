import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook, WebhookVerificationError, webhookSignature } from './standard-webhooks';

const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const timestamp = 1614265330;
const body = '{"test": 2432232314}';
const at = new Date(timestamp * 1000);

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return (error as WebhookVerificationError).code;
  }
  return undefined;
}

describe('Standard Webhooks signatures', () => {
  it('matches the spec test vector and an HMAC computed here with node:crypto', () => {
    const independent = createHmac('sha256', Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64'))
      .update(`${id}.${timestamp}.${body}`)
      .digest('base64');
    expect(webhookSignature(secret, id, timestamp, body)).toBe(`v1,${independent}`);
    expect(webhookSignature(secret, id, timestamp, body)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('signs once per secret (rotation), and either secret verifies', () => {
    const next = `whsec_${randomBytes(24).toString('base64')}`;
    const headers = signWebhook([secret, next], id, timestamp, body);
    expect(headers).toMatchObject({ 'webhook-id': id, 'webhook-timestamp': String(timestamp) });
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(verifyWebhook(secret, headers, body, { now: at })).toEqual({ test: 2432232314 });
    expect(verifyWebhook(next, headers, Buffer.from(body), { now: at })).toEqual({ test: 2432232314 });
  });

  it('refuses a changed body, a wrong secret, missing headers and a malformed secret', () => {
    const headers = signWebhook([secret], id, timestamp, body);
    expect(codeOf(() => verifyWebhook(secret, headers, '{"test": 1}', { now: at }))).toBe('invalid_signature');
    expect(codeOf(() => verifyWebhook(`whsec_${randomBytes(24).toString('base64')}`, headers, body, { now: at }))).toBe('invalid_signature');
    expect(codeOf(() => verifyWebhook(secret, { ...headers, 'webhook-id': 'msg_other' }, body, { now: at }))).toBe('invalid_signature');
    expect(codeOf(() => verifyWebhook(secret, { 'webhook-id': id, 'webhook-timestamp': String(timestamp) }, body, { now: at }))).toBe('missing_headers');
    expect(codeOf(() => verifyWebhook(secret, { ...headers, 'webhook-timestamp': '1.5' }, body, { now: at }))).toBe('invalid_timestamp');
    expect(codeOf(() => signWebhook(['sk_nope'], id, timestamp, body))).toBe('invalid_secret');
    expect(codeOf(() => signWebhook([], id, timestamp, body))).toBe('invalid_secret');
  });

  it('refuses a replay outside the tolerance, either way, and accepts the edges', () => {
    const headers = signWebhook([secret], id, timestamp, body);
    const later = (s: number) => new Date((timestamp + s) * 1000);
    expect(verifyWebhook(secret, headers, body, { now: later(300) })).toBeTruthy();
    expect(codeOf(() => verifyWebhook(secret, headers, body, { now: later(301) }))).toBe('timestamp_too_old');
    expect(verifyWebhook(secret, headers, body, { now: later(-300) })).toBeTruthy();
    expect(codeOf(() => verifyWebhook(secret, headers, body, { now: later(-301) }))).toBe('timestamp_too_new');
    expect(codeOf(() => verifyWebhook(secret, headers, body, { now: later(31), toleranceSeconds: 30 }))).toBe('timestamp_too_old');
  });

  it('reads headers case-insensitively (Node lower-cases them, other stacks may not)', () => {
    const h = signWebhook([secret], id, timestamp, body);
    const upper = { 'Webhook-Id': h['webhook-id'], 'Webhook-Timestamp': h['webhook-timestamp'], 'Webhook-Signature': h['webhook-signature'] };
    expect(verifyWebhook(secret, upper, body, { now: at })).toEqual({ test: 2432232314 });
  });
});
