import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobEvent, toJobStreamId } from '@signoff/contracts';
import { ActivePolicy } from '@signoff/core';
import { EventStore } from '@signoff/event-store';
import { SignoffMetrics } from '@signoff/observability';
import { jobHash, normalizeJobRequest } from '@signoff/policy-engine';
import { createTestDatabase } from '../../../../test/support/infra';
import { ApprovalTestApp, bearer, call, startApprovalApp } from '../testing/approval-test.app';
import { paymentJob, submitJob } from '../testing/job.fixture';
import { writePolicyFile } from '../testing/test-policies';
import { PendingApprovalsProjection } from '../projections/pending-approvals.projection';

async function metric(svc: ApprovalTestApp, name: 'approvalsAlreadyApproved' | 'approvalsSnapshotMismatch' | 'approvalConflicts'): Promise<number> {
  const data = await svc.app.get(SignoffMetrics)[name].get();
  return data.values[0]?.value ?? 0;
}

describe('approve and reject on real PostgreSQL', () => {
  let db: { url: string; drop: () => Promise<void> };
  let svc: ApprovalTestApp;
  let rita: string;
  let sam: string;
  let events: (jobId: string, tenant?: string) => Promise<JobEvent[]>;

  beforeAll(async () => {
    db = await createTestDatabase('approve');
    svc = await startApprovalApp({ databaseUrl: db.url, policyPath: writePolicyFile() });
    rita = await bearer('rita', ['reviewer']);
    sam = await bearer('sam', ['reviewer']);
    events = async (jobId, tenant = 'default') => (await svc.app.get(EventStore).readStream<JobEvent>(toJobStreamId({ tenant, jobId }))).map(({ type, data, metadata }) => ({ type, data, metadata }) as JobEvent);
  });
  afterAll(async () => {
    await svc?.close();
    await db?.drop();
  });

  it('approves once (200 approved, ApprovalGranted bound to snapshot and hash), then answers already_approved with the same approval_id', async () => {
    const job = await submitJob(svc.app, paymentJob());
    expect(job.status).toBe('approval_required');
    const first = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, rita, { reason: 'invoice checked' });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ job_id: job.job_id, status: 'approved', approval_id: expect.any(String), state: 'PENDING', approvals: 1, required: 1 });
    const stored = await events(job.job_id);
    expect(stored.map((e) => e.type)).toEqual(['JobSubmitted', 'PolicyEvaluated', 'ApprovalRequested', 'ApprovalVoteRecorded', 'ApprovalGranted']);
    const grant = stored[4]!;
    expect(grant.data).toMatchObject({
      approval_id: first.body.approval_id,
      approved_by: ['rita'],
      policy_snapshot: job.policy_snapshot,
      job_hash: job.job_hash,
      reason: 'invoice checked',
    });
    expect(grant.metadata.actor).toBe('rita');

    const before = await metric(svc, 'approvalsAlreadyApproved');
    const again = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, sam);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ job_id: job.job_id, status: 'already_approved', approval_id: first.body.approval_id, state: 'PENDING' });
    expect(await metric(svc, 'approvalsAlreadyApproved')).toBe(before + 1);
    expect((await events(job.job_id)).length).toBe(5);
  });

  it('1,000 concurrent approves of one job: one ApprovalGranted, 1 approved + 999 already_approved, no 5xx', async () => {
    const job = await submitJob(svc.app, paymentJob());
    const reviewers = await Promise.all(Array.from({ length: 20 }, (_, i) => bearer(`reviewer-${i}`, ['reviewer'])));
    // Count the reads of this job's stream: a loser of the race (a conflict) decides again on the
    // winner's state, which its instance knows, without reading the stream.
    const store = svc.app.get(EventStore);
    const stream = toJobStreamId({ tenant: 'default', jobId: job.job_id });
    const readStream = store.readStream.bind(store);
    let reads = 0;
    store.readStream = ((id: string, options?: Parameters<EventStore['readStream']>[1]) => {
      if (id === stream) reads += 1;
      return readStream(id, options);
    }) as EventStore['readStream'];
    // Every request then decides first on the projection's fold (pending) or, once the projection
    // folded the grant, on a read that sees it: only the former can conflict.
    const projection = svc.app.get(PendingApprovalsProjection);
    for (let i = 0; i < 500 && projection.cached({ tenant: 'default', jobId: job.job_id }) === null; i++) await new Promise((r) => setTimeout(r, 10));
    expect(projection.cached({ tenant: 'default', jobId: job.job_id })).not.toBeNull();
    const conflictsBefore = await metric(svc, 'approvalConflicts');
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, reviewers[i % reviewers.length]!)),
    ).finally(() => {
      store.readStream = readStream;
    });
    const settledMs = performance.now() - started;
    const conflicts = (await metric(svc, 'approvalConflicts')) - conflictsBefore;
    // At most one read per request that did not conflict (decided on its own read, not the projection's fold), none per loser.
    expect(reads).toBeLessThanOrEqual(1000 - conflicts);
    const byStatus = new Map<string, number>();
    for (const a of answers) {
      const key = `${a.status} ${String(a.body.status ?? a.body.code)}`;
      byStatus.set(key, (byStatus.get(key) ?? 0) + 1);
    }
    expect(Object.fromEntries(byStatus)).toEqual({ '200 approved': 1, '200 already_approved': 999 });
    const approvalIds = new Set(answers.map((a) => a.body.approval_id));
    expect(approvalIds.size).toBe(1);
    const grants = (await events(job.job_id)).filter((e) => e.type === 'ApprovalGranted');
    expect(grants).toHaveLength(1);
    expect(grants[0]!.data).toMatchObject({ approval_id: [...approvalIds][0] });
    console.info(`1,000 concurrent approves settled in ${settledMs.toFixed(0)} ms (${conflicts} conflicts, ${reads} reads of the stream)`);
  });

  it('approve racing reject: exactly one wins, the other is answered 409, and the stream holds only the winner', async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < 20; round++) {
      const job = await submitJob(svc.app, paymentJob());
      const [approve, reject] = await Promise.all([
        call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, rita),
        call(svc.url, 'POST', `/approvals/${job.job_id}/reject`, sam, { reason: 'looks wrong' }),
      ]);
      const types = (await events(job.job_id)).map((e) => e.type);
      if (approve.status === 200) {
        expect(approve.body.status).toBe('approved');
        expect(reject.status).toBe(409);
        expect(reject.body.code).toBe('already_approved');
        expect(types).toContain('ApprovalGranted');
        expect(types).not.toContain('ApprovalRejected');
        outcomes.push('approve');
      } else {
        expect(approve.status).toBe(409);
        expect(approve.body.code).toBe('already_rejected');
        expect(reject.status).toBe(200);
        expect(reject.body).toEqual({ job_id: job.job_id, status: 'rejected', state: 'REJECTED' });
        expect(types).toContain('ApprovalRejected');
        expect(types).not.toContain('ApprovalGranted');
        outcomes.push('reject');
      }
    }
    expect(outcomes).toHaveLength(20);
  });

  it('a quorum of 2 needs two distinct reviewers; a repeated vote is not counted twice', async () => {
    const job = await submitJob(svc.app, { topic: 'finance.transfer.large', payload: { amount: 90_000 } });
    const first = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, rita, { reason: 'first look' });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ job_id: job.job_id, status: 'approval_recorded', approvals: 1, required: 2 });
    const repeat = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, rita);
    expect(repeat.body).toEqual({ job_id: job.job_id, status: 'approval_recorded', approvals: 1, required: 2 });
    const second = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, sam);
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ status: 'approved', state: 'PENDING' });
    const stored = await events(job.job_id);
    expect(stored.filter((e) => e.type === 'ApprovalVoteRecorded').map((e) => (e.data as { reviewer: string }).reviewer)).toEqual(['rita', 'sam']);
    expect(stored.find((e) => e.type === 'ApprovalGranted')?.data).toMatchObject({ approved_by: ['rita', 'sam'] });
  });

  it('the submitter cannot approve their own job (403 self_approval_forbidden), not even as a reviewer', async () => {
    const job = await submitJob(svc.app, paymentJob({ submitted_by: 'dual-hat' }));
    const self = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, await bearer('dual-hat', ['submitter', 'reviewer']));
    expect(self.status).toBe(403);
    expect(self.body.code).toBe('self_approval_forbidden');
    expect((await events(job.job_id)).map((e) => e.type)).not.toContain('ApprovalVoteRecorded');
  });

  it('self-approval and quorums compare normalised identities over HTTP; an ineligible caller never hears already_approved', async () => {
    const job = await submitJob(svc.app, paymentJob({ submitted_by: 'agent-x' }));
    for (const spelling of ['Agent-X', 'AGENT-X', 'ａｇｅｎｔ－ｘ']) {
      const self = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, await bearer(spelling, ['reviewer']));
      expect(self.status, spelling).toBe(403);
      expect(self.body.code).toBe('self_approval_forbidden');
    }
    expect((await events(job.job_id)).map((e) => e.type)).not.toContain('ApprovalVoteRecorded');

    const quorum = await submitJob(svc.app, { topic: 'finance.transfer.large' });
    expect((await call(svc.url, 'POST', `/approvals/${quorum.job_id}/approve`, await bearer('Alice', ['reviewer']))).body).toMatchObject({ status: 'approval_recorded', approvals: 1, required: 2 });
    expect((await call(svc.url, 'POST', `/approvals/${quorum.job_id}/approve`, await bearer('alice', ['reviewer']))).body).toMatchObject({ status: 'approval_recorded', approvals: 1, required: 2 });
    expect((await events(quorum.job_id)).filter((e) => e.type === 'ApprovalVoteRecorded')).toHaveLength(1);
    expect((await call(svc.url, 'POST', `/approvals/${quorum.job_id}/approve`, sam)).body).toMatchObject({ status: 'approved' });

    // Approved now: the submitter (any spelling) and a topic-less reviewer get their 403, not already_approved.
    await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, rita);
    const late = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, await bearer('Agent-X', ['reviewer']));
    expect(late.status).toBe(403);
    expect(late.body.code).toBe('self_approval_forbidden');
    const outsider = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, await bearer('nora', ['reviewer'], { topics: ['customer.*'] }));
    expect(outsider.status).toBe(403);
    expect(outsider.body.code).toBe('forbidden');
    expect(JSON.stringify(outsider.body)).not.toMatch(/already_approved|finance/);
    const rejectLate = await call(svc.url, 'POST', `/approvals/${job.job_id}/reject`, await bearer('AGENT-X', ['reviewer']), { reason: 'mine' });
    expect(rejectLate.body.code).toBe('self_approval_forbidden');
    expect((await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, sam)).body).toMatchObject({ status: 'already_approved' });
  });

  it('a job of another tenant is 404 not_found exactly like a missing job, for every route', async () => {
    const job = await submitJob(svc.app, paymentJob({ tenant: 'acme' }));
    const globex = await bearer('gina', ['reviewer', 'auditor'], { tenants: ['globex'] });
    const probes: [string, 'GET' | 'POST', string, unknown][] = [
      ['approve', 'POST', '/approve', {}],
      ['reject', 'POST', '/reject', { reason: 'probe' }],
      ['get', 'GET', '', undefined],
    ];
    for (const [, method, suffix, body] of probes) {
      for (const tenant of ['', '?tenant=acme']) {
        const other = await call(svc.url, method, `/approvals/${job.job_id}${suffix}${tenant}`, globex, body);
        const missing = await call(svc.url, method, `/approvals/no-such-job${suffix}${tenant}`, globex, body);
        expect(other.status).toBe(404);
        expect(missing.status).toBe(404);
        const strip = (b: Record<string, unknown>) => ({ ...b, detail: undefined, instance: undefined });
        expect(strip(other.body)).toEqual(strip(missing.body));
        expect(Object.keys(other.body).sort()).toEqual(['code', 'detail', 'instance', 'status', 'title', 'type']);
        expect(JSON.stringify(other.body)).not.toMatch(/finance|sha256|rule/);
      }
    }
    for (const tenant of ['', '?tenant=acme']) {
      const history = await call(svc.url, 'GET', `/jobs/${job.job_id}/events${tenant}`, globex);
      expect(history.status).toBe(404);
      expect(history.body.code).toBe('not_found');
    }
    // The right tenant still decides (its token's only tenant is the default of the call).
    const acme = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, await bearer('amy', ['reviewer'], { tenants: ['acme'] }));
    expect(acme.body.status).toBe('approved');
  });

  it('topic globs limit what a reviewer may decide (403 forbidden); roles are enforced (401 without a token, 403 for a submitter)', async () => {
    const job = await submitJob(svc.app, paymentJob());
    const notify = await bearer('nora', ['reviewer'], { topics: ['customer.*'] });
    const refused = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, notify);
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('forbidden');
    const rejectRefused = await call(svc.url, 'POST', `/approvals/${job.job_id}/reject`, notify, { reason: 'no' });
    expect(rejectRefused.status).toBe(403);
    const anon = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, null);
    expect(anon.status).toBe(401);
    expect(anon.body.code).toBe('unauthenticated');
    const submitter = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, await bearer('agent-9', ['submitter']));
    expect(submitter.status).toBe(403);
    expect(submitter.body.code).toBe('forbidden');
    const finance = await bearer('fin', ['reviewer'], { topics: ['finance.*'] });
    expect((await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, finance)).body.status).toBe('approved');
    expect((await events(job.job_id)).filter((e) => e.type === 'ApprovalVoteRecorded')).toHaveLength(1);
  });

  it("a rule's reviewer roles come from the token's roles claim (domain roles included)", async () => {
    const job = await submitJob(svc.app, { topic: 'infra.change', payload: { change: 'resize db' } });
    const plain = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, rita);
    expect(plain.status).toBe(403);
    expect(plain.body).toMatchObject({ code: 'forbidden', required_roles: ['change-approver'] });
    const approver = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, await bearer('cora', ['reviewer', 'change-approver']));
    expect(approver.body.status).toBe('approved');
  });

  it('stale_review when the reviewer looked at another snapshot or hash; matching values approve', async () => {
    const job = await submitJob(svc.app, paymentJob());
    const otherSnapshot = `sha256:${'0'.repeat(64)}`;
    const staleSnapshot = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, rita, { policy_snapshot: otherSnapshot });
    expect(staleSnapshot.status).toBe(409);
    expect(staleSnapshot.body).toMatchObject({ code: 'stale_review', field: 'policy_snapshot', expected: job.policy_snapshot, reviewed: otherSnapshot });
    const staleHash = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, rita, { job_hash: `sha256:${'1'.repeat(64)}` });
    expect(staleHash.status).toBe(409);
    expect(staleHash.body).toMatchObject({ code: 'stale_review', field: 'job_hash', expected: job.job_hash });
    const ok = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, rita, { policy_snapshot: job.policy_snapshot, job_hash: job.job_hash });
    expect(ok.body.status).toBe('approved');
  });

  it('the same job id re-submitted with other content is refused 409 job_request_changed and the approval stays bound to the original', async () => {
    const job = await submitJob(svc.app, paymentJob());
    const resubmitted = await submitJob(svc.app, paymentJob({ job_id: job.job_id, payload: { amount: 999_999, currency: 'EUR' } })).catch((e: unknown) => e);
    expect(resubmitted).toMatchObject({ code: 'job_request_changed', extensions: { expected: job.job_hash } });
    const ok = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, rita, { job_hash: job.job_hash });
    expect(ok.body.status).toBe('approved');
  });

  it('409 job_request_changed when the stored request no longer hashes to what the approval is bound to', async () => {
    // A stream whose JobSubmitted request was altered after the hash was taken (a writer that
    // bypassed the decider): the approval must not be honoured.
    const original = normalizeJobRequest({ topic: 'finance.payment.execute', submitted_by: 'agent-7', tenant: 'acme', labels: { env: 'production' }, payload: { amount: 10 } });
    const tampered = { ...original, payload: { amount: 10_000_000 } };
    const bound = jobHash(original);
    const jobId = `tampered-${Date.now()}`;
    const snapshot = svc.app.get(ActivePolicy).get().snapshot;
    const at = new Date().toISOString();
    const meta = { correlationId: 'c', causationId: 'c', actor: 'agent-7', at };
    await svc.app.get(EventStore).appendToStream(
      toJobStreamId({ tenant: 'acme', jobId }),
      [
        { id: randomUUID(), type: 'JobSubmitted', data: { job_id: jobId, request: tampered, job_hash: bound }, metadata: meta },
        {
          id: randomUUID(),
          type: 'PolicyEvaluated',
          data: { job_id: jobId, decision: 'require_human', rule_id: 'require-approval-prod-finance', reason: 'r', policy_snapshot: snapshot, policy_version: 'v1' },
          metadata: meta,
        },
        {
          id: randomUUID(),
          type: 'ApprovalRequested',
          data: {
            job_id: jobId,
            approval_ref: 'apr_tampered',
            rule_id: 'require-approval-prod-finance',
            policy_snapshot: snapshot,
            job_hash: bound,
            requirement: { required: 1, reviewers: [], timeout_ms: 3_600_000, on_timeout: 'reject' },
            requested_at: at,
            expires_at: new Date(Date.now() + 3_600_000).toISOString(),
          },
          metadata: meta,
        },
      ],
      { expectedRevision: 'no_stream' },
    );
    const before = await metric(svc, 'approvalsSnapshotMismatch');
    const refused = await call(svc.url, 'POST', `/approvals/${jobId}/approve?tenant=acme`, rita);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'job_request_changed', expected: bound, current: jobHash(tampered) });
    expect(await metric(svc, 'approvalsSnapshotMismatch')).toBe(before + 1);
    expect((await events(jobId, 'acme')).map((e) => e.type)).not.toContain('ApprovalVoteRecorded');
  });

  it('409 not_awaiting_approval for an allowed job; 404 for a job that does not exist', async () => {
    const allowed = await submitJob(svc.app, { topic: 'knowledge.read' });
    expect(allowed.status).toBe('accepted');
    const res = await call(svc.url, 'POST', `/approvals/${allowed.job_id}/approve`, rita);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('not_awaiting_approval');
    const missing = await call(svc.url, 'POST', '/approvals/does-not-exist/approve', rita);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/application\/problem\+json/);
    for (const id of ['%00', 'a%20b', '..%2F..%2Fpolicy', '%E2%9C%93']) {
      const odd = await call(svc.url, 'POST', `/approvals/${id}/approve`, rita);
      expect(odd.status, id).toBe(404);
      expect(odd.body.code).toBe('not_found');
    }
  });

  it('400 invalid_request with per-field errors for a bad approve body or a reject without a reason', async () => {
    const job = await submitJob(svc.app, paymentJob());
    const bad = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, rita, { policy_snapshot: 'latest', extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('invalid_request');
    expect((bad.body.errors as { field: string }[]).map((e) => e.field).sort()).toEqual(['extra', 'policy_snapshot']);
    for (const body of [undefined, {}, { reason: '' }]) {
      const noReason = await call(svc.url, 'POST', `/approvals/${job.job_id}/reject`, rita, body);
      expect(noReason.status).toBe(400);
      expect(noReason.body.code).toBe('invalid_request');
      const fields = (noReason.body.errors as { field: string }[]).map((e) => e.field);
      expect(fields.length).toBeGreaterThan(0);
      expect(new Set(fields)).toEqual(new Set(['reason']));
    }
    expect((await events(job.job_id)).length).toBe(3);
  });

  it('reject: 200 rejected, then already_rejected; approve after it is 409 already_rejected', async () => {
    const job = await submitJob(svc.app, paymentJob());
    const first = await call(svc.url, 'POST', `/approvals/${job.job_id}/reject`, rita, { reason: 'amount does not match the invoice' });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ job_id: job.job_id, status: 'rejected', state: 'REJECTED' });
    const again = await call(svc.url, 'POST', `/approvals/${job.job_id}/reject`, sam, { reason: 'me too' });
    expect(again.body).toEqual({ job_id: job.job_id, status: 'already_rejected' });
    const approve = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, sam);
    expect(approve.status).toBe(409);
    expect(approve.body.code).toBe('already_rejected');
    const rejected = (await events(job.job_id)).filter((e) => e.type === 'ApprovalRejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.data).toMatchObject({ rejected_by: 'rita', reason: 'amount does not match the invoice' });
  });
});
