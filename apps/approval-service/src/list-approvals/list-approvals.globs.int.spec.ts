import { ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../../test/support/infra';
import { eventually } from '../../../../test/support/wait';
import { ApprovalTestApp, bearer, call, startApprovalApp } from '../testing/approval-test.app';
import { approvalsClient, ApprovalsClient } from '../testing/grpc.client';
import { submitJob } from '../testing/job.fixture';
import { writePolicyFile } from '../testing/test-policies';
import { withLiveness } from '../../../../test/support/cpu';

/** Every job waits for a reviewer: the pending list fills with whatever topics the test submits. */
const EVERYTHING_NEEDS_A_REVIEWER = `
version: v1
default: deny
rules:
  - id: everything-needs-a-reviewer
    decision: require_human
`;

/**
 * Issue 10, section 4: a reviewer's glob (the token's `topics` claim, the `topic` filter of
 * GET /approvals, ListApprovals and WatchApprovals) used to become a backtracking RegExp, tested
 * before the tenant: 12 stars against 32-character topics took about a second per approval, so
 * ten such approvals held the event loop (and /health/live) for about 10 s. Globs now match in
 * linear time, and the tenant is checked first.
 */
describe('reviewer globs cannot take the CPU (list and watch approvals, on real PostgreSQL)', () => {
  const WORST_GLOB = `${'*a'.repeat(12)}b`;
  const LONG_TOPIC = 'a'.repeat(32);
  let db: { url: string; drop: () => Promise<void> };
  let svc: ApprovalTestApp;
  let client: ApprovalsClient;
  let rita: string;

  beforeAll(async () => {
    db = await createTestDatabase('globs');
    svc = await startApprovalApp({ databaseUrl: db.url, policyPath: writePolicyFile(EVERYTHING_NEEDS_A_REVIEWER), grpc: true });
    client = approvalsClient(svc.grpcAddress!);
    rita = await bearer('rita', ['reviewer']);
    for (let i = 0; i < 200; i++) await submitJob(svc.app, { topic: `svc${i % 7}.op`, tenant: 'acme' });
    for (let i = 0; i < 10; i++) await submitJob(svc.app, { topic: LONG_TOPIC, tenant: 'acme' });
    await eventually(async () => ((await call(svc.url, 'GET', '/approvals?limit=500', rita)).body.items as unknown[]).length === 210, 'the 210 approvals to be listed');
  });
  afterAll(async () => {
    client?.close();
    await svc?.close();
    await db?.drop();
  });

  it('answers a reviewer of a tenant that sees nothing at once, with a 12-star claim and filter, over HTTP and gRPC', async () => {
    const outsider = await bearer('otto', ['reviewer'], { tenants: ['nobody'], topics: [WORST_GLOB] });
    const http = await withLiveness(svc.url, () => call(svc.url, 'GET', `/approvals?topic=${encodeURIComponent(WORST_GLOB)}&limit=500`, outsider));
    expect(http.value.status).toBe(200);
    expect(http.value.body.items).toEqual([]);
    expect(http.requestMs).toBeLessThan(1000);
    expect(http.liveMs).toBeLessThan(1000);
    expect(http.liveStatus).toBe(200);

    const grpc = await withLiveness(svc.url, () => client.call('ListApprovals', { topic: WORST_GLOB, limit: 500 }, outsider));
    expect(grpc.value.items ?? []).toEqual([]);
    expect(grpc.requestMs).toBeLessThan(1000);
    expect(grpc.liveMs).toBeLessThan(1000);
    expect(grpc.liveStatus).toBe(200);
  });

  it('runs 12-star globs on every approval of a tenant the reviewer sees, in linear time', async () => {
    const reviewer = await bearer('ivy', ['reviewer'], { tenants: ['acme'], topics: [WORST_GLOB, `${'*a'.repeat(12)}*`] });
    const http = await withLiveness(svc.url, () => call(svc.url, 'GET', `/approvals?topic=${encodeURIComponent(`*${'a*'.repeat(12)}`)}&limit=500`, reviewer));
    expect(http.value.status).toBe(200);
    // The second claim covers the ten long topics (and no svcN.op one); the filter agrees.
    expect((http.value.body.items as { topic: string }[]).map((item) => item.topic)).toEqual(Array(10).fill(LONG_TOPIC));
    expect(http.requestMs).toBeLessThan(1000);
    expect(http.liveMs).toBeLessThan(1000);
    expect(http.liveStatus).toBe(200);

    const grpc = await withLiveness(svc.url, () => client.call('ListApprovals', { topic: WORST_GLOB, limit: 500 }, reviewer));
    expect(grpc.value.items ?? []).toEqual([]);
    expect(grpc.requestMs).toBeLessThan(1000);
    expect(grpc.liveMs).toBeLessThan(1000);
    expect(grpc.liveStatus).toBe(200);
  });

  it('filters WatchApprovals changes with the same globs without holding the event loop', async () => {
    const outsider = client.watch({ topic: WORST_GLOB }, await bearer('otto', ['reviewer'], { tenants: ['nobody'], topics: [WORST_GLOB] }));
    const insider = client.watch({ topic: `*${'a*'.repeat(12)}` }, await bearer('ivy', ['reviewer'], { tenants: ['acme'], topics: [WORST_GLOB, `${'*a'.repeat(12)}*`] }));
    const outsiderSeen: unknown[] = [];
    const insiderSeen: { kind: string; approval: { job_id: string } }[] = [];
    outsider.on('data', (change) => outsiderSeen.push(change));
    insider.on('data', (change) => insiderSeen.push(change as (typeof insiderSeen)[number]));
    for (const stream of [outsider, insider]) stream.on('error', (error: ServiceError) => void error);
    await new Promise((r) => setTimeout(r, 100));

    const started = performance.now();
    const jobs = [];
    for (let i = 0; i < 10; i++) jobs.push((await submitJob(svc.app, { topic: LONG_TOPIC, tenant: 'acme' })).job_id);
    const submittedMs = performance.now() - started;
    const live = await withLiveness(svc.url, async () => eventually(() => insiderSeen.filter((c) => c.kind === 'requested').length === 10, 'ten requested changes', 10_000));
    expect(insiderSeen.map((c) => c.approval.job_id)).toEqual(jobs);
    expect(outsiderSeen).toEqual([]);
    expect(submittedMs + live.requestMs).toBeLessThan(3000);
    expect(live.liveMs).toBeLessThan(1000);
    expect(live.liveStatus).toBe(200);
    outsider.cancel();
    insider.cancel();
  });
});
