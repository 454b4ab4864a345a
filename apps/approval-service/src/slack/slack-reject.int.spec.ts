import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobEvent, toJobStreamId } from '@signoff/contracts';
import { FixedClock } from '@signoff/core/testing';
import { EventStore } from '@signoff/event-store';
import { createTestDatabase } from '../../../../test/support/infra';
import { ApprovalTestApp, startApprovalApp } from '../testing/approval-test.app';
import { paymentJob, submitJob } from '../testing/job.fixture';
import { writePolicyFile } from '../testing/test-policies';
import { decodeButtonValue, SLACK_REJECT_ACTION, SLACK_REJECT_CALLBACK } from './slack-message.blocks';

const SECRET = 'slack-signing-secret-0123456789abcdef';
const BOT_TOKEN = 'xoxb-1234567890-abcdefghij';

function signed(body: string, ts: number): Record<string, string> {
  const signature = 'v0=' + createHmac('sha256', SECRET).update(`v0:${ts}:${body}`).digest('hex');
  return { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signature };
}
const form = (payload: unknown) => new URLSearchParams({ payload: JSON.stringify(payload) }).toString();

function click(user: string, value: unknown, triggerId: string | null, responseUrl = 'http://127.0.0.1:9/r', actionId = SLACK_REJECT_ACTION): string {
  return form({
    type: 'block_actions',
    user: { id: user, team_id: 'T0TEAM' },
    actions: [{ action_id: actionId, value: JSON.stringify(value) }],
    response_url: responseUrl,
    ...(triggerId ? { trigger_id: triggerId } : {}),
  });
}

function submission(user: string, privateMetadata: string, reason: string, callbackId = SLACK_REJECT_CALLBACK): string {
  return form({
    type: 'view_submission',
    user: { id: user, team_id: 'T0TEAM' },
    view: { id: 'V1', callback_id: callbackId, private_metadata: privateMetadata, state: { values: { reason: { reason: { type: 'plain_text_input', value: reason } } } } },
  });
}

describe('Slack reject: a modal asking for the reason (views.open on a fake Slack Web API), its signed submission rejects as the mapped reviewer', () => {
  let db: { url: string; drop: () => Promise<void> };
  let svc: ApprovalTestApp;
  let fakeApi: Server;
  let apiBase = '';
  let incomingBase = '';
  const incomingPaths: string[] = [];
  let incoming: Server;
  const opened: { path: string; headers: IncomingHttpHeaders; body: { trigger_id: string; view: { callback_id: string; private_metadata: string; blocks: unknown[] } } }[] = [];
  let apiAnswer: Record<string, unknown> = { ok: true };
  const clock = new FixedClock(new Date());
  const nowS = () => Math.floor(clock.now().getTime() / 1000);
  const post = async (body: string, headers: Record<string, string>) => {
    const res = await fetch(`${svc.url}/api/v1/integrations/slack/interactions`, { method: 'POST', headers, body });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const events = async (jobId: string) => svc.app.get(EventStore).readStream<JobEvent>(toJobStreamId({ tenant: 'default', jobId }));
  const listen = async (server: Server) => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  beforeAll(async () => {
    fakeApi = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        opened.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(raw) });
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(apiAnswer));
      });
    });
    incoming = createServer((req, res) => {
      incomingPaths.push(req.url ?? '');
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    apiBase = await listen(fakeApi);
    const apiUrl = `${apiBase}/api`;
    incomingBase = await listen(incoming);
    const webhookUrl = `${incomingBase}/services/T/B/X`;
    db = await createTestDatabase('slack-reject');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'signoff-slack-reject-')), 'slack.yaml');
    fs.writeFileSync(
      file,
      [
        `signing_secret: ${SECRET}`,
        `incoming_webhook_url: ${webhookUrl}`,
        'events: [approval.requested]',
        `bot_token: ${BOT_TOKEN}`,
        `api_url: ${apiUrl}`,
        'users:',
        '  T0TEAM/UALICE: {sub: alice, roles: [reviewer]}',
        '  T0TEAM/UOTHER: {sub: olga, roles: [reviewer], tenants: [other]}',
        '',
      ].join('\n'),
    );
    svc = await startApprovalApp({ databaseUrl: db.url, policyPath: writePolicyFile(), clock, env: { SIGNOFF_SLACK_FILE: file } });
  });
  afterAll(async () => {
    await svc?.close();
    await db?.drop();
    await new Promise((resolve) => fakeApi?.close(resolve));
    await new Promise((resolve) => incoming?.close(resolve));
  });

  it('Reject opens the modal with the bot token and the trigger id; the submission records the rejection with its reason', async () => {
    const job = await submitJob(svc.app, paymentJob());
    const value = { t: 'default', j: job.job_id, s: job.policy_snapshot, h: job.job_hash };
    const clicked = click('UALICE', value, 'trig-1', `${apiBase}/respond/1`);
    const res = await post(clicked, signed(clicked, nowS()));
    expect(res).toMatchObject({ status: 200, body: { response_type: 'ephemeral' } });
    expect(String(res.body.text)).toMatch(/Opening the reject dialog/);
    const call = opened.find((o) => o.body.trigger_id === 'trig-1')!;
    expect(call.path).toBe('/api/views.open');
    expect(call.headers.authorization).toBe(`Bearer ${BOT_TOKEN}`);
    expect(call.body.view.callback_id).toBe(SLACK_REJECT_CALLBACK);
    expect(decodeButtonValue(call.body.view.private_metadata)).toEqual({ tenant: 'default', jobId: job.job_id, policySnapshot: job.policy_snapshot, jobHash: job.job_hash });
    expect((await events(job.job_id)).map((e) => e.type)).not.toContain('ApprovalRejected');

    const body = submission('UALICE', call.body.view.private_metadata, '  invoice is a duplicate  ');
    expect(await post(body, signed(body, nowS()))).toEqual({ status: 200, body: { response_action: 'clear' } });
    const rejected = (await events(job.job_id)).find((e) => e.type === 'ApprovalRejected')!;
    expect(rejected.data).toMatchObject({ rejected_by: 'alice', reason: 'invoice is a duplicate' });
    expect(rejected.metadata.actor).toBe('alice');
    // Submitted again (a double click): already_rejected, idempotent, one rejection recorded.
    expect(await post(body, signed(body, nowS()))).toEqual({ status: 200, body: { response_action: 'clear' } });
    expect((await events(job.job_id)).filter((e) => e.type === 'ApprovalRejected')).toHaveLength(1);
    // The original message is replaced once, through the click's response_url (escaped mrkdwn).
    const deadline = Date.now() + 5000;
    while (!opened.some((o) => o.path === '/respond/1') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(opened.filter((o) => o.path === '/respond/1').map((o) => o.body)).toEqual([
      { replace_original: true, text: `Rejected by alice (default/${job.job_id}): invoice is a duplicate` },
    ]);
  });

  it('an approve click replaces the message through response_url, only on the configured hosts', async () => {
    const job = await submitJob(svc.app, paymentJob());
    const value = { t: 'default', j: job.job_id, s: job.policy_snapshot, h: job.job_hash };
    // A live server on another host:port than api_url's: it would receive the POST if it were allowed.
    const foreign = click('UALICE', value, null, `${incomingBase}/respond/evil`, 'signoff_approve');
    const other = await submitJob(svc.app, paymentJob());
    const foreignOther = foreign.replace(encodeURIComponent(job.job_id), encodeURIComponent(other.job_id));
    expect(String((await post(foreignOther, signed(foreignOther, nowS()))).body.text)).toMatch(/^approved/);
    const approve = click('UALICE', value, null, `${apiBase}/respond/2`, 'signoff_approve');
    expect(String((await post(approve, signed(approve, nowS()))).body.text)).toMatch(/^approved/);
    const deadline = Date.now() + 5000;
    while (!opened.some((o) => o.path === '/respond/2') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(opened.filter((o) => o.path === '/respond/2').map((o) => o.body)).toEqual([{ replace_original: true, text: `Approved by alice (default/${job.job_id})` }]);
    await new Promise((r) => setTimeout(r, 200));
    expect(incomingPaths).not.toContain('/respond/evil');
  });

  it('a submission that is unsigned, stale, unmapped, reasonless, foreign or of another tenant records nothing', async () => {
    const job = await submitJob(svc.app, paymentJob());
    const metadata = JSON.stringify({ t: 'default', j: job.job_id, s: job.policy_snapshot, h: job.job_hash });
    const ok = submission('UALICE', metadata, 'no');
    expect(await post(ok, { 'content-type': 'application/x-www-form-urlencoded' })).toMatchObject({ status: 401, body: { code: 'slack_signature_missing' } });
    expect(await post(ok, signed(ok, nowS() - 301))).toMatchObject({ status: 401, body: { code: 'slack_timestamp_stale' } });
    const answers = async (body: string) => (await post(body, signed(body, nowS()))).body as { response_action: string; errors?: { reason: string } };
    const stale = await answers(submission('UALICE', JSON.stringify({ t: 'default', j: job.job_id, s: job.policy_snapshot, h: `sha256:${'c'.repeat(64)}` }), 'no'));
    expect(stale.errors?.reason).toMatch(/^Refused \(stale_review\)/);
    expect((await answers(submission('USTRANGER', metadata, 'no'))).errors?.reason).toMatch(/not mapped/);
    expect((await answers(submission('UALICE', metadata, '   '))).errors?.reason).toMatch(/reason of 1 to 2000/);
    expect((await answers(submission('UALICE', metadata, 'x'.repeat(2001)))).errors?.reason).toMatch(/reason of 1 to 2000/);
    expect((await answers(submission('UALICE', metadata, 'no', 'someone_elses_modal'))).errors?.reason).toMatch(/not a Signoff dialog/);
    expect((await answers(submission('UALICE', '{"t":1}', 'no'))).errors?.reason).toMatch(/does not name a Signoff approval/);
    expect((await answers(submission('UOTHER', metadata, 'no'))).errors?.reason).toMatch(/^Refused \(not_found\)/);
    const hostile = form({ type: 'view_submission', user: { id: 'UALICE', team_id: 'T0TEAM' }, view: { callback_id: SLACK_REJECT_CALLBACK } });
    expect(await post(hostile, signed(hostile, nowS()))).toMatchObject({ status: 400, body: { code: 'slack_payload_invalid' } });
    expect((await events(job.job_id)).map((e) => e.type)).not.toContain('ApprovalRejected');
  });

  it('Slack refusing views.open, or a click without trigger id: the reviewer is told to use the console or CLI', async () => {
    const job = await submitJob(svc.app, paymentJob());
    const value = { t: 'default', j: job.job_id, s: job.policy_snapshot, h: job.job_hash };
    apiAnswer = { ok: false, error: 'expired_trigger_id' };
    try {
      const body = click('UALICE', value, 'trig-late');
      expect(String((await post(body, signed(body, nowS()))).body.text)).toMatch(/could not open the reject dialog \(expired_trigger_id\)/);
    } finally {
      apiAnswer = { ok: true };
    }
    const noTrigger = click('UALICE', value, null);
    expect(String((await post(noTrigger, signed(noTrigger, nowS()))).body.text)).toMatch(/Rejecting needs a reason/);
    const unmapped = click('USTRANGER', value, 'trig-x');
    expect(String((await post(unmapped, signed(unmapped, nowS()))).body.text)).toMatch(/not mapped/);
    expect(opened.some((o) => o.body.trigger_id === 'trig-x')).toBe(false);
  });
});
