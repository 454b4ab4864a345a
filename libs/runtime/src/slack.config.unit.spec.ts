import { describe, expect, it } from 'vitest';
import { parseSlackFile, readSlackConfig, slackUserKey } from './slack.config';

const valid = `
signing_secret: 8f742231b10e8888abcd99yyyzzz85a5
incoming_webhook_url: https://hooks.slack.com/services/T000/B000/XXXX
events: [approval.requested, approval.granted, approval.requested]
users:
  T0123ABC/U0456DEF: {sub: alice, roles: [reviewer, finance-approver], tenants: [acme]}
  T0123ABC/U0789GHI: {sub: bob, roles: [reviewer], topics: ['payments.*']}
`;

describe('SIGNOFF_SLACK_FILE', () => {
  it('maps Slack users to principals of the JWT shape', () => {
    const { config, problems } = parseSlackFile(valid, 'f');
    expect(problems).toEqual([]);
    expect(config?.events).toEqual(['approval.requested', 'approval.granted']);
    const alice = config?.users.get(slackUserKey('T0123ABC', 'U0456DEF'));
    expect(alice).toMatchObject({ sub: 'alice', tenants: ['acme'], topics: null, claimedRoles: ['reviewer', 'finance-approver'] });
    expect([...(alice?.roles ?? [])]).toEqual(['reviewer']);
    expect(config?.users.get(slackUserKey('T0123ABC', 'U0789GHI'))).toMatchObject({ sub: 'bob', tenants: null, topics: ['payments.*'] });
    expect(config?.users.get(slackUserKey('T9', 'U0456DEF'))).toBeUndefined();
  });

  it('reports every problem together', () => {
    const { config, problems } = parseSlackFile(
      `signing_secret: short\nincoming_webhook_url: ftp://x\nevents: [approval.nope]\nbot_tokn: x\nbot_token: x\napi_url: ftp://slack\nusers:\n  alice: {sub: a, roles: [reviewer]}\n  T1AA/U1BB: {sub: '', roles: [], tenants: acme}\n`,
      'f',
    );
    expect(config).toBeNull();
    expect(problems).toEqual([
      'f: unknown field bot_tokn',
      'f: signing_secret must be a string of at least 16 characters',
      'f: incoming_webhook_url must be an http(s) URL',
      'f: unknown event approval.nope (one of approval.requested, approval.vote_recorded, approval.granted, approval.rejected, approval.expired, approval.invalidated, approval.reminder, approval.escalated)',
      'f: bot_token must be a Slack bot token (xoxb-...)',
      'f: api_url must be an http(s) URL without credentials',
      'f users.alice: key must be <team_id>/<user_id> (e.g. T0123ABC/U0456DEF)',
      'f users.T1AA/U1BB: sub must be a non-empty string',
      'f users.T1AA/U1BB: roles must list at least one role',
      'f users.T1AA/U1BB: tenants must be a list of tenant names',
    ]);
  });

  it('refuses what is not an object', () => {
    expect(parseSlackFile('[1]', 'f').problems).toEqual(['f: expected an object {signing_secret, incoming_webhook_url, events, users}']);
    expect(parseSlackFile('{', 'f').problems[0]).toMatch(/^f: not YAML or JSON/);
  });

  it('is off when SIGNOFF_SLACK_FILE is unset, a problem when unreadable', () => {
    const problems: string[] = [];
    expect(readSlackConfig(undefined, problems)).toBeNull();
    expect(problems).toEqual([]);
    expect(readSlackConfig('/nonexistent/slack.yaml', problems)).toBeNull();
    expect(problems).toEqual(['SIGNOFF_SLACK_FILE=/nonexistent/slack.yaml cannot be read (ENOENT)']);
  });
});
