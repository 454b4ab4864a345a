import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApprovalExpiredData, JobEvent, toJobStreamId } from '@signoff/contracts';
import { FixedClock } from '@signoff/core/testing';
import { EventStore } from '@signoff/event-store';
import { createTestDatabase } from '../../../../test/support/infra';
import { eventually } from '../../../../test/support/wait';
import { ApprovalTestApp, bearer, call, startApprovalApp } from '../testing/approval-test.app';
import { paymentJob, submitJob } from '../testing/job.fixture';
import { writePolicyFile } from '../testing/test-policies';
import { EXPIRY_ACTOR } from './approval-expiry.scheduler';

describe('approval expiry derived from the event log, on real PostgreSQL', () => {
  let db: { url: string; drop: () => Promise<void> };
  let policyPath: string;
  let rita: string;
  const apps: ApprovalTestApp[] = [];
  const start = async (clock: FixedClock) => {
    const svc = await startApprovalApp({ databaseUrl: db.url, policyPath, clock, expirySweepIntervalMs: 50 });
    apps.push(svc);
    return svc;
  };
  const stop = async (svc: ApprovalTestApp) => {
    apps.splice(apps.indexOf(svc), 1);
    await svc.close();
  };
  const history = async (svc: ApprovalTestApp, jobId: string) => svc.app.get(EventStore).readStream<JobEvent>(toJobStreamId({ tenant: 'default', jobId }));

  beforeAll(async () => {
    db = await createTestDatabase('expiry');
    policyPath = writePolicyFile();
    rita = await bearer('rita', ['reviewer']);
  });
  afterAll(async () => {
    for (const svc of apps) await svc.close().catch(() => undefined);
    await db?.drop();
  });

  it('expires a due approval (on_timeout reject -> EXPIRED); approve is then 409 expired', async () => {
    const clock = new FixedClock(new Date('2026-01-05T09:00:00.000Z'));
    const svc = await start(clock);
    const job = await submitJob(svc.app, { topic: 'customer.notify', labels: { channel: 'external' } });
    clock.advance(29 * 60_000);
    await new Promise((r) => setTimeout(r, 200));
    expect((await history(svc, job.job_id)).map((e) => e.type)).not.toContain('ApprovalExpired');

    clock.advance(60_000);
    await eventually(async () => (await history(svc, job.job_id)).some((e) => e.type === 'ApprovalExpired'), 'ApprovalExpired', 5000);
    const expired = (await history(svc, job.job_id)).find((e) => e.type === 'ApprovalExpired')!;
    expect(expired.data as ApprovalExpiredData).toMatchObject({ expires_at: '2026-01-05T09:30:00.000Z', on_timeout: 'reject' });
    expect(expired.metadata).toMatchObject({ actor: EXPIRY_ACTOR, at: '2026-01-05T09:30:00.000Z' });

    const detail = await call(svc.url, 'GET', `/approvals/${job.job_id}`, rita);
    expect(detail.body).toMatchObject({ state: 'expired', job_state: 'EXPIRED' });
    const approve = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, rita);
    expect(approve.status).toBe(409);
    expect(approve.body.code).toBe('expired');
    await eventually(async () => {
      const page = await call(svc.url, 'GET', '/approvals?limit=500', rita);
      return !(page.body.items as { job_id: string }[]).some((i) => i.job_id === job.job_id);
    }, 'the expired approval to leave the list');
    await stop(svc);
  });

  it('an approval that fell due while the service was down is expired after the next start (nothing lives in a timer)', async () => {
    const clock = new FixedClock(new Date('2026-02-01T12:00:00.000Z'));
    const first = await start(clock);
    const job = await submitJob(first.app, paymentJob());
    const approvedMeanwhile = await submitJob(first.app, paymentJob());
    expect((await call(first.url, 'POST', `/approvals/${approvedMeanwhile.job_id}/approve`, rita)).body.status).toBe('approved');
    await stop(first);

    clock.advance(2 * 3_600_000);
    const second = await start(clock);
    await eventually(async () => (await history(second, job.job_id)).some((e) => e.type === 'ApprovalExpired'), 'ApprovalExpired after the restart', 10_000);
    const detail = await call(second.url, 'GET', `/approvals/${job.job_id}`, rita);
    expect(detail.body).toMatchObject({ state: 'expired', job_state: 'EXPIRED', expired_at: '2026-02-01T14:00:00.000Z' });
    // The approval granted before the restart is left alone.
    expect((await history(second, approvedMeanwhile.job_id)).map((e) => e.type)).not.toContain('ApprovalExpired');
    // Exactly one expiry, however many sweeps ran.
    await new Promise((r) => setTimeout(r, 200));
    expect((await history(second, job.job_id)).filter((e) => e.type === 'ApprovalExpired')).toHaveLength(1);
  });
});
