import { describe, it } from 'vitest';
import {
  APPROVAL_ID,
  APPROVAL_REF,
  EXPIRES_AT,
  HASH_1,
  HASH_2,
  JOB_ID,
  RITA,
  SNAP_A,
  SNAP_B,
  TIMEOUT_MS,
  at,
  cmd,
  ev,
  given,
  history,
} from './testing/job.test-kit';

describe('ExpireApproval', () => {
  it('before expires_at: refused with the expiry, nothing recorded', () => {
    given(history.awaiting())
      .when(cmd.expire({ now: at(TIMEOUT_MS - 1) }))
      .thenRefused('invalid_request', { expires_at: EXPIRES_AT });
  });

  it.each([
    ['exactly at expires_at', EXPIRES_AT],
    ['after expires_at', at(TIMEOUT_MS + 3_600_000)],
  ])('%s: ApprovalExpired with on_timeout reject, state EXPIRED', (_name, now) => {
    given(history.awaiting())
      .when(cmd.expire({ now }))
      .thenEvents([
        {
          type: 'ApprovalExpired',
          data: { job_id: JOB_ID, approval_ref: APPROVAL_REF, expires_at: EXPIRES_AT, on_timeout: 'reject' },
        },
      ])
      .thenOutcome({ job_id: JOB_ID, status: 'expired', state: 'EXPIRED' })
      .thenStatus('EXPIRED');
  });

  it('a partial quorum expires too (fail closed)', () => {
    given(history.awaiting({ required: 2 }), ev.vote(RITA, 1, 2)).when(cmd.expire({ now: EXPIRES_AT })).thenStatus('EXPIRED');
  });

  it('again: already_expired, no events (two sweepers)', () => {
    given(history.expired())
      .when(cmd.expire({ now: EXPIRES_AT }))
      .thenNoEvents()
      .thenOutcome({ job_id: JOB_ID, status: 'already_expired' });
  });

  it.each([
    ['no job', () => [], 'not_found'],
    ['allowed', history.allowed, 'not_awaiting_approval'],
    ['denied', history.denied, 'not_awaiting_approval'],
    ['approved', history.approved, 'already_approved'],
    ['rejected', history.rejected, 'already_rejected'],
    ['invalidated', history.invalidated, 'invalidated'],
  ] as const)('%s: %s', (_name, make, code) => {
    given(make()).when(cmd.expire({ now: at(TIMEOUT_MS * 10) })).thenRefused(code);
  });

  it('once expired, approve and reject answer expired', () => {
    given(history.expired()).when(cmd.approve({ now: EXPIRES_AT })).thenRefused('expired');
    given(history.expired()).when(cmd.reject({ now: EXPIRES_AT })).thenRefused('expired');
  });
});

describe('InvalidateApproval', () => {
  it('snapshot_changed, bound value as expected: ApprovalInvalidated, state INVALIDATED', () => {
    given(history.awaiting())
      .when(cmd.invalidate())
      .thenEvents([
        {
          type: 'ApprovalInvalidated',
          data: { job_id: JOB_ID, approval_ref: APPROVAL_REF, code: 'snapshot_changed', expected: SNAP_A, current: SNAP_B },
        },
      ])
      .thenOutcome({ job_id: JOB_ID, status: 'invalidated', state: 'INVALIDATED' })
      .thenStatus('INVALIDATED');
  });

  it('job_request_changed is checked against the bound job hash', () => {
    given(history.awaiting())
      .when(cmd.invalidate({ code: 'job_request_changed', expected: HASH_1, current: HASH_2 }))
      .thenEventTypes('ApprovalInvalidated');
    given(history.awaiting())
      .when(cmd.invalidate({ code: 'job_request_changed', expected: SNAP_A, current: HASH_2 }))
      .thenRefused('stale_review', { field: 'job_hash', expected: HASH_1, reviewed: SNAP_A });
  });

  it('an expected value the approval is not bound to: stale_review', () => {
    given(history.awaiting())
      .when(cmd.invalidate({ expected: SNAP_B, current: SNAP_A }))
      .thenRefused('stale_review', { field: 'policy_snapshot', expected: SNAP_A, reviewed: SNAP_B });
  });

  it('current equal to expected: invalid_request (nothing changed)', () => {
    given(history.awaiting()).when(cmd.invalidate({ current: SNAP_A })).thenRefused('invalid_request');
  });

  it('an unknown code: invalid_request', () => {
    given(history.awaiting())
      .when(cmd.invalidate({ code: 'other' as 'snapshot_changed' }))
      .thenRefused('invalid_request');
  });

  it('again: already_invalidated, no events', () => {
    given(history.invalidated())
      .when(cmd.invalidate())
      .thenNoEvents()
      .thenOutcome({ job_id: JOB_ID, status: 'already_invalidated' });
  });

  it.each([
    ['no job', () => [], 'not_found'],
    ['allowed', history.allowed, 'not_awaiting_approval'],
    ['approved', history.approved, 'already_approved'],
    ['rejected', history.rejected, 'already_rejected'],
    ['expired', history.expired, 'expired'],
  ] as const)('%s: %s', (_name, make, code) => {
    given(make()).when(cmd.invalidate()).thenRefused(code);
  });

  it('due for expiry: expired', () => {
    given(history.awaiting()).when(cmd.invalidate({ now: EXPIRES_AT })).thenRefused('expired');
  });

  it('once invalidated, approve answers invalidated and approve-after-approve still already_approved', () => {
    given(history.invalidated()).when(cmd.approve()).thenRefused('invalidated');
    given(history.approved())
      .when(cmd.invalidate())
      .thenRefused('already_approved', { approval_id: APPROVAL_ID });
  });
});
