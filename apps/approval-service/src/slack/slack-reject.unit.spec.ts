import { describe, expect, it } from 'vitest';
import { parseSlackFile } from '@signoff/runtime';
import { parseSlackRequest, SlackInteractionRefused } from './slack-interaction.parser';
import { decodeButtonValue, escalationText, rejectModal, SLACK_REJECT_CALLBACK } from './slack-message.blocks';

const snap = `sha256:${'a'.repeat(64)}`;
const hash = `sha256:${'b'.repeat(64)}`;
const form = (payload: unknown) => Buffer.from(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());

describe('Slack reject modal', () => {
  it('carries the clicked message evidence in private_metadata and a bounded, required reason input', () => {
    const view = rejectModal({ tenant: 'acme', jobId: 'job-1', policySnapshot: snap, jobHash: hash }, 2000) as {
      callback_id: string;
      private_metadata: string;
      blocks: { type: string; element?: { max_length: number; min_length: number } }[];
    };
    expect(view.callback_id).toBe(SLACK_REJECT_CALLBACK);
    expect(decodeButtonValue(view.private_metadata)).toEqual({ tenant: 'acme', jobId: 'job-1', policySnapshot: snap, jobHash: hash });
    expect(view.blocks.find((b) => b.type === 'input')?.element).toMatchObject({ min_length: 1, max_length: 2000 });
  });

  it('reads a view_submission: user, callback, metadata and the input values', () => {
    const parsed = parseSlackRequest(
      form({ type: 'view_submission', user: { id: 'U1AA', team_id: 'T1AA' }, view: { callback_id: 'cb', private_metadata: 'm', state: { values: { reason: { reason: { value: 'too much' } } } } } }),
    );
    expect(parsed).toEqual({ type: 'view_submission', submission: { teamId: 'T1AA', userId: 'U1AA', callbackId: 'cb', privateMetadata: 'm', fields: { 'reason.reason': 'too much' } } });
    const click = parseSlackRequest(form({ type: 'block_actions', user: { id: 'U1', team_id: 'T1' }, trigger_id: 'tr', actions: [{ action_id: 'a', value: 'v' }] }));
    expect(click).toMatchObject({ type: 'block_actions', interaction: { triggerId: 'tr' } });
  });

  it.each([
    ['no view', { type: 'view_submission', user: { id: 'U1', team_id: 'T1' } }],
    ['no metadata', { type: 'view_submission', user: { id: 'U1', team_id: 'T1' }, view: { callback_id: 'cb' } }],
    ['a huge metadata', { type: 'view_submission', user: { id: 'U1', team_id: 'T1' }, view: { callback_id: 'cb', private_metadata: 'x'.repeat(3001) } }],
    ['another type', { type: 'shortcut', user: { id: 'U1', team_id: 'T1' } }],
  ])('refuses %s with slack_payload_invalid', (_name, payload) => {
    expect(() => parseSlackRequest(form(payload))).toThrow(SlackInteractionRefused);
  });
});

describe('Slack file: bot_token and api_url', () => {
  const base = 'signing_secret: 8f742231b10e8888abcd99yyyzzz85a5\nincoming_webhook_url: https://hooks.slack.com/services/T/B/X\nevents: [approval.requested, approval.reminder]\nusers: {}\n';
  it('defaults: no bot token, Slack Web API', () => {
    expect(parseSlackFile(base, 'f').config).toMatchObject({ botToken: null, apiUrl: 'https://slack.com/api', events: ['approval.requested', 'approval.reminder'] });
  });
  it('reads both', () => {
    expect(parseSlackFile(`${base}bot_token: xoxb-1234567890-abc\napi_url: http://127.0.0.1:9/api/\n`, 'f').config).toMatchObject({ botToken: 'xoxb-1234567890-abc', apiUrl: 'http://127.0.0.1:9/api' });
  });
});

describe('Slack reminder and escalation text', () => {
  it('says what waits since when, and who may approve now', () => {
    expect(escalationText({ tenant: 'acme', jobId: 'j1', topic: 'finance.pay', requestedAt: '2026-01-01T09:00:00.000Z', addedReviewers: [] })).toBe(
      'Reminder: approval of finance.pay (acme/j1) waits since 2026-01-01T09:00:00.000Z',
    );
    expect(escalationText({ tenant: 'acme', jobId: 'j1', topic: 'a<b', requestedAt: null, addedReviewers: ['finance-director'] })).toBe(
      'Escalated: approval of a&lt;b (acme/j1) still waits; finance-director may now approve',
    );
  });
});

describe('response_url', () => {
  it('is only called on hooks.slack.com (https) or the configured api host', async () => {
    const { allowedResponseUrl } = await import('./slack-web-api.client');
    expect(allowedResponseUrl('https://hooks.slack.com/actions/T/1/x', 'https://slack.com/api')?.host).toBe('hooks.slack.com');
    expect(allowedResponseUrl('http://hooks.slack.com/actions/T/1/x', 'https://slack.com/api')).toBeNull();
    expect(allowedResponseUrl('https://hooks.slack.com.evil.example/x', 'https://slack.com/api')).toBeNull();
    expect(allowedResponseUrl('https://user:pw@hooks.slack.com/x', 'https://slack.com/api')).toBeNull();
    expect(allowedResponseUrl('http://127.0.0.1:9/r', 'https://slack.com/api')).toBeNull();
    expect(allowedResponseUrl('http://127.0.0.1:9/r', 'http://127.0.0.1:9/api')?.pathname).toBe('/r');
    expect(allowedResponseUrl('http://127.0.0.1:10/r', 'http://127.0.0.1:9/api')).toBeNull();
    expect(allowedResponseUrl('not a url', 'https://slack.com/api')).toBeNull();
  });
});
