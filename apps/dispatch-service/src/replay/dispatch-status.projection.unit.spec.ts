import { DispatchReplayedData, JobEvent, JobRef, POLICY_STREAM, SignoffEvent, SignoffEventMap, toJobStreamId } from '@signoff/contracts';
import { describe, expect, it } from 'vitest';
import { DispatchStatusProjection, StuckJobCriteria } from './dispatch-status.projection';

const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const GRACE = 2_000;
const ACK = 30_000;
const RUN = 300_000;

type StreamEvent = JobEvent & { readonly streamId: string };
const ref = (jobId: string, tenant = 'default'): JobRef => ({ tenant, jobId });

/** An event of the job's stream (tenant `default`). */
function ev<T extends JobEvent['type']>(type: T, data: SignoffEventMap[T], atMs: number): StreamEvent {
  return {
    type,
    data,
    metadata: { correlationId: 'c', causationId: 'c', actor: 'a', at: new Date(T0 + atMs).toISOString() },
    streamId: toJobStreamId(ref((data as { job_id: string }).job_id)),
  } as unknown as StreamEvent;
}
/** The same event filed in another tenant's stream of the same job id. */
const inTenant = (event: StreamEvent, tenant: string): StreamEvent => ({ ...event, streamId: toJobStreamId(ref((event.data as { job_id: string }).job_id, tenant)) });

const allowed = (job: string, at = 0) =>
  ev('PolicyEvaluated', { job_id: job, decision: 'allow', rule_id: 'r', reason: '', policy_snapshot: 's', policy_version: 'v1' }, at);
const denied = (job: string, at = 0) =>
  ev('PolicyEvaluated', { job_id: job, decision: 'deny', rule_id: 'r', reason: '', policy_snapshot: 's', policy_version: 'v1' }, at);
const needsHuman = (job: string, at = 0) =>
  ev('PolicyEvaluated', { job_id: job, decision: 'require_human', rule_id: 'r', reason: '', policy_snapshot: 's', policy_version: 'v1' }, at);
const granted = (job: string, at: number) =>
  ev('ApprovalGranted', { job_id: job, approval_ref: 'a', approval_id: 'ap', approved_by: ['rita'], policy_snapshot: 's', job_hash: 'h', reason: null }, at);
const claimed = (job: string, attempt: number, at: number, by = 'dispatch-a') =>
  ev('DispatchClaimed', { job_id: job, attempt, idempotency_key: `${job}:dispatch`, claimed_by: by }, at);
const dispatched = (job: string, attempt: number, at: number) =>
  ev('JobDispatched', { job_id: job, attempt, idempotency_key: `${job}:dispatch`, topic: 't', partition: 0, offset: '1' }, at);
const replayed = (job: string, attempt: number, at: number, reason: DispatchReplayedData['reason'] = 'not_acknowledged') =>
  ev('DispatchReplayed', { job_id: job, attempt, reason }, at);
const started = (job: string, at: number) => ev('JobStarted', { job_id: job, idempotency_key: `${job}:dispatch`, worker: 'w' }, at);
const completed = (job: string, at: number) => ev('JobCompleted', { job_id: job, idempotency_key: `${job}:dispatch`, status: 'succeeded' }, at);
const unknown = (job: string, at: number) =>
  ev('JobOutcomeUnknown', { job_id: job, idempotency_key: `${job}:dispatch`, worker: 'w2', reason: 'lease lost' }, at);

const activated = (snapshot: string, streamId = POLICY_STREAM) =>
  ({
    type: 'PolicyActivated',
    data: { snapshot, version: 'v', activatedBy: 'admin', bundle: {} },
    metadata: { correlationId: 'c', causationId: 'c', actor: 'admin', at: new Date(T0).toISOString() },
    streamId,
  }) as SignoffEvent & { streamId: string };

const criteria = (nowMs: number, maxAttempts = 5): StuckJobCriteria => ({
  graceMs: GRACE,
  workerAckTimeoutMs: ACK,
  workerRunTimeoutMs: RUN,
  maxAttempts,
  now: T0 + nowMs,
});

function projectionOf(events: StreamEvent[]): DispatchStatusProjection {
  const p = new DispatchStatusProjection();
  for (const e of events) p.apply(e);
  return p;
}

describe('dispatch-status projection and stuck jobs', () => {
  it('tracks released jobs only: allowed or approved, never denied or awaiting approval', () => {
    const p = projectionOf([allowed('a'), denied('d'), needsHuman('h'), needsHuman('g'), granted('g', 100)]);
    expect([...p.all()].map((s) => s.job_id).sort()).toEqual(['a', 'g']);
    expect(p.stuck(criteria(GRACE + 200)).map((c) => c.job_id)).toEqual(['a', 'g']);
  });

  it('PENDING without a claim past the grace -> not_published; not before', () => {
    const p = projectionOf([allowed('a')]);
    expect(p.stuck(criteria(GRACE - 1))).toEqual([]);
    expect(p.stuck(criteria(GRACE))).toMatchObject([{ job_id: 'a', attempt: 1, stage: 'pending', reason: 'not_published', action: 'replay', overdue_ms: 0 }]);
  });

  it('claimed but never recorded past the grace -> not_recorded, naming the claimant', () => {
    const p = projectionOf([allowed('a'), claimed('a', 1, 100, 'dispatch-dead')]);
    expect(p.stuck(criteria(100 + GRACE - 1))).toEqual([]);
    expect(p.stuck(criteria(100 + GRACE + 5))).toMatchObject([
      { job_id: 'a', stage: 'claimed', reason: 'not_recorded', claimed_by: 'dispatch-dead', idempotency_key: 'a:dispatch', overdue_ms: 5 },
    ]);
  });

  it('dispatched without a worker report: stuck only after WORKER_ACK_TIMEOUT_MS', () => {
    const p = projectionOf([allowed('a'), claimed('a', 1, 10), dispatched('a', 1, 20)]);
    expect(p.stuck(criteria(20 + GRACE + 1))).toEqual([]);
    expect(p.stuck(criteria(20 + ACK))).toMatchObject([{ job_id: 'a', stage: 'dispatched', reason: 'not_acknowledged' }]);
  });

  it('a recorded outcome (completed, unknown) or an abandonment removes the job; a late record never brings it back', () => {
    const p = projectionOf([allowed('a'), claimed('a', 1, 10), started('a', 15), completed('a', 18), dispatched('a', 1, 20)]);
    expect(p.size).toBe(0);
    p.apply(allowed('b'));
    p.apply(ev('DispatchAbandoned', { job_id: 'b', attempts: 5, max_attempts: 5, reason: 'not_acknowledged' }, 50));
    expect(p.size).toBe(0);
    p.apply(allowed('c'));
    p.apply(started('c', 60));
    p.apply(unknown('c', 70));
    expect(p.size).toBe(0);
  });

  it('a started job stays in the index: without an outcome within WORKER_RUN_TIMEOUT_MS it is stuck, not_completed', () => {
    // A lost or forged `started` (or a worker that died mid-run) must not take the job out of replay for good.
    const p = projectionOf([allowed('a'), claimed('a', 1, 10), started('a', 15), dispatched('a', 1, 20)]);
    expect(p.get(ref('a'))).toMatchObject({ attempt: 1, stage: 'running', since: T0 + 15, started: true });
    expect(p.stuck(criteria(15 + ACK * 2))).toEqual([]);
    expect(p.stuck(criteria(15 + RUN))).toMatchObject([{ job_id: 'a', stage: 'running', reason: 'not_completed', action: 'replay', overdue_ms: 0 }]);
    // Its replay opens attempt 2 as pending; exhausted attempts of a started job are offered as mark_unknown, not abandon.
    p.apply(replayed('a', 2, 15 + RUN, 'not_completed'));
    expect(p.get(ref('a'))).toMatchObject({ attempt: 2, stage: 'pending', started: true });
    expect(p.stuck(criteria(15 + RUN + GRACE, 2))).toMatchObject([{ job_id: 'a', attempt: 2, action: 'mark_unknown' }]);
  });

  it('a replay opens the next attempt as pending; the last allowed attempt is offered for abandonment', () => {
    const p = projectionOf([allowed('a'), claimed('a', 1, 0), dispatched('a', 1, 0), replayed('a', 2, 40_000)]);
    expect(p.get(ref('a'))).toMatchObject({ attempt: 2, stage: 'pending', claimed_by: null, idempotency_key: 'a:dispatch' });
    p.apply(claimed('a', 2, 40_001));
    p.apply(dispatched('a', 2, 40_002));
    expect(p.stuck(criteria(40_002 + ACK, 2))).toMatchObject([{ job_id: 'a', attempt: 2, action: 'abandon' }]);
    expect(p.stuck(criteria(40_002 + ACK, 3))).toMatchObject([{ job_id: 'a', attempt: 2, action: 'replay' }]);
  });

  it('never moves a job backwards: an event already applied ahead of the log reader is ignored when the reader delivers it', () => {
    const p = projectionOf([allowed('a'), replayed('a', 2, 100, 'not_published'), claimed('a', 2, 110)]);
    p.apply(replayed('a', 2, 100, 'not_published'));
    expect(p.get(ref('a'))).toMatchObject({ attempt: 2, stage: 'claimed' });
    p.apply(dispatched('a', 1, 120));
    expect(p.get(ref('a'))).toMatchObject({ attempt: 2, stage: 'claimed' });
  });

  it('lists the longest overdue first, and touch() restarts a job’s clock', () => {
    const p = projectionOf([allowed('new', 1000), allowed('old', 0), allowed('mid', 500)]);
    expect(p.stuck(criteria(GRACE + 1000)).map((c) => c.job_id)).toEqual(['old', 'mid', 'new']);
    p.touch(ref('old'), T0 + 1500);
    expect(p.stuck(criteria(GRACE + 1000)).map((c) => c.job_id)).toEqual(['mid', 'new']);
  });

  it('records on each grant the policy active at its position: the last activation read before it; later ones change nothing', () => {
    const p = new DispatchStatusProjection();
    expect(p.activePolicySnapshot).toBeNull();
    p.apply(granted('before-any', 0));
    p.apply(activated('sha256:p1'));
    p.apply(granted('g1', 10));
    p.apply(activated('sha256:p2'));
    p.apply(granted('g2', 20));
    p.apply(activated('sha256:p3'));
    expect(p.get(ref('before-any'))?.grant).toEqual({ approval_id: 'ap', active_policy_snapshot: null });
    expect(p.get(ref('g1'))?.grant).toEqual({ approval_id: 'ap', active_policy_snapshot: 'sha256:p1' });
    expect(p.get(ref('g2'))?.grant).toEqual({ approval_id: 'ap', active_policy_snapshot: 'sha256:p2' });
    expect(p.activePolicySnapshot).toBe('sha256:p3');
    // The fact stays with the job through its dispatch attempts; allowed jobs have none.
    p.apply(replayed('g1', 2, 2_100, 'not_published'));
    p.apply(claimed('g1', 2, 2_200));
    expect(p.get(ref('g1'))).toMatchObject({ attempt: 2, stage: 'claimed', grant: { active_policy_snapshot: 'sha256:p1' } });
    p.apply(allowed('a'));
    expect(p.get(ref('a'))?.grant).toBeNull();
  });

  it('takes activations only from the policy stream; clear() forgets the active policy', () => {
    const p = new DispatchStatusProjection();
    p.apply(activated('sha256:p1'));
    p.apply(activated('sha256:forged', 'job-x'));
    p.apply({ ...activated('sha256:no-stream'), streamId: undefined as unknown as string });
    expect(p.activePolicySnapshot).toBe('sha256:p1');
    p.clear();
    expect(p.activePolicySnapshot).toBeNull();
  });

  it('an invalidated approval leaves the index (never replayed)', () => {
    const p = projectionOf([needsHuman('v'), granted('v', 0)]);
    p.apply(ev('ApprovalInvalidated', { job_id: 'v', approval_ref: 'a', code: 'snapshot_changed', expected: 's', current: 't' }, 10));
    expect(p.size).toBe(0);
    expect(p.stuck(criteria(ACK * 10))).toEqual([]);
  });

  it('records each tenant’s grant of one job id with the policy active at that grant’s own position; an invalidation voids only its tenant’s job', () => {
    const p = new DispatchStatusProjection();
    p.apply(activated('sha256:p1'));
    p.apply(inTenant(granted('twin', 0), 'acme'));
    p.apply(activated('sha256:p2'));
    p.apply(inTenant(granted('twin', 10), 'globex'));
    expect(p.get(ref('twin'))).toBeUndefined();
    expect(p.get(ref('twin', 'acme'))?.grant).toEqual({ approval_id: 'ap', active_policy_snapshot: 'sha256:p1' });
    expect(p.get(ref('twin', 'globex'))?.grant).toEqual({ approval_id: 'ap', active_policy_snapshot: 'sha256:p2' });
    p.apply(inTenant(ev('ApprovalInvalidated', { job_id: 'twin', approval_ref: 'a', code: 'snapshot_changed', expected: 's', current: 'sha256:p1' }, 20), 'acme'));
    expect(p.get(ref('twin', 'acme'))).toBeUndefined();
    expect(p.get(ref('twin', 'globex'))).toMatchObject({ tenant: 'globex', grant: { active_policy_snapshot: 'sha256:p2' } });
  });

  it('ignores an event filed in another job’s stream', () => {
    const p = new DispatchStatusProjection();
    p.apply({ ...allowed('a'), streamId: 'job-b' });
    expect(p.size).toBe(0);
  });

  it('keys jobs by tenant and id: the same job id in two tenants is two jobs, each replayed in its own tenant', () => {
    const p = projectionOf([allowed('same', 0), inTenant(allowed('same', 10), 'acme'), inTenant(claimed('same', 1, 20), 'acme')]);
    expect(p.size).toBe(2);
    expect(p.get(ref('same'))).toMatchObject({ tenant: 'default', stage: 'pending' });
    expect(p.get(ref('same', 'acme'))).toMatchObject({ tenant: 'acme', stage: 'claimed' });
    expect(p.stuck(criteria(GRACE + 100)).map((c) => [c.tenant, c.job_id, c.reason])).toEqual([
      ['default', 'same', 'not_published'],
      ['acme', 'same', 'not_recorded'],
    ]);
    p.apply(inTenant(completed('same', 30), 'acme'));
    expect(p.get(ref('same', 'acme'))).toBeUndefined();
    expect(p.get(ref('same'))).toBeDefined();
  });
});
