import { describe, expect, it } from 'vitest';
import { foldJob, initialState } from './job.state';
import { apiStateOf, submitAnswerOf, toJobView } from './job.view';
import {
  APPROVAL_ID,
  APPROVAL_REF,
  EXPIRES_AT,
  HASH_1,
  HISTORY_BY_STATUS,
  JOB_ID,
  KEY,
  RITA,
  RULE,
  SAM,
  SNAP_A,
  SNAP_B,
  T0,
  at,
  ev,
  history,
} from './testing/job.test-kit';

describe('toJobView', () => {
  it('no job: null', () => {
    expect(toJobView(initialState())).toBeNull();
    expect(toJobView(foldJob([ev.submitted()]))).toBeNull();
    expect(apiStateOf(initialState())).toBeNull();
  });

  it('awaiting approval with one of two votes', () => {
    expect(toJobView(foldJob([...history.awaiting({ required: 2 }), ev.vote(SAM, 1, 2)]))).toEqual({
      job_id: JOB_ID,
      topic: 'finance.payment.execute',
      state: 'APPROVAL_REQUIRED',
      decision: 'require_human',
      rule_id: RULE,
      policy_snapshot: SNAP_A,
      job_hash: HASH_1,
      approval: {
        approval_ref: APPROVAL_REF,
        state: 'pending',
        rule_id: RULE,
        policy_snapshot: SNAP_A,
        job_hash: HASH_1,
        required: 2,
        reviewers: ['finance-approver'],
        approvals: 1,
        voters: [SAM],
        requested_at: T0,
        expires_at: EXPIRES_AT,
      },
    });
  });

  it('an allowed job waiting for its dispatcher has no approval and no dispatch member', () => {
    expect(toJobView(foldJob(history.allowed()))).toEqual({
      job_id: JOB_ID,
      topic: 'finance.payment.execute',
      state: 'PENDING',
      decision: 'allow',
      rule_id: 'allow-rule',
      policy_snapshot: SNAP_A,
      job_hash: HASH_1,
    });
  });

  it('approved, dispatched, succeeded: every member', () => {
    expect(toJobView(foldJob(history.succeeded()))).toEqual({
      job_id: JOB_ID,
      topic: 'finance.payment.execute',
      state: 'SUCCEEDED',
      decision: 'require_human',
      rule_id: RULE,
      policy_snapshot: SNAP_A,
      job_hash: HASH_1,
      approval: {
        approval_ref: APPROVAL_REF,
        state: 'approved',
        rule_id: RULE,
        policy_snapshot: SNAP_A,
        job_hash: HASH_1,
        required: 1,
        reviewers: ['finance-approver'],
        approvals: 1,
        voters: [RITA],
        requested_at: T0,
        expires_at: EXPIRES_AT,
        approval_id: APPROVAL_ID,
        approved_by: [RITA],
        granted_at: at(60_000),
      },
      dispatch: {
        attempt: 1,
        idempotency_key: KEY,
        claimed_by: 'dispatcher-a',
        claimed_at: at(61_000),
        topic: 'signoff.jobs.dispatch',
        partition: 3,
        offset: '17',
        dispatched_at: at(62_000),
        replays: 0,
      },
      result: {
        status: 'succeeded',
        worker: 'worker-1',
        started_at: at(63_000),
        completed_at: at(64_000),
        result: { paid: true },
      },
    });
  });

  it('running and failed results', () => {
    expect(toJobView(foldJob(history.running()))?.result).toEqual({ status: 'running', worker: 'worker-1', started_at: at(63_000) });
    expect(toJobView(foldJob(history.failed()))?.result).toMatchObject({ status: 'failed', error: 'bank refused' });
  });

  it('refusal states carry what refused the approval', () => {
    expect(toJobView(foldJob(history.rejected()))?.approval).toMatchObject({
      state: 'rejected',
      rejected_by: RITA,
      rejection_reason: 'no',
      rejected_at: at(60_000),
    });
    expect(toJobView(foldJob(history.expired()))?.approval).toMatchObject({ state: 'expired', expired_at: EXPIRES_AT });
    expect(toJobView(foldJob(history.invalidated()))?.approval).toMatchObject({
      state: 'invalidated',
      invalidated: { code: 'snapshot_changed', expected: SNAP_A, current: SNAP_B, at: T0 },
    });
    expect(toJobView(foldJob(history.denied()))).toMatchObject({ state: 'DENIED', decision: 'deny' });
  });

  it.each(Object.entries(HISTORY_BY_STATUS).filter(([s]) => s !== 'initial'))('%s maps to an API state', (status, make) => {
    const view = toJobView(foldJob(make()));
    expect(view?.state).toBe(status === 'DISPATCH_ABANDONED' ? 'FAILED' : status);
  });
});

describe('submitAnswerOf', () => {
  it('is null without a job and the original answer otherwise', () => {
    expect(submitAnswerOf(initialState())).toBeNull();
    expect(submitAnswerOf(foldJob(history.succeeded()))).toEqual({
      job_id: JOB_ID,
      status: 'approval_required',
      decision: 'require_human',
      approval_ref: APPROVAL_REF,
      rule_id: RULE,
      policy_snapshot: SNAP_A,
      job_hash: HASH_1,
    });
  });
});
