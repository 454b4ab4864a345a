import { describe, expect, it } from 'vitest';
import { JobEvent, toJobStreamId } from '@signoff/contracts';
import { ActivePolicy, ActivePolicyView, HistoryRedaction } from '@signoff/core';
import { FixedClock } from '@signoff/core/testing';
import { EventStore, RecordedEvent } from '@signoff/event-store';
import { SignoffMetrics } from '@signoff/observability';
import { jobHash, normalizeJobRequest } from '@signoff/policy-engine';
import { Principal, SnapshotMode } from '@signoff/runtime';
import { ApprovalIntegrity } from '../shared/approval-integrity';
import { ApprovalModuleOptions } from '../shared/approval-options';
import { policyView } from '../testing/policy-view';
import { POLICY_V1, POLICY_V2_UNRELATED_CHANGE } from '../testing/test-policies';
import { ApprovalChange } from './approval-summary';
import { PendingApprovalsProjection } from './pending-approvals.projection';

const V1 = policyView(POLICY_V1);
const reviewer: Principal = { sub: 'rita', roles: new Set(['reviewer']), topics: null, tenants: null };

function harness(mode: SnapshotMode = 'strict', redactFields: string[] = [], options: ApprovalModuleOptions = {}) {
  let active: ActivePolicyView = V1;
  const seen = new Map<string, ActivePolicyView>([[V1.snapshot, V1]]);
  const listeners = new Set<(p: ActivePolicyView) => void>();
  const policy = {
    get: () => active,
    bySnapshot: (snapshot: string) => seen.get(snapshot) ?? null,
    onActivated: (l: (p: ActivePolicyView) => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  } as unknown as ActivePolicy;
  const metrics = new SignoffMetrics();
  const projection = new PendingApprovalsProjection(
    { subscribeFromStart: () => ({ name: 'x', stop: async () => undefined }) } as unknown as EventStore,
    policy,
    new ApprovalIntegrity({ snapshotMode: mode } as never),
    metrics,
    new FixedClock(new Date('2026-03-01T00:00:00.000Z')),
    new HistoryRedaction(policy, redactFields),
    options,
  );
  projection.onApplicationBootstrap();
  const changes: ApprovalChange[] = [];
  projection.changes().subscribe((c) => changes.push(c));
  const activate = (view: ActivePolicyView) => {
    active = view;
    seen.set(view.snapshot, view);
    for (const l of listeners) l(view);
  };
  return { projection, metrics, changes, activate };
}

let position = 0n;
/** The event as stored in the stream of its job in `tenant` (`acme`, the tenant of requestedJob's requests). */
function recorded(event: JobEvent, revision: number, tenant = 'acme'): RecordedEvent<JobEvent> {
  position += 1n;
  const streamId = toJobStreamId({ tenant, jobId: event.data.job_id });
  return { ...event, id: `id-${position}`, streamId, revision: BigInt(revision), position, createdAt: new Date(), metadata: event.metadata };
}

function requestedJob(
  jobId: string,
  options: { topic?: string; tenant?: string; at?: string; required?: number; timeoutMs?: number; payload?: unknown; streamTenant?: string } = {},
): RecordedEvent<JobEvent>[] {
  const at = options.at ?? '2026-03-01T00:00:00.000Z';
  const metadata = { correlationId: 'c', causationId: 'c', actor: 'agent-7', at };
  const tenant = options.tenant ?? 'acme';
  const stream = options.streamTenant ?? tenant;
  const request = normalizeJobRequest({ topic: options.topic ?? 'finance.payment.execute', tenant, submitted_by: 'agent-7', labels: { env: 'production' }, payload: options.payload });
  const hash = jobHash(request);
  const requirement = { required: options.required ?? 1, reviewers: [], timeout_ms: options.timeoutMs ?? 3_600_000, on_timeout: 'reject' as const };
  return [
    recorded({ type: 'JobSubmitted', data: { job_id: jobId, request, job_hash: hash }, metadata }, 0, stream),
    recorded({ type: 'PolicyEvaluated', data: { job_id: jobId, decision: 'require_human', rule_id: 'require-approval-prod-finance', reason: 'r', policy_snapshot: V1.snapshot, policy_version: 'v1' }, metadata }, 1, stream),
    recorded(
      {
        type: 'ApprovalRequested',
        data: {
          job_id: jobId,
          approval_ref: `apr-${jobId}`,
          rule_id: 'require-approval-prod-finance',
          policy_snapshot: V1.snapshot,
          job_hash: hash,
          requirement,
          requested_at: at,
          expires_at: new Date(Date.parse(at) + requirement.timeout_ms).toISOString(),
        },
        metadata,
      },
      2,
      stream,
    ),
  ];
}

function vote(jobId: string, reviewerName: string, revision: number, approvals: number, required: number, tenant = 'acme'): RecordedEvent<JobEvent> {
  return recorded(
    {
      type: 'ApprovalVoteRecorded',
      data: { job_id: jobId, approval_ref: `apr-${jobId}`, reviewer: reviewerName, reason: null, approvals, required },
      metadata: { correlationId: 'c', causationId: 'c', actor: reviewerName, at: '2026-03-01T00:01:00.000Z' },
    },
    revision,
    tenant,
  );
}

const A = { tenant: 'acme', jobId: 'a' };

describe('PendingApprovalsProjection', () => {
  it('keeps only open approvals, counts votes once per event and announces each change', async () => {
    const { projection, metrics, changes } = harness();
    for (const e of requestedJob('a', { required: 2 })) projection.apply(e);
    const allowedMeta = { correlationId: 'c', causationId: 'c', actor: 'x', at: '2026-03-01T00:00:00.000Z' };
    const request = normalizeJobRequest({ topic: 'knowledge.read', submitted_by: 'x' });
    projection.apply(recorded({ type: 'JobSubmitted', data: { job_id: 'allowed', request, job_hash: jobHash(request) }, metadata: allowedMeta }, 0, 'default'));
    projection.apply(recorded({ type: 'PolicyEvaluated', data: { job_id: 'allowed', decision: 'allow', rule_id: 'allow-readonly', reason: 'r', policy_snapshot: V1.snapshot, policy_version: 'v1' }, metadata: allowedMeta }, 1, 'default'));
    expect(projection.size).toBe(1);

    const first = vote('a', 'rita', 3, 1, 2);
    projection.apply(first);
    projection.apply(first); // re-delivered: not counted twice
    expect(projection.get(A)).toMatchObject({ approvals: 1, required: 2, state: 'pending', drifted: false });
    expect(changes.map((c) => c.kind)).toEqual(['requested', 'vote_recorded']);
    expect((await metrics.approvalsPending.get()).values[0]?.value).toBe(1);

    projection.apply(
      recorded(
        {
          type: 'ApprovalRejected',
          data: { job_id: 'a', approval_ref: 'apr-a', rejected_by: 'sam', reason: 'no' },
          metadata: { correlationId: 'c', causationId: 'c', actor: 'sam', at: '2026-03-01T00:02:00.000Z' },
        },
        4,
      ),
    );
    expect(projection.get(A)).toBeNull();
    expect(changes.at(-1)).toMatchObject({ kind: 'rejected', approval: { job_id: 'a', state: 'rejected' }, at: '2026-03-01T00:02:00.000Z' });
  });

  it('lists oldest first with tenant scoping and cursor pages', () => {
    const { projection } = harness();
    for (let i = 0; i < 5; i++) for (const e of requestedJob(`j${i}`, { at: `2026-03-01T00:00:0${4 - i}.000Z` })) projection.apply(e);
    for (const e of requestedJob('other', { tenant: 'globex' })) projection.apply(e);
    const acme: Principal = { ...reviewer, tenants: ['acme'] };
    const first = projection.list({ principal: acme, limit: 3 });
    expect(first.items.map((i) => i.job_id)).toEqual(['j4', 'j3', 'j2']);
    const second = projection.list({ principal: acme, limit: 3, cursor: first.next_cursor! });
    expect(second.items.map((i) => i.job_id)).toEqual(['j1', 'j0']);
    expect(second.next_cursor).toBeNull();
    expect(projection.list({ principal: reviewer, limit: 10, topic: 'customer.*' }).items).toEqual([]);
  });

  it('filters the list by rule, drift and expiry (the console inbox), after the caller\'s access', () => {
    const { projection, activate } = harness();
    for (const e of requestedJob('soon', { timeoutMs: 60_000 })) projection.apply(e);
    for (const e of requestedJob('later', { timeoutMs: 3_600_000 })) projection.apply(e);
    for (const e of requestedJob('foreign', { tenant: 'globex', timeoutMs: 60_000 })) projection.apply(e);
    const acme: Principal = { ...reviewer, tenants: ['acme'] };
    const ids = (query: Partial<Parameters<typeof projection.list>[0]>) => projection.list({ principal: acme, limit: 10, ...query }).items.map((i) => i.job_id);
    expect(ids({ rule: 'require-approval-prod-finance' })).toEqual(['later', 'soon']); // same requested_at: by job id
    expect(ids({ rule: 'another-rule' })).toEqual([]);
    expect(ids({ expiresBeforeMs: Date.parse('2026-03-01T00:01:00.000Z') })).toEqual(['soon']);
    expect(ids({ expiresBeforeMs: Date.parse('2026-03-01T00:00:59.999Z') })).toEqual([]);
    expect(ids({ drifted: true })).toEqual([]);
    expect(ids({ drifted: false })).toEqual(['later', 'soon']); // same requested_at: by job id
    activate(policyView(POLICY_V2_UNRELATED_CHANGE, 'v2'));
    expect(ids({ drifted: true })).toEqual(['later', 'soon']); // same requested_at: by job id
    expect(ids({ drifted: false })).toEqual([]);
  });

  it('names the approvals that are due', () => {
    const { projection } = harness();
    for (const e of requestedJob('soon', { timeoutMs: 60_000 })) projection.apply(e);
    for (const e of requestedJob('later', { timeoutMs: 3_600_000 })) projection.apply(e);
    expect(projection.due(new Date('2026-03-01T00:00:59.999Z'))).toEqual([]);
    expect(projection.due(new Date('2026-03-01T00:01:00.000Z')).map((d) => d.ref)).toEqual([{ tenant: 'acme', jobId: 'soon' }]);
  });

  it('marks open approvals drifted when the active policy would not honour them, and back on a rollback', () => {
    const strict = harness('strict');
    for (const e of requestedJob('a')) strict.projection.apply(e);
    strict.activate(policyView(POLICY_V2_UNRELATED_CHANGE, 'v2'));
    expect(strict.projection.get(A)?.drifted).toBe(true);
    expect(strict.changes.at(-1)).toMatchObject({ kind: 'drifted', approval: { drifted: true } });
    strict.activate(V1);
    expect(strict.projection.get(A)?.drifted).toBe(false);

    const decision = harness('decision');
    for (const e of requestedJob('a')) decision.projection.apply(e);
    decision.activate(policyView(POLICY_V2_UNRELATED_CHANGE, 'v2'));
    expect(decision.projection.get(A)?.drifted).toBe(false);
    expect(decision.changes.map((c) => c.kind)).toEqual(['requested']);
  });

  it('keys approvals by tenant and job id: the same id open in two tenants is two approvals, each seen only in its tenant', () => {
    const { projection } = harness();
    for (const e of requestedJob('same', { tenant: 'acme', at: '2026-03-01T00:00:01.000Z', required: 2 })) projection.apply(e);
    for (const e of requestedJob('same', { tenant: 'globex', at: '2026-03-01T00:00:01.000Z', required: 2 })) projection.apply(e);
    projection.apply(vote('same', 'rita', 3, 1, 2, 'globex'));
    expect(projection.size).toBe(2);
    expect(projection.get({ tenant: 'acme', jobId: 'same' })).toMatchObject({ tenant: 'acme', approvals: 0 });
    expect(projection.get({ tenant: 'globex', jobId: 'same' })).toMatchObject({ tenant: 'globex', approvals: 1 });
    expect(projection.get({ tenant: 'default', jobId: 'same' })).toBeNull();
    const acme = projection.list({ principal: { ...reviewer, tenants: ['acme'] }, limit: 10 });
    expect(acme.items.map((i) => [i.tenant, i.job_id])).toEqual([['acme', 'same']]);
    // Both tenants' approvals page apart with the same requested_at and job id: the cursor names the tenant.
    const first = projection.list({ principal: reviewer, limit: 1 });
    const second = projection.list({ principal: reviewer, limit: 1, cursor: first.next_cursor! });
    expect([...first.items, ...second.items].map((i) => i.tenant)).toEqual(['acme', 'globex']);
    expect(second.next_cursor).toBeNull();
    expect(projection.list({ principal: reviewer, limit: 10, tenant: 'globex' }).items.map((i) => i.tenant)).toEqual(['globex']);
  });

  it("ignores a stream whose request names another tenant than the stream's id (written before ids were scoped by tenant)", () => {
    const { projection } = harness();
    for (const e of requestedJob('legacy', { tenant: 'acme', streamTenant: 'default' })) projection.apply(e);
    expect(projection.size).toBe(0);
  });

  it('lists for readers: reviewers within their topics, admins and auditors every topic of their tenants', () => {
    const { projection } = harness();
    for (const e of requestedJob('pay', { topic: 'finance.payment.execute' })) projection.apply(e);
    for (const e of requestedJob('note', { topic: 'customer.notify', at: '2026-03-01T00:00:01.000Z' })) projection.apply(e);
    const ids = (principal: Principal) => projection.list({ principal, limit: 10 }).items.map((i) => i.job_id);
    expect(ids({ ...reviewer, topics: ['customer.*'] })).toEqual(['note']);
    expect(ids({ sub: 'ada', roles: new Set(['admin']), topics: ['customer.*'], tenants: ['acme'] })).toEqual(['pay', 'note']);
    expect(ids({ sub: 'aud', roles: new Set(['auditor']), topics: [], tenants: null })).toEqual(['pay', 'note']);
    expect(ids({ sub: 'aud', roles: new Set(['auditor']), topics: null, tenants: ['globex'] })).toEqual([]);
  });

  it('shows the request redacted (AUDIT_REDACT_FIELDS) in summaries and changes, and keeps the original for commands', () => {
    const { projection, changes } = harness('strict', ['payload.iban']);
    for (const e of requestedJob('a', { payload: { iban: 'DE00 1234', amount: 5 } })) projection.apply(e);
    expect(projection.get(A)?.request.payload).toEqual({ iban: '[REDACTED]', amount: 5 });
    expect(projection.list({ principal: reviewer, limit: 10 }).items[0]?.request.payload).toEqual({ iban: '[REDACTED]', amount: 5 });
    expect(JSON.stringify(changes)).not.toContain('DE00 1234');
    const cached = projection.cached(A);
    expect(cached?.state.status === 'APPROVAL_REQUIRED' && cached.state.job.request.payload).toEqual({ iban: 'DE00 1234', amount: 5 });
  });

  it('gives each change a resumable id: the position of its event, or the last position and a counter for a drift', () => {
    const { projection, changes, activate } = harness();
    const events = requestedJob('a', { required: 2 });
    for (const e of events) projection.apply(e);
    const voted = vote('a', 'rita', 3, 1, 2);
    projection.apply(voted);
    activate(policyView(POLICY_V2_UNRELATED_CHANGE, 'v2'));
    expect(changes.map((c) => [c.kind, c.id])).toEqual([
      ['requested', String(events[2]!.position)],
      ['vote_recorded', String(voted.position)],
      ['drifted', `${voted.position}.1`],
    ]);
  });

  it('replays the retained changes after a Last-Event-ID, then goes live, once each; refuses an id it does not retain', () => {
    const { projection } = harness('strict', [], { changeHistoryLimit: 3 });
    for (const id of ['a', 'b', 'c', 'd']) for (const e of requestedJob(id)) projection.apply(e);
    const early: string[] = [];
    projection.changes().subscribe((c) => early.push(c.id));
    const seen: string[] = [];
    const ids = projection['history'].map((h: { change: ApprovalChange }) => h.change.id);
    expect(ids).toHaveLength(3); // b, c, d: a fell out of the retained history
    projection.changesAfter(ids[0]).subscribe((c) => seen.push(c.approval.job_id));
    expect(seen).toEqual(['c', 'd']);
    for (const e of requestedJob('e')) projection.apply(e);
    expect(seen).toEqual(['c', 'd', 'e']);

    const refusal = (id: string) => {
      try {
        projection.changesAfter(id);
        return null;
      } catch (error) {
        return (error as { code?: string }).code;
      }
    };
    expect(refusal('garbage')).toBe('invalid_last_event_id');
    expect(refusal('3')).toBe('invalid_last_event_id'); // the change of `a`, no longer retained
    expect(refusal('999999')).toBe('invalid_last_event_id');
  });

  it('bounds the retained changes by size too: large requests push the oldest out', () => {
    const { projection, changes } = harness('strict', [], { changeHistoryMaxBytes: 50_000 });
    for (const id of ['a', 'b', 'c', 'd']) for (const e of requestedJob(id, { payload: { memo: 'x'.repeat(20_000) } })) projection.apply(e);
    expect(changes).toHaveLength(4);
    expect(projection['history'].map((h: { change: ApprovalChange }) => h.change.approval.job_id)).toEqual(['c', 'd']);
    expect(() => projection.changesAfter(changes[1]!.id)).toThrow(expect.objectContaining({ code: 'invalid_last_event_id' }));
  });
});
