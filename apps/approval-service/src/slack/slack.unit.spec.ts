import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseSlackInteraction, SLACK_MAX_BODY_BYTES, SlackInteractionRefused } from './slack-interaction.parser';
import { approvalRequestMessage, decodeButtonValue, encodeButtonValue, shortHash, SLACK_APPROVE_ACTION, SLACK_REJECT_ACTION } from './slack-message.blocks';
import { verifySlackSignature } from './slack-signature';

const secret = '8f742231b10e8767cab3ed8a5d1a8a5f';
const snap = `sha256:${'a'.repeat(64)}`;
const hash = `sha256:${'b'.repeat(64)}`;

/** Signed the way Slack documents it, independently of slackSignature. */
function slackSign(ts: string, body: string): string {
  return 'v0=' + createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex');
}

function form(payload: unknown): Buffer {
  return Buffer.from(new URLSearchParams({ payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }).toString());
}

describe('Slack request signature', () => {
  const now = 1_700_000_000_000;
  const ts = String(now / 1000);
  const body = Buffer.from('payload=%7B%7D');

  it('accepts Slack’s signature over the raw body', () => {
    expect(verifySlackSignature(secret, { signature: slackSign(ts, body.toString()), timestamp: ts }, body, now)).toBeNull();
  });

  it('refuses a missing, wrong or foreign-body signature', () => {
    expect(verifySlackSignature(secret, { signature: undefined, timestamp: ts }, body, now)).toBe('slack_signature_missing');
    expect(verifySlackSignature(secret, { signature: slackSign(ts, body.toString()), timestamp: undefined }, body, now)).toBe('slack_signature_missing');
    expect(verifySlackSignature(secret, { signature: slackSign(ts, 'payload=%7B%7D '), timestamp: ts }, body, now)).toBe('slack_signature_invalid');
    expect(verifySlackSignature(secret, { signature: 'v0=00', timestamp: ts }, body, now)).toBe('slack_signature_invalid');
  });

  it('refuses a timestamp more than five minutes away (replay)', () => {
    const old = String(now / 1000 - 301);
    expect(verifySlackSignature(secret, { signature: slackSign(old, body.toString()), timestamp: old }, body, now)).toBe('slack_timestamp_stale');
    const future = String(now / 1000 + 301);
    expect(verifySlackSignature(secret, { signature: slackSign(future, body.toString()), timestamp: future }, body, now)).toBe('slack_timestamp_stale');
    expect(verifySlackSignature(secret, { signature: 'v0=00', timestamp: 'abc' }, body, now)).toBe('slack_timestamp_stale');
    const edge = String(now / 1000 - 300);
    expect(verifySlackSignature(secret, { signature: slackSign(edge, body.toString()), timestamp: edge }, body, now)).toBeNull();
  });
});

describe('Slack interaction payload', () => {
  const action = { type: 'block_actions', user: { id: 'U0456DEF', team_id: 'T0123ABC' }, actions: [{ action_id: SLACK_APPROVE_ACTION, value: 'v' }], response_url: 'https://hooks.slack.com/actions/x' };

  it('reads user, team, action and response url', () => {
    expect(parseSlackInteraction(form(action))).toEqual({ teamId: 'T0123ABC', userId: 'U0456DEF', actionId: SLACK_APPROVE_ACTION, value: 'v', responseUrl: 'https://hooks.slack.com/actions/x' });
    expect(parseSlackInteraction(form({ ...action, user: { id: 'U1' }, team: { id: 'T9' } })).teamId).toBe('T9');
  });

  it.each([
    ['no payload field', Buffer.from('x=1'), 'slack_payload_invalid'],
    ['not JSON', form('{'), 'slack_payload_invalid'],
    ['NUL', form(JSON.stringify(action).replace('U0456DEF', 'U0\\u0000')), 'slack_payload_invalid'],
    ['lone surrogate', form(JSON.stringify(action).replace('U0456DEF', 'U0\\ud800')), 'slack_payload_invalid'],
    ['deep JSON', form('['.repeat(5000) + ']'.repeat(5000)), 'slack_payload_invalid'],
    ['deep object', form({ ...action, deep: JSON.parse('{"a":'.repeat(40) + '1' + '}'.repeat(40)) }), 'slack_payload_invalid'],
    ['another interaction type', form({ ...action, type: 'view_submission' }), 'slack_payload_invalid'],
    ['no action', form({ ...action, actions: [] }), 'slack_payload_invalid'],
    ['huge', Buffer.alloc(SLACK_MAX_BODY_BYTES + 1, 'a'), 'slack_payload_too_large'],
  ])('refuses %s with a code', (_name, body, code) => {
    let error: unknown;
    try {
      parseSlackInteraction(body);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SlackInteractionRefused);
    expect((error as SlackInteractionRefused).code).toBe(code);
  });
});

describe('Slack approval message', () => {
  const summary = { tenant: 'acme', jobId: 'job-1', topic: 'payments.refund', ruleId: 'big-refunds', reason: 'amount > 1000', approvals: 1, required: 2, expiresAt: '2026-12-03T00:00:00.000Z', policySnapshot: snap, jobHash: hash };

  it('binds both buttons to the job, snapshot and hash shown', () => {
    const message = approvalRequestMessage(summary);
    const actions = message.blocks.find((b) => (b as { type: string }).type === 'actions') as { elements: { action_id: string; value: string }[] };
    expect(actions.elements.map((e) => e.action_id)).toEqual([SLACK_APPROVE_ACTION, SLACK_REJECT_ACTION]);
    for (const e of actions.elements) expect(decodeButtonValue(e.value)).toEqual({ tenant: 'acme', jobId: 'job-1', policySnapshot: snap, jobHash: hash });
    const shown = JSON.stringify(message.blocks);
    for (const part of ['payments.refund', 'acme', 'big-refunds (amount &gt; 1000)', '1 of 2', '2026-12-03T00:00:00.000Z', shortHash(snap), shortHash(hash)]) expect(shown).toContain(part);
    expect(shortHash(snap)).toBe('sha256:aaaaaaaaaaaa');
  });

  it('refuses a forged or foreign button value', () => {
    expect(decodeButtonValue('nope')).toBeNull();
    expect(decodeButtonValue('null')).toBeNull();
    expect(decodeButtonValue(encodeButtonValue({ tenant: 'acme', jobId: 'job-1', policySnapshot: 'sha256:1', jobHash: hash }))).toBeNull();
    expect(decodeButtonValue(JSON.stringify({ t: 'a b', j: 'job', s: snap, h: hash }))).toBeNull();
  });
});
