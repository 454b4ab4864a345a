import { describe, it } from 'vitest';
import {
  APPROVAL_ID,
  APPROVAL_REF,
  EXPIRES_AT,
  HISTORY_BY_STATUS,
  JOB_ID,
  RITA,
  SAM,
  SUBMITTER,
  TIMEOUT_MS,
  at,
  cmd,
  ev,
  given,
  history,
} from './testing/job.test-kit';

describe('RejectJob', () => {
  it('rejects an awaiting approval: ApprovalRejected, state REJECTED', () => {
    given(history.awaiting())
      .when(cmd.reject())
      .thenEvents([
        {
          type: 'ApprovalRejected',
          data: { job_id: JOB_ID, approval_ref: APPROVAL_REF, rejected_by: RITA, reason: 'amount too high' },
        },
      ])
      .thenOutcome({ job_id: JOB_ID, status: 'rejected', state: 'REJECTED' })
      .thenStatus('REJECTED');
  });

  it('one rejection vetoes a partial quorum, even by a reviewer who voted for it', () => {
    given(history.awaiting({ required: 2 }), ev.vote(RITA, 1, 2))
      .when(cmd.reject())
      .thenEventTypes('ApprovalRejected')
      .thenStatus('REJECTED');
  });

  it('again, by anyone: already_rejected, no events', () => {
    given(history.rejected())
      .when(cmd.reject({ reviewer: SAM, reason: 'me too' }))
      .thenNoEvents()
      .thenOutcome({ job_id: JOB_ID, status: 'already_rejected' });
  });

  it.each(['PENDING', 'DISPATCHED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'DISPATCH_ABANDONED'] as const)(
    'after the grant (%s): 409 already_approved with the approval id',
    (status) => {
      given(HISTORY_BY_STATUS[status]()).when(cmd.reject()).thenRefused('already_approved', { approval_id: APPROVAL_ID });
    },
  );

  it.each([
    ['empty', ''],
    ['blank', '   '],
  ])('a %s reason: 400 invalid_request (before anything about the job)', (_name, reason) => {
    given().when(cmd.reject({ reason })).thenRefused('invalid_request', {
      errors: [{ field: 'reason', message: 'reason is required to reject' }],
    });
    given(history.awaiting()).when(cmd.reject({ reason })).thenRefused('invalid_request');
  });

  it('no job: not_found', () => {
    given().when(cmd.reject()).thenRefused('not_found');
  });

  it.each([
    ['allowed', history.allowed],
    ['denied', history.denied],
  ])('%s job: not_awaiting_approval', (_name, make) => {
    given(make()).when(cmd.reject()).thenRefused('not_awaiting_approval');
  });

  it('expired (recorded or due): expired', () => {
    given(history.expired()).when(cmd.reject()).thenRefused('expired');
    given(history.awaiting()).when(cmd.reject({ now: EXPIRES_AT })).thenRefused('expired');
    given(history.awaiting()).when(cmd.reject({ now: at(TIMEOUT_MS - 1) })).thenEventTypes('ApprovalRejected');
  });

  it('invalidated: invalidated', () => {
    given(history.invalidated()).when(cmd.reject()).thenRefused('invalidated');
  });

  it('the submitter: self_approval_forbidden (the same 4xx as approve)', () => {
    given(history.awaiting()).when(cmd.reject({ reviewer: SUBMITTER })).thenRefused('self_approval_forbidden');
  });

  it('without the rule reviewer roles: forbidden', () => {
    given(history.awaiting()).when(cmd.reject({ reviewer_roles: ['reviewer'] })).thenRefused('forbidden');
  });

  it('eligibility before already_rejected: the submitter (any spelling) and a reviewer without the rule role get their 403', () => {
    given(history.rejected()).when(cmd.reject({ reviewer: SUBMITTER })).thenRefused('self_approval_forbidden');
    given(history.rejected()).when(cmd.reject({ reviewer: 'AGENT-7' })).thenRefused('self_approval_forbidden');
    given(history.rejected()).when(cmd.reject({ reviewer: SAM, reviewer_roles: ['reviewer'] })).thenRefused('forbidden');
  });

  it('eligibility before already_approved: the submitter of an approved job gets self_approval_forbidden', () => {
    given(history.approved()).when(cmd.reject({ reviewer: 'Agent-7' })).thenRefused('self_approval_forbidden');
    given(history.approved()).when(cmd.reject({ reviewer: SAM, reviewer_roles: [] })).thenRefused('forbidden');
  });

  it('the submitter spelled in another case or width: self_approval_forbidden', () => {
    for (const spelling of ['Agent-7', 'ＡＧＥＮＴ－７']) given(history.awaiting()).when(cmd.reject({ reviewer: spelling })).thenRefused('self_approval_forbidden');
  });

  it('no reviewer: invalid_request', () => {
    given(history.awaiting()).when(cmd.reject({ reviewer: '' })).thenRefused('invalid_request');
  });
});
