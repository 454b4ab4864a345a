import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobEvent, toJobStreamId } from '@signoff/contracts';
import { ActivePolicy } from '@signoff/core';
import { EventStore, PostgresEventStore } from '@signoff/event-store';
import { SignoffMetrics } from '@signoff/observability';
import { createTestDatabase } from '../../../../test/support/infra';
import { eventually } from '../../../../test/support/wait';
import { ApprovalTestApp, bearer, call, startApprovalApp } from '../testing/approval-test.app';
import { paymentJob, submitJob } from '../testing/job.fixture';
import { POLICY_V1, POLICY_V2_UNRELATED_CHANGE, writePolicyFile } from '../testing/test-policies';

type Page = { items: Record<string, unknown>[]; next_cursor: string | null };

describe('pending approvals and drift (SNAPSHOT_MODE=strict) on real PostgreSQL', () => {
  let db: { url: string; drop: () => Promise<void> };
  let svc: ApprovalTestApp;
  let rita: string;
  /** Another instance's view of the same log: activates policies the way an admin's PUT /policy elsewhere would. */
  let otherStore: PostgresEventStore;
  let otherPolicy: ActivePolicy;
  const list = async (query: string, auth: string = rita): Promise<Page> => {
    const res = await call(svc.url, 'GET', `/approvals${query}`, auth);
    expect(res.status).toBe(200);
    return res.body as unknown as Page;
  };
  const listed = async (jobId: string, auth?: string) => (await list('?limit=500', auth)).items.find((i) => i.job_id === jobId);

  beforeAll(async () => {
    db = await createTestDatabase('pending');
    const policyPath = writePolicyFile(POLICY_V1);
    svc = await startApprovalApp({ databaseUrl: db.url, policyPath });
    rita = await bearer('rita', ['reviewer']);
    otherStore = await PostgresEventStore.connect(db.url, { maxConnections: 2 });
    otherPolicy = new ActivePolicy(otherStore, { bootstrapPath: policyPath, pollIntervalMs: 60_000 });
    await otherPolicy.refresh();
  });
  afterAll(async () => {
    await svc?.close();
    await otherStore?.close();
    await db?.drop();
  });

  it('lists open approvals with exactly the members of DESIGN section 4 and the tenant, counts votes and drops closed ones', async () => {
    const job = await submitJob(svc.app, { topic: 'finance.transfer.large', payload: { amount: 50_000 } });
    await eventually(async () => (await listed(job.job_id)) !== undefined, 'the approval to be listed');
    const item = (await listed(job.job_id))!;
    expect(Object.keys(item).sort()).toEqual(
      ['approval_ref', 'approvals', 'drifted', 'expires_at', 'job_hash', 'job_id', 'policy_snapshot', 'requested_at', 'required', 'rule_id', 'tenant', 'topic'].sort(),
    );
    expect(item).toMatchObject({ tenant: 'default', topic: 'finance.transfer.large', rule_id: 'large-transfer-two-reviewers', approvals: 0, required: 2, drifted: false });
    expect(item.policy_snapshot).toBe(job.policy_snapshot);
    expect(item.job_hash).toBe(job.job_hash);
    expect(Date.parse(item.expires_at as string) - Date.parse(item.requested_at as string)).toBe(3_600_000);

    await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, rita);
    await eventually(async () => (await listed(job.job_id))?.approvals === 1, 'the vote to be counted');
    await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, await bearer('sam', ['reviewer']));
    await eventually(async () => (await listed(job.job_id)) === undefined, 'the granted approval to leave the list');
    const pendingGauge = (await svc.app.get(SignoffMetrics).approvalsPending.get()).values[0]?.value;
    expect(pendingGauge).toBe((await list('?limit=500')).items.length);
  });

  it('filters by topic glob and by the caller\'s tenants and topics, oldest first, with an opaque cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await submitJob(svc.app, { topic: 'customer.notify', tenant: 'initech', payload: { n: i } })).job_id);
      svc.clock.advance(1000);
    }
    const other = await submitJob(svc.app, paymentJob({ tenant: 'initech' }));
    const hidden = await submitJob(svc.app, { topic: 'customer.notify', tenant: 'umbrella' });
    const initech = await bearer('ivy', ['reviewer'], { tenants: ['initech'] });
    await eventually(async () => (await list('?limit=500', initech)).items.length === 6, 'six initech approvals');

    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const page: Page = await list(`?topic=customer.*&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, initech);
      pages.push(page.items.map((i) => i.job_id as string));
      cursor = page.next_cursor;
    } while (cursor);
    expect(pages).toEqual([ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)]);
    expect(pages.flat()).not.toContain(other.job_id);
    expect(pages.flat()).not.toContain(hidden.job_id);

    const notifiers = await bearer('nick', ['reviewer'], { topics: ['customer.*'], tenants: ['initech'] });
    expect((await list('?limit=500', notifiers)).items.map((i) => i.job_id)).toEqual(ids);

    for (const query of ['?cursor=not-a-cursor', '?state=approved', '?limit=0', '?limit=9999', '?topic=a%20b']) {
      const res = await call(svc.url, 'GET', `/approvals${query}`, rita);
      expect(res.status, query).toBe(400);
      expect(res.body.code).toBe('invalid_request');
    }
    expect((await call(svc.url, 'GET', '/approvals', await bearer('agent-7', ['submitter']))).status).toBe(403);
  });

  it('a policy change between request and approval: listed as drifted within 1 s, then 409 snapshot_changed; a rollback honours it again', async () => {
    const job = await submitJob(svc.app, paymentJob());
    await eventually(async () => (await listed(job.job_id))?.drifted === false, 'the approval to be listed');
    const mismatches = async () => (await svc.app.get(SignoffMetrics).approvalsSnapshotMismatch.get()).values[0]?.value ?? 0;
    const before = await mismatches();

    const started = Date.now();
    const v2 = await otherPolicy.activate(POLICY_V2_UNRELATED_CHANGE, 'admin');
    await eventually(async () => (await listed(job.job_id))?.drifted === true, 'the approval to be marked drifted', 1000);
    expect(Date.now() - started).toBeLessThan(1000);

    const refused = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, rita);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'snapshot_changed', expected: job.policy_snapshot, current: v2.snapshot });
    expect(await mismatches()).toBe(before + 1);
    const types = (await svc.app.get(EventStore).readStream<JobEvent>(toJobStreamId({ tenant: 'default', jobId: job.job_id }))).map((e) => e.type);
    expect(types).toEqual(['JobSubmitted', 'PolicyEvaluated', 'ApprovalRequested']);

    await otherPolicy.activate(POLICY_V1, 'admin');
    await eventually(async () => (await listed(job.job_id))?.drifted === false, 'the approval to be honoured again', 1000);
    expect((await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, rita)).body.status).toBe('approved');
  });
});
