import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_JWT_SECRET } from '../support/app';
import { ServiceProcess, startApp } from '../support/processes';
import { metric, SignoffClient } from '../support/signoff-client';
import { eventually } from '../support/wait';

const POLICY = 'test/e2e/fixtures/e2e-policy.yaml';

/**
 * The whole story on `npm start`'s composition: PGlite event store, in-process transport, the
 * demo worker in-process. Each job's history is checked through the API; side effects are
 * counted in the worker's own database once the process has stopped.
 */
describe('standalone control plane (npm start)', () => {
  let dataDir: string;
  let app: ServiceProcess;
  let submitter: SignoffClient;
  let reviewer: SignoffClient;
  let reviewer2: SignoffClient;
  let admin: SignoffClient;

  const start = async () => {
    app = await startApp('standalone', {
      EVENT_STORE_URL: `pglite://${dataDir}`,
      POLICY_PATH: POLICY,
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      GRPC_PORT: '0',
      DISPATCH_GRACE_MS: '500',
    });
    submitter = await SignoffClient.as(app.url, 'agent-1', ['submitter']);
    reviewer = await SignoffClient.as(app.url, 'rita', ['reviewer']);
    reviewer2 = await SignoffClient.as(app.url, 'rob', ['reviewer']);
    admin = await SignoffClient.as(app.url, 'root', ['admin', 'auditor']);
  };
  const stateOf = async (id: string) => (await submitter.job(id)).body.state;
  const sideEffects = async (jobId: string): Promise<number> => {
    const db = await PGlite.create(path.join(dataDir, 'worker'));
    try {
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM demo_worker_side_effects WHERE job_id = $1', [jobId]);
      return rows[0].n;
    } finally {
      await db.close();
    }
  };

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'signoff-e2e-standalone-'));
    await start();
  });
  afterAll(async () => {
    await app?.stop('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('tells every outcome apart and runs what may run, once', async () => {
    const allowed = await submitter.submit({ job_id: 'sa-allow', topic: 'knowledge.read', payload: { q: 'refunds' } });
    expect(allowed.status).toBe(202);
    expect(allowed.body).toMatchObject({ status: 'accepted', decision: 'allow', rule_id: 'allow-readonly' });
    await eventually(async () => (await stateOf('sa-allow')) === 'SUCCEEDED', 'the allowed job to succeed', 20_000);

    const again = await submitter.submit({ topic: 'knowledge.read', payload: { q: 'refunds' }, job_id: 'sa-allow' });
    expect(again.status).toBe(202);
    expect(again.body).toEqual(allowed.body);

    const denied = await submitter.submit({ job_id: 'sa-deny', topic: 'data.delete' });
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe('policy_denied');
    expect(await stateOf('sa-deny')).toBe('DENIED');

    expect((await submitter.submit({ topic: 'api.call' })).status).toBe(202);
    expect((await submitter.submit({ topic: 'api.call' })).status).toBe(202);
    const throttled = await submitter.submit({ job_id: 'sa-throttled', topic: 'api.call' });
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await submitter.job('sa-throttled')).status).toBe(404);

    const human = await submitter.submit({ job_id: 'sa-pay', topic: 'finance.payment.execute', priority: 'high', labels: { env: 'production' }, payload: { amount: 1200 } });
    expect(human.body).toMatchObject({ status: 'approval_required', decision: 'require_human' });
    const listed = await reviewer.call('GET', '/approvals?state=pending');
    expect((listed.body.items as { job_id: string }[]).map((i) => i.job_id)).toContain('sa-pay');
    const approved = await reviewer.approve('sa-pay', { reason: 'validated invoice and policy context' });
    expect(approved.body).toMatchObject({ status: 'approved', state: 'PENDING' });
    const repeated = await reviewer.approve('sa-pay');
    expect(repeated.body).toMatchObject({ status: 'already_approved', approval_id: approved.body.approval_id });
    await eventually(async () => (await stateOf('sa-pay')) === 'SUCCEEDED', 'the approved job to succeed', 20_000);
    const job = (await reviewer.job('sa-pay')).body as { dispatch: { attempt: number }; result: { status: string } };
    expect(job.dispatch.attempt).toBe(1);
    const history = (await admin.call('GET', '/jobs/sa-pay/events')).body.events as { type: string; metadata: { actor: string } }[];
    expect(history.map((e) => e.type)).toEqual([
      'JobSubmitted',
      'PolicyEvaluated',
      'ApprovalRequested',
      'ApprovalVoteRecorded',
      'ApprovalGranted',
      'DispatchClaimed',
      'JobDispatched',
      'JobStarted',
      'JobCompleted',
    ]);
    expect(history[4].metadata.actor).toBe('rita');

    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metric(metrics, 'signoff_policy_decisions_total{decision="allow"}')).toBe(3);
    expect(metric(metrics, 'signoff_policy_decisions_total{decision="deny"}')).toBe(1);
    expect(metric(metrics, 'signoff_policy_decisions_total{decision="throttle"}')).toBe(1);
    expect(metric(metrics, 'signoff_policy_decisions_total{decision="require_human"}')).toBe(1);
    expect(metric(metrics, 'signoff_approvals_already_approved_total')).toBe(1);
    expect(metric(metrics, 'signoff_jobs_dispatched_total')).toBe(4);
    expect(metric(metrics, 'signoff_approvals_pending')).toBe(0);
  });

  it('a policy change under a pending approval shows it drifted, then answers 409 snapshot_changed', async () => {
    const pending = await submitter.submit({ job_id: 'sa-drift', topic: 'finance.payment.execute', labels: { env: 'production' } });
    expect(pending.status).toBe(202);
    const changed = fs.readFileSync(POLICY, 'utf8').replace('limit: 2', 'limit: 3');
    expect((await admin.call('PUT', '/policy', changed)).status).toBe(200);
    await eventually(
      async () => ((await reviewer.call('GET', '/approvals?state=pending')).body.items as { job_id: string; drifted: boolean }[]).some((i) => i.job_id === 'sa-drift' && i.drifted),
      'the approval to show as drifted',
      2_000,
    );
    const refused = await reviewer2.approve('sa-drift');
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'snapshot_changed', expected: pending.body.policy_snapshot });
  });

  it('killed with SIGKILL right after an approval and restarted, the job is dispatched and its side effect runs exactly once', async () => {
    // The previous test changed the policy: re-activate the original bundle first.
    expect((await admin.call('PUT', '/policy', fs.readFileSync(POLICY, 'utf8'))).status).toBe(200);
    const fresh = await submitter.submit({ job_id: 'sa-crash-2', topic: 'finance.payment.execute', labels: { env: 'production' }, payload: { amount: 8 } });
    expect(fresh.status).toBe(202);
    const approved = await reviewer.approve('sa-crash-2');
    expect(approved.body.status).toBe('approved');
    await app.stop('SIGKILL');
    await start();
    await eventually(async () => (await stateOf('sa-crash-2')) === 'SUCCEEDED', 'the approved job to succeed after the restart', 30_000);
    const history = (await admin.call('GET', '/jobs/sa-crash-2/events')).body.events as { type: string }[];
    expect(history.filter((e) => e.type === 'ApprovalGranted')).toHaveLength(1);
    expect(history.filter((e) => e.type === 'JobCompleted')).toHaveLength(1);
    expect(await app.stop('SIGTERM')).toBe(0);
    expect(await sideEffects('sa-crash-2')).toBe(1);
    expect(await sideEffects('sa-pay')).toBe(1);
    expect(await sideEffects('sa-allow')).toBe(1);
    await start();
  });

  it('edit before approve: a reviewer lowers the amount, the worker runs the amended request (its hash check passes), the history shows both', async () => {
    const submitted = await submitter.submit({ job_id: 'sa-amend', topic: 'finance.payment.execute', labels: { env: 'production' }, payload: { amount: 1200, to: 'DE44' } });
    expect(submitted.body).toMatchObject({ status: 'approval_required' });
    const approved = await reviewer.approve('sa-amend', {
      reason: 'only 900 are due',
      job_hash: submitted.body.job_hash,
      amended_request: { payload: { amount: 900, to: 'DE44' } },
    });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'approved', approved_job_hash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect(approved.body.approved_job_hash).not.toBe(submitted.body.job_hash);
    // The worker verifies the dispatched job's hash before it runs: SUCCEEDED means it ran the amendment.
    await eventually(async () => (await stateOf('sa-amend')) === 'SUCCEEDED', 'the amended job to succeed', 20_000);
    const history = (await admin.call('GET', '/jobs/sa-amend/events')).body.events as { type: string; data: Record<string, unknown>; metadata: { actor: string } }[];
    expect(history.map((e) => e.type)).toEqual([
      'JobSubmitted',
      'PolicyEvaluated',
      'ApprovalRequested',
      'JobAmendmentProposed',
      'ApprovalVoteRecorded',
      'ApprovalGranted',
      'DispatchClaimed',
      'JobDispatched',
      'JobStarted',
      'JobCompleted',
    ]);
    expect(history[0].data).toMatchObject({ job_hash: submitted.body.job_hash, request: { payload: { amount: 1200 } } });
    expect(history[3].data).toMatchObject({ amendment_hash: approved.body.approved_job_hash, changed_paths: ['payload.amount'], proposed_by: 'rita', request: { payload: { amount: 900 } } });
    expect(history[5].data).toMatchObject({ job_hash: approved.body.approved_job_hash, approved_by: ['rita'] });
    const job = (await reviewer.job('sa-amend')).body;
    expect(job).toMatchObject({ job_hash: submitted.body.job_hash, approval: { approved_job_hash: approved.body.approved_job_hash, amendments: [{ proposed_by: 'rita', voters: ['rita'] }] } });
  });
});
