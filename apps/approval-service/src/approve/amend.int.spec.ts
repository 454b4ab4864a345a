import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobEvent, toJobStreamId } from '@signoff/contracts';
import { EventStore } from '@signoff/event-store';
import { jobHash, normalizeJobRequest } from '@signoff/policy-engine';
import { createTestDatabase } from '../../../../test/support/infra';
import { ApprovalTestApp, bearer, call, startApprovalApp } from '../testing/approval-test.app';
import { submitJob } from '../testing/job.fixture';
import { writePolicyFile } from '../testing/test-policies';

/*
 * Edit before approve (issue 12 section 5) on the real approval service and PostgreSQL: a reviewer
 * approves an amended request; the amendment is evaluated by the active policy, gets its own hash,
 * its votes count apart, and the grant binds it.
 */
const POLICY = `
version: v1
default: deny
rules:
  - id: deny-sanctioned
    description: no payments to sanctioned countries
    when: {topic: finance.payment.execute, payload.beneficiary.country: {in: [KP]}}
    decision: deny
  - id: payments-burst
    when: {topic: finance.payment.execute}
    decision: throttle
    throttle: {limit: 1000, per: 1h, key: tenant}
  - id: board-payments
    when: {topic: finance.payment.execute, payload.amount: {gt: 100000}}
    decision: require_human
    approval: {required: 3, timeout: 1h}
  - id: small-payments
    when: {topic: finance.payment.execute, payload.amount: {lte: 500}}
    decision: require_human
    approval: {required: 1, timeout: 1h}
    redact: [payload.beneficiary.name]
  - id: payments
    when: {topic: finance.payment.execute}
    decision: require_human
    approval: {required: 1, timeout: 1h}
  - id: refund-burst
    when: {topic: finance.refund}
    decision: throttle
    throttle: {limit: 2, per: 1h, key: tenant}
  - id: refunds
    when: {topic: finance.refund}
    decision: require_human
    approval: {required: 1, timeout: 1h}
  - id: transfers
    when: {topic: finance.transfer.large}
    decision: require_human
    approval: {required: 2, timeout: 1h}
`;

const PAYMENT = { amount: 1250, currency: 'EUR', beneficiary: { name: 'ACME GmbH', country: 'DE' } };

describe('edit before approve on real PostgreSQL', () => {
  let db: { url: string; drop: () => Promise<void> };
  let svc: ApprovalTestApp;
  let rita: string;
  let sam: string;
  let tom: string;
  let events: (jobId: string) => Promise<JobEvent[]>;

  beforeAll(async () => {
    db = await createTestDatabase('amend');
    svc = await startApprovalApp({ databaseUrl: db.url, policyPath: writePolicyFile(POLICY) });
    rita = await bearer('rita', ['reviewer']);
    sam = await bearer('sam', ['reviewer']);
    tom = await bearer('tom', ['reviewer']);
    events = async (jobId) =>
      (await svc.app.get(EventStore).readStream<JobEvent>(toJobStreamId({ tenant: 'default', jobId }))).map(({ type, data, metadata }) => ({ type, data, metadata }) as JobEvent);
  });
  afterAll(async () => {
    await svc?.close();
    await db?.drop();
  });

  const payment = () => submitJob(svc.app, { topic: 'finance.payment.execute', labels: { env: 'production' }, payload: PAYMENT });

  it('a reviewer approves a lower amount: the amendment gets its own hash, the grant binds it, history and GET show original and amendment', async () => {
    const job = await payment();
    expect(job.status).toBe('approval_required');
    const amendedPayload = { ...PAYMENT, amount: 900 };
    const res = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, rita, {
      reason: 'only 900 are due',
      job_hash: job.job_hash,
      policy_snapshot: job.policy_snapshot,
      amended_request: { payload: amendedPayload, topic: 'finance.payment.execute' },
    });
    const amendedHash = jobHash(normalizeJobRequest({ topic: 'finance.payment.execute', priority: 'high', tenant: 'default', submitted_by: 'agent-7', labels: { env: 'production' }, payload: amendedPayload }));
    expect(amendedHash).not.toBe(job.job_hash);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ job_id: job.job_id, status: 'approved', approval_id: expect.any(String), state: 'PENDING', approvals: 1, required: 1, approved_job_hash: amendedHash });

    const stored = await events(job.job_id);
    expect(stored.map((e) => e.type)).toEqual(['JobSubmitted', 'PolicyEvaluated', 'ApprovalRequested', 'JobAmendmentProposed', 'ApprovalVoteRecorded', 'ApprovalGranted']);
    expect(stored[3]!.data).toMatchObject({
      amendment_hash: amendedHash,
      amends_job_hash: job.job_hash,
      request: { payload: amendedPayload, labels: { env: 'production' }, submitted_by: 'agent-7' },
      changed_paths: ['payload.amount'],
      proposed_by: 'rita',
      evaluation: { decision: 'require_human', rule_id: 'payments', policy_snapshot: job.policy_snapshot },
    });
    expect(stored[3]!.metadata.actor).toBe('rita');
    expect(stored[4]!.data).toMatchObject({ reviewer: 'rita', approved_job_hash: amendedHash, approvals: 1, required: 1 });
    expect(stored[5]!.data).toMatchObject({ job_hash: amendedHash, approved_by: ['rita'], policy_snapshot: job.policy_snapshot });

    const detail = await call(svc.url, 'GET', `/approvals/${job.job_id}`, sam);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({
      state: 'approved',
      job_hash: job.job_hash,
      approved_job_hash: amendedHash,
      request: { payload: PAYMENT },
      amendments: [{ job_hash: amendedHash, changed_paths: ['payload.amount'], proposed_by: 'rita', approvals: 1, voters: ['rita'], request: { payload: amendedPayload } }],
    });
    const history = await call(svc.url, 'GET', `/jobs/${job.job_id}/events`, sam);
    expect(history.status).toBe(200);
    expect(JSON.stringify(history.body)).toContain('JobAmendmentProposed');
  });

  it('an amended request decided by a rule that redacts is redacted wherever the job is shown (the original too)', async () => {
    const job = await payment();
    const res = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, rita, { amended_request: { payload: { ...PAYMENT, amount: 400 } } });
    expect(res.status).toBe(200);
    const detail = await call(svc.url, 'GET', `/approvals/${job.job_id}`, sam);
    expect(detail.body).toMatchObject({ amendments: [{ rule_id: 'small-payments', request: { payload: { amount: 400 } } }] });
    const history = await call(svc.url, 'GET', `/jobs/${job.job_id}/events`, sam);
    expect(history.status).toBe(200);
    for (const shown of [JSON.stringify(detail.body), JSON.stringify(history.body)]) {
      expect(shown).not.toContain('ACME GmbH');
    }
    expect(JSON.stringify(history.body)).toContain('JobAmendmentProposed');
  });

  it('amendments are refused with clear codes and leave the stream unchanged', async () => {
    const job = await payment();
    const before = (await events(job.job_id)).length;
    const approve = (amended_request: unknown) => call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, rita, { amended_request });

    const denied = await approve({ payload: { ...PAYMENT, beneficiary: { name: 'X', country: 'KP' } } });
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ code: 'amendment_denied', rule_id: 'deny-sanctioned', reason: 'no payments to sanctioned countries (rule deny-sanctioned)' });

    const stricter = await approve({ payload: { ...PAYMENT, amount: 250_000 } });
    expect(stricter.status).toBe(409);
    expect(stricter.body).toMatchObject({ code: 'amendment_needs_new_approval', rule_id: 'board-payments', required: 3, open_required: 1 });

    const smuggled = await approve({ labels: { env: 'production', Approval_Granted: 'true' } });
    expect(smuggled.status).toBe(400);
    expect(smuggled.body).toMatchObject({ code: 'reserved_label', labels: ['Approval_Granted'] });

    for (const [field, value] of [['topic', 'finance.payment.refund'], ['tenant', 'globex'], ['submitted_by', 'rita'], ['job_id', 'other'], ['priority', 'low']] as const) {
      const fixed = await approve({ payload: PAYMENT, [field]: value });
      expect(fixed.status, field).toBe(400);
      expect(fixed.body, field).toMatchObject({ code: 'amendment_field_fixed', field: `amended_request.${field}` });
    }

    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = { d: deep };
    for (const invalid of [[], 'x', {}, { payload: PAYMENT, recipient: 'x' }, { labels: ['a'] }, { labels: { env: 7 } }, { payload: deep }, { payload: 'nul\u0000' }]) {
      const refused = await approve(invalid);
      expect(refused.status, JSON.stringify(invalid).slice(0, 60)).toBe(400);
      expect(refused.body.code).toBe('invalid_request');
    }
    expect((await events(job.job_id)).length).toBe(before);
  });

  it('the amendment consumes no throttle slot and a throttle rule does not refuse it', async () => {
    // refund-burst allows 2 refunds per tenant and hour: the first submission takes one slot.
    const first = await submitJob(svc.app, { topic: 'finance.refund', payload: { amount: 80 } });
    const res = await call(svc.url, 'POST', `/approvals/${first.job_id}/approve`, rita, { amended_request: { payload: { amount: 60 } } });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('approved');
    // Had the amendment taken a slot, this second submission would be throttled.
    expect((await submitJob(svc.app, { topic: 'finance.refund', payload: { amount: 70 } })).status).toBe('approval_required');
    await expect(submitJob(svc.app, { topic: 'finance.refund', payload: { amount: 75 } })).rejects.toThrow(/throttled/);
  });

  it('quorum 2: votes for two different amendments, or an amendment and the original, never add up; two votes for one amendment grant it', async () => {
    const job = await submitJob(svc.app, { topic: 'finance.transfer.large', payload: { amount: 50_000, to: 'DE1' } });
    const approve = (token: string, body: object) => call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, token, body);
    const a = { amended_request: { payload: { amount: 40_000, to: 'DE1' } } };
    const b = { amended_request: { payload: { amount: 30_000, to: 'DE1' } } };
    expect((await approve(rita, a)).body).toMatchObject({ status: 'approval_recorded', approvals: 1, required: 2 });
    expect((await approve(sam, b)).body).toMatchObject({ status: 'approval_recorded', approvals: 1, required: 2 });
    expect((await approve(tom, {})).body).toEqual({ job_id: job.job_id, status: 'approval_recorded', approvals: 1, required: 2 });
    expect((await events(job.job_id)).map((e) => e.type)).not.toContain('ApprovalGranted');

    const pending = await call(svc.url, 'GET', `/approvals/${job.job_id}`, rita);
    expect(pending.body).toMatchObject({ state: 'pending', approvals: 1, voters: ['tom'] });
    expect((pending.body.amendments as { voters: string[] }[]).map((x) => x.voters)).toEqual([['rita'], ['sam']]);

    // Tom also approves amendment A: its second distinct reviewer, the grant binds A.
    const granted = await approve(tom, a);
    expect(granted.body).toMatchObject({ status: 'approved', approved_job_hash: expect.stringMatching(/^sha256:/) });
    const grant = (await events(job.job_id)).find((e) => e.type === 'ApprovalGranted');
    expect(grant?.data).toMatchObject({ approved_by: ['rita', 'tom'], job_hash: granted.body.approved_job_hash });
    expect(grant?.data).not.toMatchObject({ job_hash: job.job_hash });
  });
});
