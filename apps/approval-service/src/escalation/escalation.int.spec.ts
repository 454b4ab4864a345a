import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobEvent, toJobStreamId, verifyWebhook } from '@signoff/contracts';
import { FixedClock } from '@signoff/core/testing';
import { EventStore } from '@signoff/event-store';
import { SignoffMetrics } from '@signoff/observability';
import { createTestDatabase } from '../../../../test/support/infra';
import { eventually } from '../../../../test/support/wait';
import { ApprovalTestApp, bearer, call, startApprovalApp } from '../testing/approval-test.app';
import { submitJob } from '../testing/job.fixture';
import { openSse } from '../testing/sse.client';
import { startWebhookReceiver, writeWebhooksFile } from '../testing/webhook-receiver';
import { writePolicyFile } from '../testing/test-policies';
import { ESCALATION_ACTOR } from './approval-escalation.scheduler';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

const POLICY = `
version: v1
default: deny
rules:
  - id: ops-only
    when: {topic: ops.restart}
    decision: require_human
    approval: {required: 1, timeout: 1h, notify: [webhook:ops]}
  - id: everyone
    when: {topic: reports.publish}
    decision: require_human
    approval: {required: 1, timeout: 1h}
  - id: nobody-configured
    when: {topic: misc.thing}
    decision: require_human
    approval: {required: 1, timeout: 1h, notify: [webhook:nobody]}
  - id: escalating-payments
    when: {topic: finance.pay}
    decision: require_human
    approval:
      reviewers: [finance-approver]
      timeout: 4h
      notify: [webhook:ops]
      escalate:
        - {after: 30m, notify: [webhook:audit]}
        - {after: 2h, add_reviewers: [finance-director]}
`;

const startReceiver = () => startWebhookReceiver();
const webhooksFile = writeWebhooksFile;

describe('who is notified, reminders and escalations, on real PostgreSQL', () => {
  let policyPath: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let file: string;
  const dbs: { drop: () => Promise<void> }[] = [];
  const apps: ApprovalTestApp[] = [];
  const start = async (databaseUrl: string, clock: FixedClock) => {
    const env = { SIGNOFF_WEBHOOKS_FILE: file, WEBHOOK_MAX_ATTEMPTS: '2', WEBHOOK_TIMEOUT_MS: '1000', WEBHOOK_BACKOFF_BASE_MS: '20', WEBHOOK_BACKOFF_MAX_MS: '50' };
    const svc = await startApprovalApp({ databaseUrl, policyPath, clock, env, expirySweepIntervalMs: 50 });
    apps.push(svc);
    return svc;
  };
  const stop = async (svc: ApprovalTestApp) => {
    apps.splice(apps.indexOf(svc), 1);
    await svc.close();
  };
  const database = async (name: string) => {
    const db = await createTestDatabase(name);
    dbs.push(db);
    return db.url;
  };
  const bodies = (endpoint: 'ops' | 'audit', jobId: string) =>
    receiver.received
      .filter((r) => r.path === `/${endpoint}`)
      .map((r) => verifyWebhook<{ job_id: string; step?: number; add_reviewers?: string[] }>(SECRET, r.headers, r.body, { now: new Date(Number(r.headers['webhook-timestamp']) * 1000) }))
      .filter((p) => p.data.job_id === jobId);
  const history = (svc: ApprovalTestApp, jobId: string) => svc.app.get(EventStore).readStream<JobEvent>(toJobStreamId({ tenant: 'default', jobId }));
  const settle = () => new Promise((r) => setTimeout(r, 400));

  beforeAll(async () => {
    policyPath = writePolicyFile(POLICY);
    receiver = await startReceiver();
    file = webhooksFile([
      { id: 'ops', url: `${receiver.url}/ops`, secrets: [SECRET], events: ['approval.requested', 'approval.reminder', 'approval.granted'] },
      { id: 'audit', url: `${receiver.url}/audit`, secrets: [SECRET], events: ['approval.requested', 'approval.granted'] },
    ]);
  });
  afterAll(async () => {
    for (const svc of apps) await svc.close().catch(() => undefined);
    await receiver?.close();
    for (const db of dbs) await db.drop();
  });

  it('a rule that notifies one endpoint: only that one receives its approval events; without notify every subscribed endpoint does; an unconfigured name is a warning and a metric', async () => {
    const clock = new FixedClock(new Date('2026-04-01T09:00:00.000Z'));
    const svc = await start(await database('notify'), clock);
    const opsOnly = await submitJob(svc.app, { topic: 'ops.restart' });
    const everyone = await submitJob(svc.app, { topic: 'reports.publish' });

    await eventually(() => bodies('ops', opsOnly.job_id).length === 1 && bodies('ops', everyone.job_id).length === 1 && bodies('audit', everyone.job_id).length === 1, 'the requested webhooks');
    expect(bodies('ops', opsOnly.job_id).map((p) => p.type)).toEqual(['approval.requested']);
    // The decision is taken from the event: still only ops for the granted one.
    const rita = await bearer('rita', ['reviewer']);
    expect((await call(svc.url, 'POST', `/approvals/${opsOnly.job_id}/approve`, rita)).body.status).toBe('approved');
    await eventually(() => bodies('ops', opsOnly.job_id).length === 2, 'approval.granted to ops');
    await settle();
    expect(bodies('audit', opsOnly.job_id)).toEqual([]);

    const text = await svc.app.get(SignoffMetrics).text();
    expect(text).toMatch(/^signoff_notify_unknown_targets 1$/m);
    await stop(svc);
  });

  it('reminder then escalation fire once each across two instances and a restart; the added role approves only after the escalation', async () => {
    const clock = new FixedClock(new Date('2026-04-02T09:00:00.000Z'));
    const url = await database('escalation');
    const a = await start(url, clock);
    let b = await start(url, clock);
    const stream = await openSse(a.url, await bearer('rita', ['reviewer']), { topic: 'finance.*' });
    const job = await submitJob(a.app, { topic: 'finance.pay', payload: { amount: 9000 } });
    const dana = await bearer('dana', ['reviewer', 'finance-director']);
    const count = async (type: JobEvent['type']) => (await history(a, job.job_id)).filter((e) => e.type === type).length;

    // Before any step: the director's role is not one of the rule's.
    expect(await call(a.url, 'POST', `/approvals/${job.job_id}/approve`, dana)).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    clock.advance(29 * 60_000);
    await settle();
    expect(await count('ApprovalReminderSent')).toBe(0);

    // 30 min: the reminder, once, to the step's target (audit) only.
    clock.advance(60_000);
    await eventually(async () => (await count('ApprovalReminderSent')) === 1, 'ApprovalReminderSent');
    await eventually(() => bodies('audit', job.job_id).some((p) => p.type === 'approval.reminder'), 'approval.reminder to audit');
    const reminder = (await history(a, job.job_id)).find((e) => e.type === 'ApprovalReminderSent')!;
    expect(reminder.data).toEqual({ job_id: job.job_id, approval_ref: job.status === 'approval_required' ? job.approval_ref : '', step: 1, notify: ['webhook:audit'], at: '2026-04-02T09:30:00.000Z' });
    expect(reminder.metadata.actor).toBe(ESCALATION_ACTOR);
    expect(await call(a.url, 'POST', `/approvals/${job.job_id}/approve`, dana)).toMatchObject({ status: 403, body: { code: 'forbidden' } });

    // A restart of one instance in between does not fire the reminder again.
    await stop(b);
    b = await start(url, clock);
    await settle();
    expect(await count('ApprovalReminderSent')).toBe(1);

    // 2 h: the escalation, once; it tells the approval's targets (ops), whose filter predates it.
    clock.advance(90 * 60_000);
    await eventually(async () => (await count('ApprovalEscalated')) === 1, 'ApprovalEscalated');
    await settle();
    expect(await count('ApprovalEscalated')).toBe(1);
    expect(await count('ApprovalReminderSent')).toBe(1);
    await eventually(() => bodies('ops', job.job_id).some((p) => p.type === 'approval.escalated'), 'approval.escalated to ops');
    expect(bodies('ops', job.job_id).find((p) => p.type === 'approval.escalated')!.data).toMatchObject({ step: 2, add_reviewers: ['finance-director'] });
    expect(bodies('ops', job.job_id).filter((p) => p.type === 'approval.reminder')).toEqual([]);
    expect(bodies('audit', job.job_id).filter((p) => p.type === 'approval.reminder')).toHaveLength(1);

    const reminders = async (svc: ApprovalTestApp) => (await svc.app.get(SignoffMetrics).approvalReminders.get()).values[0]?.value ?? 0;
    const escalations = async (svc: ApprovalTestApp) => (await svc.app.get(SignoffMetrics).approvalEscalations.get()).values[0]?.value ?? 0;
    // Counted by the sweeper that recorded the step. Two sweepers deciding on the same revision both
    // see their (idempotent, same event ids) append succeed, so a raced step may be counted by both;
    // the log holds it once (asserted above). b restarted after the reminder, so its count may be gone.
    expect((await reminders(a)) + (await reminders(b))).toBeLessThanOrEqual(2);
    const escalationCount = (await escalations(a)) + (await escalations(b));
    expect(escalationCount).toBeGreaterThanOrEqual(1);
    expect(escalationCount).toBeLessThanOrEqual(2);

    // The added role may approve now (through the other instance), and the view shows the steps.
    const approve = await call(b.url, 'POST', `/approvals/${job.job_id}/approve`, dana);
    expect(approve).toMatchObject({ status: 200, body: { status: 'approved' } });
    // SSE (and WatchApprovals, the same feed) carried the two new kinds, in order.
    await eventually(() => stream.events.some((e) => e.event === 'granted'), 'the granted change on the stream');
    expect(stream.events.filter((e) => (e.data.approval as { job_id: string }).job_id === job.job_id).map((e) => e.event)).toEqual(['requested', 'reminded', 'escalated', 'vote_recorded', 'granted']);
    stream.close();
    const detail = (await history(a, job.job_id)).map((e) => e.type);
    expect(detail).toEqual(['JobSubmitted', 'PolicyEvaluated', 'ApprovalRequested', 'ApprovalReminderSent', 'ApprovalEscalated', 'ApprovalVoteRecorded', 'ApprovalGranted']);
  });
});
