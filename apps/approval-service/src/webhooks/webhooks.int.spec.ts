import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApprovalRequestedData, JobEvent, toJobStreamId, verifyWebhook } from '@signoff/contracts';
import { FixedClock } from '@signoff/core/testing';
import { EventStore } from '@signoff/event-store';
import { SignoffMetrics } from '@signoff/observability';
import { freePort } from '../../../../deploy/local/ports';
import { createTestDatabase } from '../../../../test/support/infra';
import { eventually } from '../../../../test/support/wait';
import { ApprovalTestApp, bearer, call, startApprovalApp } from '../testing/approval-test.app';
import { paymentJob, submitJob } from '../testing/job.fixture';
import { ReceivedWebhook, startWebhookReceiver, WebhookReceiver, writeWebhooksFile } from '../testing/webhook-receiver';
import { writePolicyFile } from '../testing/test-policies';
import { WEBHOOK_DELIVERY_FAILED, WebhookDeliveryFailedData, webhookStreamId } from './webhook-endpoint.delivery';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const NEXT_SECRET = 'whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24=';
const TIMEOUT_MS = 1000;

/** A real HTTP receiver: `/ok` answers 204, `/flaky` 500 then 200, `/hang` never answers, `/redirect` 307. */
function startReceiver(): Promise<WebhookReceiver> {
  let flakyCalls = 0;
  return startWebhookReceiver(({ path: at }) => {
    if (at === '/hang') return null;
    if (at === '/flaky') {
      flakyCalls += 1;
      return flakyCalls === 1 ? 500 : 200;
    }
    if (at === '/redirect') return { status: 307, headers: { location: '/ok' } };
    return 204;
  });
}

const webhooksFile = writeWebhooksFile;

describe('outbound webhooks from the approval service, on real PostgreSQL and a real HTTP receiver', () => {
  let db: { url: string; drop: () => Promise<void> };
  let policyPath: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let refusedUrl: string;
  let rita: string;
  const apps: ApprovalTestApp[] = [];
  const clock = new FixedClock(new Date('2026-03-02T10:00:00.000Z'));
  const env = (file: string) => ({
    SIGNOFF_WEBHOOKS_FILE: file,
    WEBHOOK_MAX_ATTEMPTS: '3',
    WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
    WEBHOOK_BACKOFF_BASE_MS: '20',
    WEBHOOK_BACKOFF_MAX_MS: '50',
  });
  const start = async (file: string) => {
    const svc = await startApprovalApp({ databaseUrl: db.url, policyPath, clock, env: env(file) });
    apps.push(svc);
    return svc;
  };
  const stop = async (svc: ApprovalTestApp) => {
    apps.splice(apps.indexOf(svc), 1);
    await svc.close();
  };
  const at = (p: string) => receiver.received.filter((r) => r.path === p);
  const deadLetters = async (svc: ApprovalTestApp, endpoint: string) =>
    (await svc.app.get(EventStore).readStream<{ type: string; data: WebhookDeliveryFailedData }>(webhookStreamId(endpoint))).filter((e) => e.type === WEBHOOK_DELIVERY_FAILED);
  const endpoint = (id: string, url: string, events = ['approval.requested'], secrets = [SECRET]) => ({ id, url, secrets, events });

  beforeAll(async () => {
    db = await createTestDatabase('webhooks');
    policyPath = writePolicyFile();
    receiver = await startReceiver();
    refusedUrl = `http://127.0.0.1:${await freePort()}/nobody`;
    rita = await bearer('rita', ['reviewer']);
  });
  afterAll(async () => {
    for (const svc of apps) await svc.close().catch(() => undefined);
    await receiver?.close();
    await db?.drop();
  });

  it('delivers signed approval events once, retries a 500 with the same webhook-id, dead-letters dead endpoints without delaying a healthy one, and resumes from the checkpoint after a restart', async () => {
    const file = webhooksFile([
      endpoint('healthy', `${receiver.url}/ok`, ['approval.requested', 'approval.granted'], [SECRET, NEXT_SECRET]),
      endpoint('flaky', `${receiver.url}/flaky`),
      endpoint('refused', refusedUrl),
      endpoint('hanging', `${receiver.url}/hang`),
      endpoint('redirect', `${receiver.url}/redirect`),
    ]);
    const svc = await start(file);
    const submittedAt = Date.now();
    const job = await submitJob(svc.app, paymentJob());
    const events = await svc.app.get(EventStore).readStream<JobEvent>(toJobStreamId({ tenant: 'default', jobId: job.job_id }));
    const requested = events.find((e) => e.type === 'ApprovalRequested')!;

    // 1. The healthy endpoint gets it at once, while the hanging one is still on its first attempt.
    await eventually(() => at('/ok').length === 1, 'the healthy endpoint to receive approval.requested', 5000);
    const first = at('/ok')[0];
    expect(first.at - submittedAt).toBeLessThan(TIMEOUT_MS);
    expect(await deadLetters(svc, 'hanging')).toHaveLength(0);

    // 2. Standard Webhooks headers, one signature per secret, both verify; the body has no payload.
    expect(first.headers['content-type']).toBe('application/json');
    expect(first.headers['webhook-id']).toBe(requested.id);
    expect(first.headers['webhook-timestamp']).toBe(String(Math.floor(clock.now().getTime() / 1000)));
    expect(String(first.headers['webhook-signature']).split(' ')).toHaveLength(2);
    const payload = verifyWebhook(SECRET, first.headers, first.body, { now: clock.now() });
    expect(verifyWebhook(NEXT_SECRET, first.headers, first.body, { now: clock.now() })).toEqual(payload);
    expect(() => verifyWebhook(SECRET, first.headers, first.body, { now: new Date(clock.now().getTime() + 301_000) })).toThrow(/older/);
    expect(payload).toEqual({
      type: 'approval.requested',
      timestamp: '2026-03-02T10:00:00.000Z',
      data: {
        job_id: job.job_id,
        tenant: 'default',
        topic: 'finance.payment.execute',
        approval_ref: (requested.data as ApprovalRequestedData).approval_ref,
        rule_id: 'require-approval-prod-finance',
        policy_snapshot: expect.any(String),
        job_hash: expect.any(String),
        required: 1,
        requested_at: '2026-03-02T10:00:00.000Z',
        expires_at: '2026-03-02T11:00:00.000Z',
      },
    });
    expect(first.body).not.toMatch(/payload|labels|amount|agent-7/);

    // 3. 500 then 200: the same message twice, with the same webhook-id, then nothing more.
    await eventually(() => at('/flaky').length === 2, 'the flaky endpoint to get a retry', 5000);
    expect(at('/flaky').map((r) => r.headers['webhook-id'])).toEqual([requested.id, requested.id]);

    // 4. Refused, hanging past the timeout, redirecting: dead-lettered after 3 attempts each.
    await eventually(async () => (await deadLetters(svc, 'refused')).length === 1, 'the refused endpoint dead-lettered', 10_000);
    await eventually(async () => (await deadLetters(svc, 'hanging')).length === 1, 'the hanging endpoint dead-lettered', 10_000);
    await eventually(async () => (await deadLetters(svc, 'redirect')).length === 1, 'the redirecting endpoint dead-lettered', 10_000);
    const [refused] = await deadLetters(svc, 'refused');
    expect(refused.data).toMatchObject({ endpoint_id: 'refused', webhook_id: requested.id, type: 'approval.requested', job_id: job.job_id, attempts: 3, reason: 'ECONNREFUSED' });
    expect((await deadLetters(svc, 'hanging'))[0].data).toMatchObject({ attempts: 3, reason: `timeout after ${TIMEOUT_MS} ms` });
    expect((await deadLetters(svc, 'redirect'))[0].data).toMatchObject({ attempts: 3, reason: 'status 307' });
    expect(at('/hang')).toHaveLength(3);
    expect(at('/ok').filter((r) => r.path === '/ok')).toHaveLength(1); // the redirect was not followed

    // 5. A grant reaches the endpoint that subscribed to approval.granted only.
    expect((await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, rita)).body.status).toBe('approved');
    await eventually(() => at('/ok').length === 2, 'approval.granted to the healthy endpoint', 5000);
    const granted = verifyWebhook(SECRET, at('/ok')[1].headers, at('/ok')[1].body, { now: clock.now() });
    expect(granted).toMatchObject({ type: 'approval.granted', data: { job_id: job.job_id, approved_by: ['rita'] } });
    expect(at('/ok')[1].headers['webhook-id']).not.toBe(requested.id);

    // The receiver records a request before it answers; the service counts the delivery once the answer is back.
    await eventually(async () => (await svc.app.get(SignoffMetrics).text()).includes('signoff_webhook_deliveries_total{endpoint="healthy",outcome="delivered"} 2'), 'the grant counted as delivered', 5000);
    const metrics = await svc.app.get(SignoffMetrics).text();
    expect(metrics).toContain('signoff_webhook_deliveries_total{endpoint="healthy",outcome="delivered"} 2');
    expect(metrics).toContain('signoff_webhook_deliveries_total{endpoint="flaky",outcome="retried"} 1');
    expect(metrics).toContain('signoff_webhook_deliveries_total{endpoint="flaky",outcome="delivered"} 1');
    expect(metrics).toContain('signoff_webhook_deliveries_total{endpoint="refused",outcome="retried"} 2');
    expect(metrics).toContain('signoff_webhook_deliveries_total{endpoint="refused",outcome="dead_lettered"} 1');
    expect(metrics).toMatch(/signoff_webhook_delivery_seconds_count\{endpoint="healthy"\} 2/);

    // 6. Restart: nothing delivered or dead-lettered is sent again; a new approval is.
    await new Promise((r) => setTimeout(r, 300));
    await stop(svc);
    const before = receiver.received.length;
    const again = await start(file);
    const next = await submitJob(again.app, paymentJob());
    await eventually(() => at('/ok').length === 3 && at('/flaky').length === 3, 'the new approval after the restart', 5000);
    await new Promise((r) => setTimeout(r, 500));
    const afterRestart = receiver.received.slice(before).filter((r) => r.path !== '/hang' && r.path !== '/redirect');
    expect(afterRestart.map((r) => [r.path, (JSON.parse(r.body) as { data: { job_id: string } }).data.job_id])).toEqual(
      expect.arrayContaining([
        ['/ok', next.job_id],
        ['/flaky', next.job_id],
      ]),
    );
    expect(afterRestart.every((r) => (JSON.parse(r.body) as { data: { job_id: string } }).data.job_id === next.job_id)).toBe(true);
    // The old message is not dead-lettered twice; the new one gets its own record.
    await eventually(async () => (await deadLetters(again, 'refused')).length === 2, 'the new approval dead-lettered for the refused endpoint', 10_000);
    expect((await deadLetters(again, 'refused')).map((e) => e.data.job_id)).toEqual([job.job_id, next.job_id]);
    await stop(again);
  }, 60_000);

  it('two instances on the same log send each message once (the per-message claim), and both keep the checkpoint', async () => {
    const file = webhooksFile([endpoint('shared', `${receiver.url}/shared`, ['approval.requested'])]);
    const one = await start(file);
    const two = await start(file);
    const jobs = [];
    for (let i = 0; i < 6; i += 1) jobs.push(await submitJob(i % 2 === 0 ? one.app : two.app, paymentJob()));
    // A new endpoint starts at the start of the log: it also gets the approvals of the test above.
    const jobIdOf = (r: ReceivedWebhook) => (JSON.parse(r.body) as { data: { job_id: string } }).data.job_id;
    const mine = new Set(jobs.map((j) => j.job_id));
    await eventually(() => new Set(at('/shared').filter((r) => mine.has(jobIdOf(r))).map(jobIdOf)).size === jobs.length, 'every approval.requested at the shared endpoint', 10_000);
    await new Promise((r) => setTimeout(r, 700));
    const ids = at('/shared').map((r) => r.headers['webhook-id']);
    expect(new Set(ids).size).toBe(ids.length);
    expect(at('/shared').filter((r) => mine.has(jobIdOf(r)))).toHaveLength(jobs.length);
    const sent = async (svc: ApprovalTestApp) => {
      const m = /signoff_webhook_deliveries_total\{endpoint="shared",outcome="delivered"\} (\d+)/.exec(await svc.app.get(SignoffMetrics).text());
      return m ? Number(m[1]) : 0;
    };
    expect((await sent(one)) + (await sent(two))).toBe(ids.length);
    await stop(one);
    await stop(two);

    // Restarted, the endpoint sends nothing old again.
    const total = at('/shared').length;
    const three = await start(file);
    const late = await submitJob(three.app, paymentJob());
    await eventually(() => at('/shared').length === total + 1, 'the new approval after both restarts', 5000);
    await new Promise((r) => setTimeout(r, 500));
    expect(at('/shared')).toHaveLength(total + 1);
    expect(jobIdOf(at('/shared')[total])).toBe(late.job_id);
    await stop(three);
  }, 60_000);
});
