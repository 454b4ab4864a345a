import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobEvent, toDelegationStreamId, toJobStreamId } from '@signoff/contracts';
import { SIGNOFF_TOPICS } from '@signoff/core';
import { FixedClock } from '@signoff/core/testing';
import { MessageBus } from '@signoff/messaging';
import { EventStore } from '@signoff/event-store';
import { createTestDatabase } from '../../../../test/support/infra';
import { ApprovalTestApp, bearer, call, startApprovalApp } from '../testing/approval-test.app';
import { approvalsClient } from '../testing/grpc.client';
import { paymentJob, submitJob } from '../testing/job.fixture';
import { writePolicyFile } from '../testing/test-policies';

const DAY = 86_400_000;

/** `call` with DELETE and raw bodies. */
async function send(base: string, method: 'DELETE' | 'POST', path: string, authorization: string, body?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}/api/v1${path}`, { method, headers: { authorization, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function eventually<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value) || Date.now() > until) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('delegations on a real app and PostgreSQL', () => {
  let db: { url: string; drop: () => Promise<void> };
  let svc: ApprovalTestApp;
  let policyPath: string;
  const clock = new FixedClock(new Date('2026-12-01T09:00:00.000Z'));
  const tokens: Record<string, string> = {};
  const until = (days: number) => new Date(clock.now().getTime() + days * DAY).toISOString();
  const jobEvents = async (jobId: string) => (await svc.app.get(EventStore).readStream<JobEvent>(toJobStreamId({ tenant: 'default', jobId }))).map(({ type, data, metadata }) => ({ type, data, metadata }) as JobEvent);
  const listAs = (who: string, query = '') => call(svc.url, 'GET', `/delegations${query}`, tokens[who]!);

  beforeAll(async () => {
    db = await createTestDatabase('delegation');
    policyPath = writePolicyFile();
    svc = await startApprovalApp({ databaseUrl: db.url, policyPath, clock, grpc: true });
    for (const who of ['alice', 'bob', 'carol', 'dave', 'erin', 'sam', 'mallory']) tokens[who] = await bearer(who, ['reviewer', 'finance-approver']);
    tokens.root = await bearer('root', ['admin']);
    tokens.audit = await bearer('audit', ['auditor'], { tenants: ['default'] });
    tokens.acmeAlice = await bearer('alice', ['reviewer'], { tenants: ['acme'] });
  });
  afterAll(async () => {
    await svc?.close();
    await db?.drop();
  });

  it('alice delegates to bob; bob approves on her behalf; the events show both identities', async () => {
    const granted = await call(svc.url, 'POST', '/delegations', tokens.alice!, { delegate: 'bob', ends_at: until(7), reason: 'out of office' });
    expect(granted.status).toBe(201);
    expect(granted.body).toMatchObject({
      delegation_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      delegator: 'alice',
      delegate: 'bob',
      starts_at: clock.now().toISOString(),
      ends_at: until(7),
      roles: ['reviewer', 'finance-approver'],
      tenants: null,
      topics: null,
      status: 'active',
      revoked: null,
    });
    const stored = await svc.app.get(EventStore).readStream(toDelegationStreamId('alice'));
    expect(stored.map((e) => e.type)).toEqual(['DelegationGranted']);

    // The read model: alice sees it as given, bob as received, mallory not at all; an auditor of the tenant sees it.
    expect((await eventually(() => listAs('bob'), (r) => (r.body.items as unknown[]).length === 1)).body.items).toMatchObject([{ delegator: 'alice', delegate: 'bob' }]);
    expect((await listAs('alice')).body.items).toHaveLength(1);
    expect((await listAs('mallory')).body.items).toHaveLength(0);
    expect((await call(svc.url, 'GET', '/delegations?tenant=default', tokens.audit!)).body.items).toHaveLength(1);
    expect((await listAs('bob', '?tenant=default')).status).toBe(403);

    const job = await submitJob(svc.app, paymentJob());
    const approved = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, tokens.bob!, { reason: 'checked for alice', on_behalf_of: 'alice' });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'approved' });
    const events = await jobEvents(job.job_id);
    const onBehalf = [{ delegation_id: granted.body.delegation_id, delegator: 'alice', delegate: 'bob' }];
    expect(events.find((e) => e.type === 'ApprovalVoteRecorded')).toMatchObject({ data: { reviewer: 'alice', cast_by: 'bob', on_behalf_of: onBehalf }, metadata: { actor: 'bob' } });
    expect(events.find((e) => e.type === 'ApprovalGranted')?.data).toMatchObject({ approved_by: ['alice'], cast_by: 'bob', on_behalf_of: onBehalf });
    // The approval's view says whose vote was cast by whom.
    const view = await call(svc.url, 'GET', `/approvals/${job.job_id}`, tokens.bob!);
    expect(view.body).toMatchObject({ voters: ['alice'], cast_for: [{ reviewer: 'alice', cast_by: 'bob' }] });
  });

  it('quorum 2: the delegator and her delegate count once; a third reviewer completes it', async () => {
    const job = await submitJob(svc.app, { topic: 'finance.transfer.large', payload: { amount: 90_000 } });
    expect((await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, tokens.alice!)).body).toMatchObject({ status: 'approval_recorded', approvals: 1 });
    expect((await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, tokens.bob!, { on_behalf_of: 'alice' })).body).toMatchObject({ status: 'approval_recorded', approvals: 1 });
    const other = await submitJob(svc.app, { topic: 'finance.transfer.large', payload: { amount: 90_001 } });
    expect((await call(svc.url, 'POST', `/approvals/${other.job_id}/approve`, tokens.bob!, { on_behalf_of: 'alice' })).body).toMatchObject({ approvals: 1 });
    expect((await call(svc.url, 'POST', `/approvals/${other.job_id}/approve`, tokens.bob!)).body).toMatchObject({ status: 'approval_recorded', approvals: 1 });
    expect((await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, tokens.sam!)).body).toMatchObject({ status: 'approved' });
    expect((await jobEvents(job.job_id)).filter((e) => e.type === 'ApprovalVoteRecorded')).toHaveLength(2);
  });

  it('refusals: no delegation, self-approval through it, self-delegation, overlap, another delegator\'s name', async () => {
    const job = await submitJob(svc.app, paymentJob());
    const none = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, tokens.mallory!, { on_behalf_of: 'alice' });
    expect(none.status).toBe(403);
    expect(none.body.code).toBe('delegation_not_found');
    const self = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, tokens.alice!, { on_behalf_of: 'Alice' });
    expect(self.status).toBe(400);
    // bob submitted this one: voting on it for alice is still his own job.
    const bobs = await submitJob(svc.app, paymentJob({ submitted_by: 'bob' }));
    const selfApproval = await call(svc.url, 'POST', `/approvals/${bobs.job_id}/approve`, tokens.bob!, { on_behalf_of: 'alice' });
    expect(selfApproval.status).toBe(403);
    expect(selfApproval.body.code).toBe('self_approval_forbidden');
    // A missing job is 404 before anything about delegations is said.
    expect((await call(svc.url, 'POST', '/approvals/no-such-job/approve', tokens.mallory!, { on_behalf_of: 'alice' })).body.code).toBe('not_found');

    const toSelf = await call(svc.url, 'POST', '/delegations', tokens.carol!, { delegate: 'CAROL', ends_at: until(1), reason: 'x' });
    expect(toSelf.status).toBe(400);
    expect(toSelf.body).toMatchObject({ code: 'invalid_delegation', reason: 'self_delegation' });
    const overlap = await call(svc.url, 'POST', '/delegations', tokens.alice!, { delegate: 'carol', ends_at: until(2), reason: 'x' });
    expect(overlap.status).toBe(409);
    expect(overlap.body.code).toBe('delegation_overlaps');
    const tooLong = await call(svc.url, 'POST', '/delegations', tokens.carol!, { delegate: 'dave', ends_at: until(91), reason: 'x' });
    expect(tooLong.body).toMatchObject({ code: 'invalid_delegation', reason: 'period_too_long' });
    const widened = await call(svc.url, 'POST', '/delegations', tokens.carol!, { delegate: 'dave', ends_at: until(1), reason: 'x', roles: ['change-approver'] });
    expect(widened.status).toBe(403);
  });

  it('a chain carol -> dave -> erin lets erin vote for carol; the delegation\'s tenants bound what it covers', async () => {
    expect((await call(svc.url, 'POST', '/delegations', tokens.carol!, { delegate: 'dave', ends_at: until(3), reason: 'away' })).status).toBe(201);
    expect((await call(svc.url, 'POST', '/delegations', tokens.dave!, { delegate: 'erin', ends_at: until(3), reason: 'away too' })).status).toBe(201);
    const job = await submitJob(svc.app, paymentJob());
    const answer = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, tokens.erin!, { on_behalf_of: 'carol' });
    expect(answer.body).toMatchObject({ status: 'approved' });
    const grant = (await jobEvents(job.job_id)).find((e) => e.type === 'ApprovalGranted');
    expect(grant?.data).toMatchObject({ approved_by: ['carol'], cast_by: 'erin', on_behalf_of: [{ delegator: 'carol', delegate: 'dave' }, { delegator: 'dave', delegate: 'erin' }] });

    // A delegation recorded for tenant acme only does not cover a job of tenant default.
    const acmeOnly = await call(svc.url, 'POST', '/delegations', tokens.acmeAlice!, { delegate: 'sam', starts_at: until(8), ends_at: until(9), reason: 'acme only' });
    expect(acmeOnly.body).toMatchObject({ tenants: ['acme'], status: 'scheduled' });
    clock.advance(8 * DAY + 1000);
    try {
      const later = await submitJob(svc.app, paymentJob());
      const refused = await call(svc.url, 'POST', `/approvals/${later.job_id}/approve`, tokens.sam!, { on_behalf_of: 'alice' });
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('forbidden');
    } finally {
      clock.advance(-(8 * DAY + 1000));
    }
  });

  it('gRPC Approve and Reject take on_behalf_of too', async () => {
    const client = approvalsClient(svc.grpcAddress!);
    try {
      const job = await submitJob(svc.app, paymentJob());
      expect(await client.call('Approve', { job_id: job.job_id, on_behalf_of: 'alice' }, tokens.bob)).toMatchObject({ status: 'approved' });
      expect((await jobEvents(job.job_id)).find((e) => e.type === 'ApprovalGranted')?.data).toMatchObject({ approved_by: ['alice'], cast_by: 'bob' });
      const other = await submitJob(svc.app, paymentJob());
      const refused = await client.call('Reject', { job_id: other.job_id, reason: 'no', on_behalf_of: 'alice' }, tokens.mallory).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 7 });
      expect(String((refused as Error).message)).toMatch(/delegation/);
    } finally {
      client.close();
    }
  });

  it('revoke: the delegate may not, a stranger learns nothing, the delegator does; then the vote is refused; restart keeps it all', async () => {
    const mine = await listAs('alice', '?status=active');
    const id = (mine.body.items as { delegation_id: string; delegate: string }[]).find((d) => d.delegate === 'bob')!.delegation_id;
    expect((await send(svc.url, 'DELETE', `/delegations/${id}`, tokens.bob!)).status).toBe(403);
    expect((await send(svc.url, 'DELETE', `/delegations/${id}`, tokens.mallory!)).status).toBe(404);
    expect((await send(svc.url, 'DELETE', '/delegations/not-an-id', tokens.alice!)).status).toBe(404);
    const revoked = await send(svc.url, 'DELETE', `/delegations/${id}`, tokens.alice!, JSON.stringify({ reason: 'back early' }));
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ delegation_id: id, status: 'revoked', outcome: 'revoked', revoked: { by: 'alice', reason: 'back early' } });
    expect((await send(svc.url, 'DELETE', `/delegations/${id}`, tokens.root!)).body).toMatchObject({ outcome: 'already_revoked' });

    const job = await submitJob(svc.app, paymentJob());
    const refused = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, tokens.bob!, { on_behalf_of: 'alice' });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('delegation_not_found');

    // Restart on the same store: the delegations are facts of the log.
    await svc.close();
    svc = await startApprovalApp({ databaseUrl: db.url, policyPath, clock });
    const after = await eventually(() => listAs('alice'), (r) => (r.body.items as unknown[]).length >= 2);
    expect(after.body.items).toEqual(expect.arrayContaining([expect.objectContaining({ delegation_id: id, status: 'revoked' })]));
    const again = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, tokens.bob!, { on_behalf_of: 'alice' });
    expect(again.body.code).toBe('delegation_not_found');
    const viaDave = await call(svc.url, 'POST', `/approvals/${job.job_id}/reject`, tokens.dave!, { on_behalf_of: 'carol', reason: 'not this one' });
    expect(viaDave.body).toMatchObject({ status: 'rejected' });
    expect((await jobEvents(job.job_id)).find((e) => e.type === 'ApprovalRejected')?.data).toMatchObject({ rejected_by: 'carol', cast_by: 'dave' });
  });

  it('concurrent overlapping grants of one delegator: the expected revision lets exactly one through', async () => {
    const fay = await bearer('fay', ['reviewer']);
    const answers = await Promise.all(
      ['g1', 'g2', 'g3', 'g4', 'g5', 'g6'].map((delegate) => call(svc.url, 'POST', '/delegations', fay, { delegate, ends_at: until(2), reason: 'race' })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    expect(answers.filter((a) => a.status === 409).every((a) => a.body.code === 'delegation_overlaps')).toBe(true);
    expect((await svc.app.get(EventStore).readStream(toDelegationStreamId('FAY'))).map((e) => e.type)).toEqual(['DelegationGranted']);
  });

  it('delegation events reach signoff.audit as CloudEvents (subject = delegation id)', async () => {
    const seen: Record<string, unknown>[] = [];
    const topic = svc.app.get<{ audit: string }>(SIGNOFF_TOPICS).audit;
    const subscription = await svc.app.get(MessageBus).subscribe({ groupId: 'delegation-audit-test', topics: [topic], handler: async (m) => void seen.push(JSON.parse(m.value!.toString()) as Record<string, unknown>) });
    try {
      const granted = await call(svc.url, 'POST', '/delegations', tokens.sam!, { delegate: 'mallory', ends_at: until(1), reason: 'lunch' });
      const id = granted.body.delegation_id as string;
      await eventually(() => listAs('sam'), (r) => (r.body.items as { delegation_id: string }[]).some((d) => d.delegation_id === id));
      expect((await send(svc.url, 'DELETE', `/delegations/${id}`, tokens.sam!)).status).toBe(200);
      const mine = await eventually(async () => seen.filter((e) => e.subject === id), (events) => events.length >= 2);
      expect(mine.map((e) => e.type)).toEqual(['signoff.delegation.granted', 'signoff.delegation.revoked']);
      expect(mine[0]).toMatchObject({ specversion: '1.0', source: '/signoff/delegations', actor: 'sam', data: { delegator: 'sam', delegate: 'mallory' } });
    } finally {
      await subscription.stop();
    }
  });

  it('hostile input: NUL and lone surrogates, bad instants, unknown fields, huge bodies', async () => {
    const bad = [
      { delegate: 'bo\u0000b', ends_at: until(1), reason: 'x' },
      { delegate: 'bo\ud800b', ends_at: until(1), reason: 'x' },
      { delegate: 'bob', ends_at: 'tomorrow', reason: 'x' },
      { delegate: 'bob', ends_at: '2026-13-45T99:99:99Z', reason: 'x' },
      { delegate: 'bob', ends_at: until(1) },
      { delegate: 'x'.repeat(201), ends_at: until(1), reason: 'x' },
      { delegate: 'bob', ends_at: until(1), reason: 'x', admin: true },
    ];
    for (const body of bad) {
      const answer = await call(svc.url, 'POST', '/delegations', tokens.sam!, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(['invalid_request', 'invalid_delegation']).toContain(answer.body.code);
    }
    const job = await submitJob(svc.app, paymentJob());
    for (const onBehalf of ['al\u0000ice', 'al\udc00ice', 'a'.repeat(201), 42]) {
      const answer = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, tokens.sam!, { on_behalf_of: onBehalf });
      expect(answer.status).toBe(400);
      expect(answer.body.code).toBe('invalid_request');
    }
    const huge = await send(svc.url, 'POST', '/delegations', tokens.sam!, JSON.stringify({ delegate: 'bob', ends_at: until(1), reason: 'x'.repeat(2 * 1024 * 1024) }));
    expect(huge.status).toBe(413);
    expect((await call(svc.url, 'POST', '/delegations', null as unknown as string, { delegate: 'bob', ends_at: until(1), reason: 'x' })).status).toBe(401);
    expect((await call(svc.url, 'POST', '/delegations', await bearer('agent', ['submitter']), { delegate: 'bob', ends_at: until(1), reason: 'x' })).status).toBe(403);
  });
});
