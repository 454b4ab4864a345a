import { decide, evolve, initialState, isReleased, JobAggregateState, JobCommand, ReleasedJobState } from '@signoff/approvals';
import { JobRequest } from '@signoff/contracts';
import { jobHash } from '@signoff/policy-engine';
import { verifyDispatch } from '@signoff/worker-sdk';
import { describe, expect, it } from 'vitest';
import { idempotencyKeyFor, toDispatchMessage } from './dispatch-message';
import { notifiedJobId } from './job-released.message.controller';

const SNAP = `sha256:${'a'.repeat(64)}`;
const REQUEST: JobRequest = {
  topic: 'finance.payment.execute',
  priority: 'high',
  tenant: 'acme',
  submitted_by: 'agent-7',
  labels: { env: 'production' },
  payload: { amount: 1200, currency: 'EUR', lines: [{ sku: 'x', qty: 2 }] },
};
const HASH = jobHash(REQUEST);
let n = 0;
const meta = (actor = 'tester') => ({ commandId: `cmd-${++n}`, correlationId: 'corr', actor, now: '2025-03-01T10:00:00.000Z' });

function run(commands: JobCommand[]): JobAggregateState {
  let state = initialState();
  for (const command of commands) {
    const result = decide(command, state);
    if (!result.ok) throw new Error(`${command.type}: ${result.code}`);
    for (const event of result.events) state = evolve(state, event);
  }
  return state;
}

function submit(decision: 'allow' | 'require_human'): JobCommand {
  return {
    type: 'SubmitJob',
    data: {
      job_id: 'job-1',
      request: REQUEST,
      job_hash: HASH,
      policy: {
        decision,
        rule_id: 'r',
        reason: 'why',
        policy_snapshot: SNAP,
        policy_version: 'v1',
        ...(decision === 'require_human' ? { approval: { required: 1, reviewers: [], timeout_ms: 60_000, on_timeout: 'reject' as const } } : {}),
      },
      ...(decision === 'require_human' ? { approval_ref: 'apr-1' } : {}),
    },
    metadata: meta('agent-7'),
  };
}

const approve: JobCommand = {
  type: 'ApproveJob',
  data: {
    job_id: 'job-1',
    reviewer: 'rita',
    reviewer_roles: ['reviewer'],
    reason: null,
    active_policy_snapshot: SNAP,
    current_job_hash: HASH,
    approval_id: 'approval-9',
  },
  metadata: meta('rita'),
};
const claim = (attempt = 1): JobCommand => ({
  type: 'ClaimDispatch',
  data: {
    job_id: 'job-1',
    attempt,
    idempotency_key: idempotencyKeyFor('job-1'),
    claimed_by: 'dispatch-a',
    // What the dispatcher read from the log: the approval's snapshot was active at the grant's position.
    grant_fact: { approval_id: 'approval-9', active_policy_snapshot: SNAP },
  },
  metadata: meta(),
});

function released(commands: JobCommand[]): ReleasedJobState {
  const state = run(commands);
  if (!isReleased(state)) throw new Error(`not released: ${state.status}`);
  return state;
}

describe('the dispatch message (DESIGN §6)', () => {
  it('of an approved job: key job_id, exactly the §6 value plus submitted_by, approval_granted/idempotency-key/job-hash headers', () => {
    const message = toDispatchMessage(released([submit('require_human'), approve, claim()]));
    expect(message.key).toBe('job-1');
    expect(message.value).toStrictEqual({
      job_id: 'job-1',
      topic: 'finance.payment.execute',
      priority: 'high',
      tenant: 'acme',
      labels: { env: 'production' },
      payload: { amount: 1200, currency: 'EUR', lines: [{ sku: 'x', qty: 2 }] },
      approval: { approval_id: 'approval-9', approved_by: ['rita'], policy_snapshot: SNAP, job_hash: HASH },
      attempt: 1,
      idempotency_key: 'job-1:dispatch',
      submitted_by: 'agent-7',
    });
    expect(message.headers).toStrictEqual({ approval_granted: 'true', 'idempotency-key': 'job-1:dispatch', 'job-hash': HASH });
  });

  it('of an allowed job: no approval block and no approval_granted header', () => {
    const message = toDispatchMessage(released([submit('allow'), claim()]));
    expect(message.value).not.toHaveProperty('approval');
    expect(message.headers).toStrictEqual({ 'idempotency-key': 'job-1:dispatch', 'job-hash': HASH });
  });

  it('refuses to build a message for an attempt nobody claimed', () => {
    expect(() => toDispatchMessage(released([submit('allow')]))).toThrow(/no claimed dispatch/);
  });

  it('is what the worker SDK verifies: its recomputed hash matches, and any tampering is refused as job_hash_mismatch', () => {
    const message = toDispatchMessage(released([submit('require_human'), approve, claim()]));
    const verified = verifyDispatch(message.value, message.headers!, message.key);
    expect(verified.ok).toBe(true);
    if (verified.ok) expect(verified.job).toMatchObject({ job_hash: HASH, approval_granted: true, attempt: 1, idempotency_key: 'job-1:dispatch' });

    const value = message.value as Record<string, unknown>;
    for (const tampered of [
      { ...value, payload: { amount: 99_999, currency: 'EUR', lines: [{ sku: 'x', qty: 2 }] } },
      { ...value, labels: { env: 'staging' } },
      { ...value, tenant: 'other' },
      { ...value, submitted_by: 'mallory' },
      { ...value, priority: 'low' },
      { ...value, topic: 'finance.payment.refund' },
    ]) {
      const refused = verifyDispatch(tampered, message.headers!, message.key);
      expect(refused).toMatchObject({ ok: false, code: 'job_hash_mismatch', job_id: 'job-1', idempotency_key: 'job-1:dispatch' });
    }
  });
});

describe('release notifications', () => {
  it('take the job id from the value or the key, and refuse disagreement or a malformed id', () => {
    expect(notifiedJobId({ job_id: 'job-1', decision: 'allow' }, 'job-1')).toBe('job-1');
    expect(notifiedJobId({ decision: 'allow' }, 'job-2')).toBe('job-2');
    expect(notifiedJobId({ job_id: 'job-1' }, null)).toBe('job-1');
    expect(notifiedJobId({ job_id: 'job-1' }, 'job-2')).toBeNull();
    expect(notifiedJobId({ job_id: 42 }, 'job-1')).toBeNull();
    expect(notifiedJobId(null, null)).toBeNull();
    expect(notifiedJobId({ job_id: ' spaced id' }, null)).toBeNull();
  });
});
