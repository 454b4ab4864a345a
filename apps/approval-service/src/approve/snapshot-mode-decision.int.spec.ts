import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApprovalGrantedData, JobEvent, toJobStreamId } from '@signoff/contracts';
import { ActivePolicy } from '@signoff/core';
import { EventStore } from '@signoff/event-store';
import { createTestDatabase } from '../../../../test/support/infra';
import { eventually } from '../../../../test/support/wait';
import { ApprovalTestApp, bearer, call, startApprovalApp } from '../testing/approval-test.app';
import { paymentJob, submitJob } from '../testing/job.fixture';
import { POLICY_V1, POLICY_V2_UNRELATED_CHANGE, POLICY_V3_STRICTER_PAYMENTS, writePolicyFile } from '../testing/test-policies';

describe('SNAPSHOT_MODE=decision on real PostgreSQL', () => {
  let db: { url: string; drop: () => Promise<void> };
  let svc: ApprovalTestApp;
  let rita: string;
  const listed = async (jobId: string) => {
    const res = await call(svc.url, 'GET', '/approvals?limit=500', rita);
    return (res.body.items as Record<string, unknown>[]).find((i) => i.job_id === jobId);
  };

  beforeAll(async () => {
    db = await createTestDatabase('decision');
    svc = await startApprovalApp({ databaseUrl: db.url, policyPath: writePolicyFile(POLICY_V1), env: { SNAPSHOT_MODE: 'decision' } });
    rita = await bearer('rita', ['reviewer']);
  });
  afterAll(async () => {
    await svc?.close();
    await db?.drop();
  });

  it('keeps an approval whose outcome is unchanged under a new snapshot, and records which snapshot it was checked against', async () => {
    const job = await submitJob(svc.app, paymentJob());
    await eventually(async () => (await listed(job.job_id)) !== undefined, 'the approval to be listed');
    const v2 = await svc.app.get(ActivePolicy).activate(POLICY_V2_UNRELATED_CHANGE, 'admin');
    expect(v2.snapshot).not.toBe(job.policy_snapshot);
    expect((await listed(job.job_id))?.drifted).toBe(false);

    const approved = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, rita);
    expect(approved.status).toBe(200);
    expect(approved.body.status).toBe('approved');
    const events = await svc.app.get(EventStore).readStream<JobEvent>(toJobStreamId({ tenant: 'default', jobId: job.job_id }));
    const grant = events.find((e) => e.type === 'ApprovalGranted')!.data as ApprovalGrantedData;
    // Bound to what was requested; the equivalent snapshot it was checked against is on record.
    expect(grant).toMatchObject({ policy_snapshot: job.policy_snapshot, job_hash: job.job_hash, equivalent_snapshot: v2.snapshot });
  });

  it('refuses (409 snapshot_changed) and lists as drifted an approval whose re-evaluated outcome differs', async () => {
    const job = await submitJob(svc.app, paymentJob());
    await eventually(async () => (await listed(job.job_id))?.drifted === false, 'the approval to be listed');
    const v3 = await svc.app.get(ActivePolicy).activate(POLICY_V3_STRICTER_PAYMENTS, 'admin');
    await eventually(async () => (await listed(job.job_id))?.drifted === true, 'the approval to be marked drifted', 1000);
    const refused = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, rita);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'snapshot_changed', expected: job.policy_snapshot, current: v3.snapshot });
    const detail = await call(svc.url, 'GET', `/approvals/${job.job_id}`, rita);
    expect(detail.body).toMatchObject({ state: 'pending', drifted: true, active_policy_snapshot: v3.snapshot });
  });
});
