import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../../test/support/infra';
import { ApprovalTestApp, bearer, call, startApprovalApp } from '../testing/approval-test.app';
import { paymentJob, submitJob } from '../testing/job.fixture';
import { writePolicyFile } from '../testing/test-policies';

describe('reading approvals and job histories on real PostgreSQL', () => {
  let db: { url: string; drop: () => Promise<void> };
  let svc: ApprovalTestApp;
  let rita: string;

  beforeAll(async () => {
    db = await createTestDatabase('getapproval');
    svc = await startApprovalApp({ databaseUrl: db.url, policyPath: writePolicyFile() });
    rita = await bearer('rita', ['reviewer']);
  });
  afterAll(async () => {
    await svc?.close();
    await db?.drop();
  });

  it('GET /approvals/:job_id: the approval with the job request it is bound to, read from the log', async () => {
    const job = await submitJob(svc.app, paymentJob({ tenant: 'acme', payload: { amount: 1250, currency: 'EUR', iban: 'DE00 0000' } }));
    const res = await call(svc.url, 'GET', `/approvals/${job.job_id}?tenant=acme`, await bearer('audra', ['auditor']));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      job_id: job.job_id,
      state: 'pending',
      job_state: 'APPROVAL_REQUIRED',
      topic: 'finance.payment.execute',
      tenant: 'acme',
      rule_id: 'require-approval-prod-finance',
      policy_snapshot: job.policy_snapshot,
      job_hash: job.job_hash,
      active_policy_snapshot: job.policy_snapshot,
      drifted: false,
      approvals: 0,
      required: 1,
      reviewers: [],
      voters: [],
      request: {
        topic: 'finance.payment.execute',
        priority: 'high',
        tenant: 'acme',
        submitted_by: 'agent-7',
        labels: { env: 'production' },
        payload: { amount: 1250, currency: 'EUR', iban: 'DE00 0000' },
      },
    });
    await call(svc.url, 'POST', `/approvals/${job.job_id}/approve?tenant=acme`, rita, { reason: 'ok' });
    const after = await call(svc.url, 'GET', `/approvals/${job.job_id}?tenant=acme`, rita);
    expect(after.body).toMatchObject({ state: 'approved', job_state: 'PENDING', approved_by: ['rita'], voters: ['rita'], approvals: 1 });

    const allowed = await submitJob(svc.app, { topic: 'knowledge.read' });
    expect((await call(svc.url, 'GET', `/approvals/${allowed.job_id}`, rita)).status).toBe(404);
    expect((await call(svc.url, 'GET', `/approvals/${job.job_id}?tenant=acme`, await bearer('agent-7', ['submitter']))).status).toBe(403);
  });

  it("GET /jobs/:id/events: the job's events in order with who and when, for auditors, admins and reviewers only", async () => {
    const job = await submitJob(svc.app, paymentJob());
    await call(svc.url, 'POST', `/approvals/${job.job_id}/reject`, rita, { reason: 'wrong beneficiary' });
    for (const roles of [['auditor'], ['admin'], ['reviewer']]) {
      const res = await call(svc.url, 'GET', `/jobs/${job.job_id}/events`, await bearer('someone', roles));
      expect(res.status).toBe(200);
      const events = res.body.events as { revision: number; type: string; metadata: { actor: string; at: string }; data: Record<string, unknown> }[];
      expect(res.body.job_id).toBe(job.job_id);
      expect(events.map((e) => [e.revision, e.type, e.metadata.actor])).toEqual([
        [0, 'JobSubmitted', 'agent-7'],
        [1, 'PolicyEvaluated', 'agent-7'],
        [2, 'ApprovalRequested', 'agent-7'],
        [3, 'ApprovalRejected', 'rita'],
      ]);
      expect(events[1]!.data).toMatchObject({ decision: 'require_human', policy_snapshot: job.policy_snapshot });
      expect(events[3]!.data).toMatchObject({ rejected_by: 'rita', reason: 'wrong beneficiary' });
    }
    const submitter = await call(svc.url, 'GET', `/jobs/${job.job_id}/events`, await bearer('agent-7', ['submitter']));
    expect(submitter.status).toBe(403);
    expect((await call(svc.url, 'GET', '/jobs/nope/events', rita)).status).toBe(404);
  });
});
