import { randomUUID } from 'node:crypto';
import { ServiceError, status as GrpcStatus } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobEvent, toJobStreamId } from '@signoff/contracts';
import { EventStore } from '@signoff/event-store';
import { createTestDatabase } from '../../../../test/support/infra';
import { eventually } from '../../../../test/support/wait';
import { ApprovalTestApp, bearer, startApprovalApp } from '../testing/approval-test.app';
import { approvalsClient, ApprovalsClient } from '../testing/grpc.client';
import { paymentJob, submitJob } from '../testing/job.fixture';
import { writePolicyFile } from '../testing/test-policies';
import { CODE_TRAILER, problemOf } from './grpc-errors';

async function failure(promise: Promise<unknown>): Promise<ServiceError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e as ServiceError,
  );
  if (!error) throw new Error('expected the call to fail');
  return error;
}

describe('gRPC signoff.v1.Approvals with a real @grpc/grpc-js client, on real PostgreSQL', () => {
  let db: { url: string; drop: () => Promise<void> };
  let svc: ApprovalTestApp;
  let client: ApprovalsClient;
  let rita: string;
  let sam: string;
  const history = async (jobId: string) => (await svc.app.get(EventStore).readStream<JobEvent>(toJobStreamId({ tenant: 'default', jobId }))).map((e) => e.type);

  beforeAll(async () => {
    db = await createTestDatabase('grpc');
    svc = await startApprovalApp({ databaseUrl: db.url, policyPath: writePolicyFile(), grpc: true });
    client = approvalsClient(svc.grpcAddress!);
    rita = await bearer('rita', ['reviewer']);
    sam = await bearer('sam', ['reviewer']);
  });
  afterAll(async () => {
    client?.close();
    await svc?.close();
    await db?.drop();
  });

  it('Approve: approved, then already_approved is OK with its status', async () => {
    const job = await submitJob(svc.app, paymentJob());
    const approved = await client.call('Approve', { job_id: job.job_id, reason: 'fine' }, rita);
    expect(approved).toMatchObject({ job_id: job.job_id, status: 'approved', state: 'PENDING', approvals: 1, required: 1 });
    expect(approved.approval_id).toMatch(/^[0-9a-f-]{36}$/);
    const again = await client.call('Approve', { job_id: job.job_id }, sam);
    // Where the job stands now: a reviewer's retry learns it without a second call (issue 16).
    expect(again).toMatchObject({ job_id: job.job_id, status: 'already_approved', approval_id: approved.approval_id, state: 'PENDING' });
  });

  it('Approve with a quorum answers approval_recorded with the counts', async () => {
    const job = await submitJob(svc.app, { topic: 'finance.transfer.large' });
    expect(await client.call('Approve', { job_id: job.job_id }, rita)).toMatchObject({ status: 'approval_recorded', approvals: 1, required: 2 });
  });

  it('Approve with amended_request_json (edit before approve): the vote binds the amendment; a bad amendment is refused with its code', async () => {
    const job = await submitJob(svc.app, paymentJob());
    const bad = await failure(client.call('Approve', { job_id: job.job_id, amended_request_json: JSON.stringify({ topic: 'other.topic', payload: {} }) }, rita));
    expect(bad.code).toBe(3);
    expect(bad.metadata.get(CODE_TRAILER)).toEqual(['amendment_field_fixed']);
    expect((await failure(client.call('Approve', { job_id: job.job_id, amended_request_json: '{not json' }, rita))).code).toBe(3);
    const amended = await client.call('Approve', { job_id: job.job_id, amended_request_json: JSON.stringify({ payload: { amount: 900, currency: 'EUR' } }) }, rita);
    expect(amended).toMatchObject({ job_id: job.job_id, status: 'approved', approved_job_hash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect(amended.approved_job_hash).not.toBe(job.job_hash);
    expect(await history(job.job_id)).toContain('JobAmendmentProposed');
  });

  it('1,000 concurrent gRPC approves of one job: one ApprovalGranted, 1 approved + 999 already_approved, no error', async () => {
    const job = await submitJob(svc.app, paymentJob());
    const answers = await Promise.allSettled(Array.from({ length: 1000 }, () => client.call('Approve', { job_id: job.job_id }, rita)));
    const statuses = answers.map((a) => (a.status === 'fulfilled' ? String(a.value.status) : `error ${(a.reason as ServiceError).code}`));
    expect(statuses.filter((s) => s === 'approved')).toHaveLength(1);
    expect(statuses.filter((s) => s === 'already_approved')).toHaveLength(999);
    expect((await history(job.job_id)).filter((t) => t === 'ApprovalGranted')).toHaveLength(1);
  });

  it('maps errors per DESIGN section 5: the stable code in the status details and the problem document in the trailers', async () => {
    const job = await submitJob(svc.app, paymentJob());

    const anonymous = await failure(client.call('Approve', { job_id: job.job_id }));
    expect(anonymous.code).toBe(GrpcStatus.UNAUTHENTICATED);
    expect(anonymous.details).toBe('unauthenticated');
    const badToken = await failure(client.call('Approve', { job_id: job.job_id }, 'Bearer nope'));
    expect(badToken.code).toBe(GrpcStatus.UNAUTHENTICATED);

    const submitter = await failure(client.call('Approve', { job_id: job.job_id }, await bearer('agent-9', ['submitter'])));
    expect(submitter.code).toBe(GrpcStatus.PERMISSION_DENIED);
    expect(submitter.details).toBe('forbidden');
    const self = await failure(client.call('Approve', { job_id: job.job_id }, await bearer('agent-7', ['reviewer'])));
    expect(self.code).toBe(GrpcStatus.PERMISSION_DENIED);
    expect(self.details).toBe('self_approval_forbidden');

    const missing = await failure(client.call('Approve', { job_id: `nope-${randomUUID()}` }, rita));
    expect(missing.code).toBe(GrpcStatus.NOT_FOUND);
    expect(missing.details).toBe('not_found');
    const gina = await bearer('gina', ['reviewer'], { tenants: ['globex'] });
    const otherTenant = await failure(client.call('GetApproval', { job_id: job.job_id }, gina));
    expect(otherTenant.code).toBe(GrpcStatus.NOT_FOUND);
    const namedTenant = await failure(client.call('GetApproval', { job_id: job.job_id, tenant: 'default' }, gina));
    expect(namedTenant.code).toBe(GrpcStatus.NOT_FOUND);
    expect(namedTenant.details).toBe(missing.details);

    const stale = await failure(client.call('Approve', { job_id: job.job_id, policy_snapshot: `sha256:${'0'.repeat(64)}` }, rita));
    expect(stale.code).toBe(GrpcStatus.FAILED_PRECONDITION);
    expect(stale.details).toBe('stale_review');
    expect(stale.metadata.get(CODE_TRAILER)).toEqual(['stale_review']);
    expect(problemOf(stale.metadata)).toMatchObject({ status: 409, code: 'stale_review', expected: job.policy_snapshot });

    const noReason = await failure(client.call('Reject', { job_id: job.job_id }, rita));
    expect(noReason.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(noReason.details).toBe('invalid_request');
    expect(problemOf(noReason.metadata)).toMatchObject({ code: 'invalid_request', errors: expect.arrayContaining([expect.objectContaining({ field: 'reason' })]) });

    expect(await client.call('Reject', { job_id: job.job_id, reason: 'not this month' }, rita)).toMatchObject({ status: 'rejected', state: 'REJECTED' });
    expect(await client.call('Reject', { job_id: job.job_id, reason: 'again' }, sam)).toMatchObject({ status: 'already_rejected' });
    const afterReject = await failure(client.call('Approve', { job_id: job.job_id }, sam));
    expect(afterReject.code).toBe(GrpcStatus.FAILED_PRECONDITION);
    expect(afterReject.details).toBe('already_rejected');
    expect(await history(job.job_id)).toEqual(['JobSubmitted', 'PolicyEvaluated', 'ApprovalRequested', 'ApprovalRejected']);
  });

  it('ListApprovals pages with next_cursor; GetApproval carries the request as canonical JSON', async () => {
    const tenant = `t-${randomUUID().slice(0, 8)}`;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await submitJob(svc.app, { topic: 'customer.notify', tenant, payload: { i } })).job_id);
      svc.clock.advance(1);
    }
    const scoped = await bearer('tess', ['reviewer'], { tenants: [tenant] });
    await eventually(async () => ((await client.call('ListApprovals', {}, scoped)).items as unknown[]).length === 3, 'three listed approvals');
    const first = await client.call('ListApprovals', { state: 'pending', topic: 'customer.*', limit: 2 }, scoped);
    expect((first.items as { job_id: string }[]).map((i) => i.job_id)).toEqual(ids.slice(0, 2));
    expect(first.next_cursor).not.toBe('');
    const second = await client.call('ListApprovals', { cursor: first.next_cursor, limit: 2 }, scoped);
    expect((second.items as { job_id: string }[]).map((i) => i.job_id)).toEqual(ids.slice(2));
    expect(second.next_cursor).toBe('');
    const item = (first.items as Record<string, unknown>[])[0]!;
    expect(item).toMatchObject({ state: 'pending', tenant, topic: 'customer.notify', drifted: false, approvals: 0, required: 1, rule_id: 'external-notify' });

    const detail = await client.call('GetApproval', { job_id: ids[0] }, scoped);
    expect(detail).toMatchObject({ job_id: ids[0], state: 'pending', tenant });
    expect(JSON.parse(detail.request_json as string)).toEqual({ topic: 'customer.notify', priority: 'high', tenant, submitted_by: 'agent-7', labels: {}, payload: { i: 0 } });

    const invalid = await failure(client.call('ListApprovals', { cursor: 'garbage' }, scoped));
    expect(invalid.code).toBe(GrpcStatus.INVALID_ARGUMENT);
  });

  it('WatchApprovals is live when the client is told: initial metadata first, then the first change (requested) is not lost', async () => {
    // Issue 12 §2: a client that opened the stream and then submitted a job lost the `requested` change.
    for (let run = 0; run < 4; run += 1) {
      const tenant = `live-${randomUUID().slice(0, 8)}`;
      const watcher = client.watch({}, await bearer('wes', ['reviewer'], { tenants: [tenant] }));
      const seen: { kind: string; approval: { job_id: string } }[] = [];
      watcher.on('data', (change) => seen.push(change as (typeof seen)[number]));
      watcher.on('error', () => undefined);
      // The client's signal that the stream is live: the server's initial metadata (no sleep).
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no initial metadata within 2 s')), 2000);
        watcher.once('metadata', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      const job = await submitJob(svc.app, paymentJob({ tenant }));
      await eventually(() => seen.some((c) => c.kind === 'requested' && c.approval.job_id === job.job_id), `run ${run}: the requested change`);
      expect(seen.map((c) => [c.kind, c.approval.job_id])).toEqual([['requested', job.job_id]]);
      watcher.cancel();
    }
  });

  it('WatchApprovals streams the changes the caller may see', async () => {
    const tenant = `w-${randomUUID().slice(0, 8)}`;
    const watcher = client.watch({ topic: 'finance.*' }, await bearer('wes', ['reviewer'], { tenants: [tenant] }));
    const outsider = client.watch({}, await bearer('otto', ['reviewer'], { tenants: ['somebody-else'] }));
    const seen: { kind: string; approval: { job_id: string; approvals: number } }[] = [];
    const outsiderSeen: unknown[] = [];
    watcher.on('data', (change) => seen.push(change as (typeof seen)[number]));
    outsider.on('data', (change) => outsiderSeen.push(change));
    watcher.on('error', () => undefined);
    outsider.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 100));

    await submitJob(svc.app, { topic: 'customer.notify', tenant });
    const job = await submitJob(svc.app, paymentJob({ tenant }));
    await eventually(() => seen.some((c) => c.kind === 'requested' && c.approval.job_id === job.job_id), 'a requested change');
    await client.call('Approve', { job_id: job.job_id, tenant }, rita);
    await eventually(() => seen.some((c) => c.kind === 'granted'), 'a granted change');
    expect(seen.map((c) => [c.kind, c.approval.job_id])).toEqual([
      ['requested', job.job_id],
      ['vote_recorded', job.job_id],
      ['granted', job.job_id],
    ]);
    expect(outsiderSeen).toEqual([]);
    watcher.cancel();
    outsider.cancel();

    const anonymous = client.watch({});
    const error = await new Promise<ServiceError>((resolve) => anonymous.on('error', (e) => resolve(e as ServiceError)));
    expect(error.code).toBe(GrpcStatus.UNAUTHENTICATED);
  });
});
