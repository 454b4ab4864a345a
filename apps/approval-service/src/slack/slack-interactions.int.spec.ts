import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobEvent, toJobStreamId } from '@signoff/contracts';
import { FixedClock } from '@signoff/core/testing';
import { EventStore } from '@signoff/event-store';
import { createTestDatabase } from '../../../../test/support/infra';
import { ApprovalTestApp, startApprovalApp } from '../testing/approval-test.app';
import { paymentJob, submitJob } from '../testing/job.fixture';
import { writePolicyFile } from '../testing/test-policies';
import { decodeButtonValue, SLACK_APPROVE_ACTION, SLACK_REJECT_ACTION } from './slack-message.blocks';

const SECRET = 'slack-signing-secret-0123456789abcdef';
const slackFile = (webhookUrl: string) => `
signing_secret: ${SECRET}
incoming_webhook_url: ${webhookUrl}
events: [approval.requested]
users:
  T0TEAM/UALICE: {sub: alice, roles: [reviewer]}
  T0TEAM/UOTHER: {sub: olga, roles: [reviewer], tenants: [other]}
`;

/** Signed exactly as Slack signs (computed here, not with the service's helper). */
function signed(body: string, ts: number, secret = SECRET): Record<string, string> {
  const signature = 'v0=' + createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex');
  return { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signature };
}

function interaction(user: string, actionId: string, value: unknown): string {
  const payload = { type: 'block_actions', user: { id: user, team_id: 'T0TEAM' }, actions: [{ action_id: actionId, value: JSON.stringify(value) }], response_url: 'http://127.0.0.1:9/r' };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

describe('Slack interactions on the real approval service', () => {
  let db: { url: string; drop: () => Promise<void> };
  let svc: ApprovalTestApp;
  let app: NestFastifyApplication;
  let url: string;
  const clock = new FixedClock(new Date());
  const nowS = () => Math.floor(clock.now().getTime() / 1000);
  const post = async (body: string, headers: Record<string, string>) => {
    const res = await fetch(`${url}/api/v1/integrations/slack/interactions`, { method: 'POST', headers, body });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const events = async (jobId: string) => (await app.get(EventStore).readStream<JobEvent>(toJobStreamId({ tenant: 'default', jobId }))).map((e) => ({ type: e.type, data: e.data, metadata: e.metadata }) as JobEvent);

  let receiver: Server;
  const received: { headers: Record<string, unknown>; body: { text: string; blocks?: { type: string; elements?: { action_id: string; value: string }[] }[] } }[] = [];

  beforeAll(async () => {
    // Stands in for Slack's incoming webhook.
    receiver = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        received.push({ headers: req.headers, body: JSON.parse(raw) });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const webhookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/services/T/B/X`;
    db = await createTestDatabase('slack');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'signoff-slack-')), 'slack.yaml');
    fs.writeFileSync(file, slackFile(webhookUrl));
    // The production composition root: SIGNOFF_SLACK_FILE is what mounts the route and starts the delivery.
    svc = await startApprovalApp({ databaseUrl: db.url, policyPath: writePolicyFile(), clock, env: { SIGNOFF_SLACK_FILE: file } });
    app = svc.app;
    url = svc.url;
  });
  afterAll(async () => {
    await svc?.close();
    await db?.drop();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('posts a requested approval to the incoming webhook from the log, buttons carrying the snapshot and hash shown', async () => {
    const job = await submitJob(app, paymentJob());
    const deadline = Date.now() + 10_000;
    const mine = () => received.find((r) => r.body.text.includes(job.job_id));
    while (!mine() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const message = mine();
    expect(message?.headers['content-type']).toBe('application/json');
    const actions = message?.body.blocks?.find((b) => b.type === 'actions');
    expect(actions?.elements?.map((e) => e.action_id)).toEqual([SLACK_APPROVE_ACTION, SLACK_REJECT_ACTION]);
    for (const e of actions?.elements ?? []) expect(decodeButtonValue(e.value)).toEqual({ tenant: 'default', jobId: job.job_id, policySnapshot: job.policy_snapshot, jobHash: job.job_hash });
    expect(JSON.stringify(message?.body)).not.toContain('1250');
  });

  it('a mapped reviewer approves: granted, recorded as the mapped identity with the Slack user as evidence', async () => {
    const job = await submitJob(app, paymentJob());
    const body = interaction('UALICE', SLACK_APPROVE_ACTION, { t: 'default', j: job.job_id, s: job.policy_snapshot, h: job.job_hash });
    const res = await post(body, signed(body, nowS()));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ response_type: 'ephemeral', text: `approved (default/${job.job_id}) as alice` });
    const grant = (await events(job.job_id)).find((e) => e.type === 'ApprovalGranted');
    expect(grant?.data).toMatchObject({ approved_by: ['alice'], policy_snapshot: job.policy_snapshot, job_hash: job.job_hash, reason: 'via Slack T0TEAM/UALICE' });
  });

  it('an unmapped user, a reject without reason, a reviewer of another tenant: refused, nothing recorded', async () => {
    const job = await submitJob(app, paymentJob());
    const value = { t: 'default', j: job.job_id, s: job.policy_snapshot, h: job.job_hash };
    const before = (await events(job.job_id)).length;
    const unmapped = interaction('USTRANGER', SLACK_APPROVE_ACTION, value);
    expect((await post(unmapped, signed(unmapped, nowS()))).body.text).toMatch(/not mapped to a Signoff reviewer/);
    const reject = interaction('UALICE', SLACK_REJECT_ACTION, value);
    expect((await post(reject, signed(reject, nowS()))).body.text).toMatch(/Rejecting needs a reason/);
    const other = interaction('UOTHER', SLACK_APPROVE_ACTION, value);
    const refused = await post(other, signed(other, nowS()));
    expect(refused.status).toBe(200);
    expect(refused.body.text).toMatch(/^Refused \(not_found\)/);
    expect((await events(job.job_id)).length).toBe(before);
  });

  it('a snapshot other than the current one: the API\'s 409 message is shown back', async () => {
    const job = await submitJob(app, paymentJob());
    const body = interaction('UALICE', SLACK_APPROVE_ACTION, { t: 'default', j: job.job_id, s: `sha256:${'c'.repeat(64)}`, h: job.job_hash });
    const res = await post(body, signed(body, nowS()));
    expect(res.status).toBe(200);
    expect(res.body.text).toMatch(/^Refused \((stale_review|snapshot_changed)\)/);
    expect((await events(job.job_id)).some((e) => e.type === 'ApprovalGranted')).toBe(false);
  });

  it('bad signature, missing signature, stale or future timestamp (replay): 401 with a code; hostile body: 400', async () => {
    const job = await submitJob(app, paymentJob());
    const body = interaction('UALICE', SLACK_APPROVE_ACTION, { t: 'default', j: job.job_id, s: job.policy_snapshot, h: job.job_hash });
    expect(await post(body, signed(body, nowS(), 'another-secret-0123456789abcdef'))).toMatchObject({ status: 401, body: { code: 'slack_signature_invalid' } });
    expect(await post(body, { 'content-type': 'application/x-www-form-urlencoded' })).toMatchObject({ status: 401, body: { code: 'slack_signature_missing' } });
    expect(await post(body, signed(body, nowS() - 301))).toMatchObject({ status: 401, body: { code: 'slack_timestamp_stale' } });
    expect(await post(body, signed(body, nowS() + 301))).toMatchObject({ status: 401, body: { code: 'slack_timestamp_stale' } });
    const tampered = body.replace('UALICE', 'UOTHER');
    expect(await post(tampered, signed(body, nowS()))).toMatchObject({ status: 401, body: { code: 'slack_signature_invalid' } });
    const hostile = new URLSearchParams({ payload: '{"type":"block_actions","user":{"id":"U\\u0000"}}' }).toString();
    expect(await post(hostile, signed(hostile, nowS()))).toMatchObject({ status: 400, body: { code: 'slack_payload_invalid' } });
    const deep = new URLSearchParams({ payload: '{"a":'.repeat(2000) + '1' + '}'.repeat(2000) }).toString();
    expect(await post(deep, signed(deep, nowS()))).toMatchObject({ status: 400, body: { code: 'slack_payload_invalid' } });
    expect((await events(job.job_id)).some((e) => e.type === 'ApprovalGranted')).toBe(false);
  });
});
