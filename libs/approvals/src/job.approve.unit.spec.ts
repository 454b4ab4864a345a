import { describe, expect, it } from 'vitest';
import {
  APPROVAL_ID,
  APPROVAL_REF,
  EXPIRES_AT,
  HASH_1,
  HASH_2,
  HISTORY_BY_STATUS,
  JOB_ID,
  RITA,
  SAM,
  SNAP_A,
  SNAP_B,
  SUBMITTER,
  TIMEOUT_MS,
  TOM,
  at,
  cmd,
  ev,
  given,
  history,
} from './testing/job.test-kit';

const vote = (reviewer: string, approvals: number, required: number, extra: object = {}) => ({
  type: 'ApprovalVoteRecorded' as const,
  // Every vote records the hash it approves: here the original's (edit before approve: job.amendment.unit.spec.ts).
  data: { job_id: JOB_ID, approval_ref: APPROVAL_REF, reviewer, reason: 'invoice checked', approvals, required, approved_job_hash: HASH_1, ...extra },
});
const grant = (approved_by: string[], extra: object = {}) => ({
  type: 'ApprovalGranted' as const,
  data: {
    job_id: JOB_ID,
    approval_ref: APPROVAL_REF,
    approval_id: APPROVAL_ID,
    approved_by,
    policy_snapshot: SNAP_A,
    job_hash: HASH_1,
    reason: 'invoice checked',
    ...extra,
  },
});

describe('ApproveJob', () => {
  describe('quorum', () => {
    it('1 of 1: the vote grants; answer approved with the approval id, state PENDING', () => {
      given(history.awaiting())
        .when(cmd.approve())
        .thenEvents([vote(RITA, 1, 1), grant([RITA])])
        .thenOutcome({ job_id: JOB_ID, status: 'approved', approval_id: APPROVAL_ID, state: 'PENDING', approvals: 1, required: 1 })
        .thenStatus('PENDING');
    });

    it('2 of M: the first vote is recorded, not granted', () => {
      given(history.awaiting({ required: 2 }))
        .when(cmd.approve())
        .thenEvents([vote(RITA, 1, 2)])
        .thenOutcome({ job_id: JOB_ID, status: 'approval_recorded', approvals: 1, required: 2 })
        .thenStatus('APPROVAL_REQUIRED');
    });

    it('2 of M: the same reviewer again counts once, no second vote event', () => {
      given(history.awaiting({ required: 2 }), ev.vote(RITA, 1, 2))
        .when(cmd.approve({ reason: 'again', commandId: 'cmd-2' }))
        .thenNoEvents()
        .thenOutcome({ job_id: JOB_ID, status: 'approval_recorded', approvals: 1, required: 2 });
    });

    it('2 of M: a second distinct reviewer grants, approved_by lists every voter in order', () => {
      given(history.awaiting({ required: 2 }), ev.vote(SAM, 1, 2))
        .when(cmd.approve())
        .thenEvents([vote(RITA, 2, 2), grant([SAM, RITA])])
        .thenOutcome({ job_id: JOB_ID, status: 'approved', approval_id: APPROVAL_ID, state: 'PENDING', approvals: 2, required: 2 })
        .thenStatus('PENDING');
    });

    it('3 of M reached through repeats: only distinct reviewers count', () => {
      const g1 = given(history.awaiting({ required: 3 }));
      const t1 = g1.when(cmd.approve({ reviewer: SAM }));
      const t2 = given(g1.events, t1.events).when(cmd.approve({ reviewer: SAM }));
      t2.thenNoEvents().thenOutcome({ job_id: JOB_ID, status: 'approval_recorded', approvals: 1, required: 3 });
      const t3 = given(g1.events, t1.events).when(cmd.approve({ reviewer: TOM }));
      t3.thenOutcome({ job_id: JOB_ID, status: 'approval_recorded', approvals: 2, required: 3 });
      given(g1.events, t1.events, t3.events)
        .when(cmd.approve({ reviewer: RITA }))
        .thenEvents([vote(RITA, 3, 3), grant([SAM, TOM, RITA])]);
    });

    it('the submitter never counts, even towards a quorum others are building', () => {
      given(history.awaiting({ required: 2 }), ev.vote(SAM, 1, 2))
        .when(cmd.approve({ reviewer: SUBMITTER }))
        .thenRefused('self_approval_forbidden');
    });

    it('reviewers are counted by normalised identity: Rita, RITA and ｒｉｔａ are the vote rita cast, no second vote event', () => {
      for (const spelling of ['Rita', 'RITA', 'ｒｉｔａ', 'ri\u200bta']) {
        given(history.awaiting({ required: 2 }), ev.vote(RITA, 1, 2))
          .when(cmd.approve({ reviewer: spelling, commandId: 'cmd-2' }))
          .thenNoEvents()
          .thenOutcome({ job_id: JOB_ID, status: 'approval_recorded', approvals: 1, required: 2 });
      }
    });

    it('a distinct identity still completes the quorum; approved_by keeps each spelling as it voted', () => {
      given(history.awaiting({ required: 2 }), ev.vote('Rita', 1, 2))
        .when(cmd.approve({ reviewer: SAM }))
        .thenEvents([vote(SAM, 2, 2), grant(['Rita', SAM])]);
    });

    it('a null reason is recorded as null', () => {
      given(history.awaiting())
        .when(cmd.approve({ reason: null }))
        .thenEvents([vote(RITA, 1, 1, { reason: null }), grant([RITA], { reason: null })]);
    });
  });

  describe('already approved: idempotent in every later state', () => {
    it.each(['PENDING', 'DISPATCHED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'DISPATCH_ABANDONED'] as const)(
      'from %s: already_approved with the original approval id and where the job stands now, no events',
      (status) => {
        given(HISTORY_BY_STATUS[status]())
          .when(cmd.approve({ approval_id: 'approval-new', commandId: 'cmd-2' }))
          .thenNoEvents()
          .thenOutcome({ job_id: JOB_ID, status: 'already_approved', approval_id: APPROVAL_ID, state: status === 'DISPATCH_ABANDONED' ? 'FAILED' : status });
      },
    );

    it('the original voter, another reviewer, a changed snapshot: all already_approved', () => {
      const g = given(history.approved());
      for (const command of [
        cmd.approve(),
        cmd.approve({ reviewer: SAM }),
        cmd.approve({ active_policy_snapshot: SNAP_B, current_job_hash: HASH_2 }),
      ]) {
        g.when(command).thenNoEvents().thenOutcome({ job_id: JOB_ID, status: 'already_approved', approval_id: APPROVAL_ID, state: 'PENDING' });
      }
    });
  });

  describe('refusals by state', () => {
    it('no job: 404 not_found', () => {
      given().when(cmd.approve()).thenRefused('not_found');
    });

    it.each([
      ['allowed, pending', () => history.allowed()],
      ['allowed, dispatched', () => [...history.allowed(), ev.claimed(), ev.dispatched()]],
      ['denied', () => history.denied()],
    ])('a job that never required approval (%s): 409 not_awaiting_approval', (_name, make) => {
      given(make()).when(cmd.approve()).thenRefused('not_awaiting_approval');
    });

    it('rejected: 409 already_rejected', () => {
      given(history.rejected()).when(cmd.approve()).thenRefused('already_rejected');
    });

    it('expired (recorded): 409 expired with expires_at', () => {
      given(history.expired()).when(cmd.approve({ now: at(TIMEOUT_MS + 5) })).thenRefused('expired', { expires_at: EXPIRES_AT });
    });

    it('invalidated: 409 invalidated', () => {
      given(history.invalidated()).when(cmd.approve()).thenRefused('invalidated');
    });
  });

  describe('expiry boundary (before the sweeper records it)', () => {
    it('1 ms before expires_at: counted', () => {
      given(history.awaiting()).when(cmd.approve({ now: at(TIMEOUT_MS - 1) })).thenEventTypes('ApprovalVoteRecorded', 'ApprovalGranted');
    });
    it('at expires_at: 409 expired, nothing recorded', () => {
      given(history.awaiting()).when(cmd.approve({ now: EXPIRES_AT })).thenRefused('expired', { expires_at: EXPIRES_AT });
    });
    it('after expires_at: 409 expired', () => {
      given(history.awaiting()).when(cmd.approve({ now: at(TIMEOUT_MS + 60_000) })).thenRefused('expired');
    });
    it('an unreadable stored expires_at fails closed', () => {
      given(history.awaiting().slice(0, 2), ev.requested({ expires_at: 'soon' })).when(cmd.approve()).thenRefused('expired');
    });
  });

  describe('reviewer checks', () => {
    it('the submitter: 403 self_approval_forbidden', () => {
      given(history.awaiting()).when(cmd.approve({ reviewer: SUBMITTER })).thenRefused('self_approval_forbidden');
    });

    it.each([
      ['upper case', 'AGENT-7'],
      ['mixed case', 'Agent-7'],
      ['fullwidth forms', 'ａｇｅｎｔ－７'],
      ['a zero-width space', 'agent\u200b-7'],
      ['a soft hyphen', 'agent-\u00ad7'],
    ])('the submitter spelled with %s: 403 self_approval_forbidden, nothing recorded', (_name, spelling) => {
      given(history.awaiting()).when(cmd.approve({ reviewer: spelling })).thenRefused('self_approval_forbidden');
      given(history.awaiting({ required: 2 }), ev.vote(SAM, 1, 2)).when(cmd.approve({ reviewer: spelling })).thenRefused('self_approval_forbidden');
    });

    it('a submitter id in another case is caught the other way round too (stored Agent-X, reviewer agent-x)', () => {
      const submittedByUpper = history.awaiting().map((e) =>
        e.type === 'JobSubmitted' ? { ...e, data: { ...e.data, request: { ...e.data.request, submitted_by: 'Agent-X' } } } : e,
      );
      given(submittedByUpper).when(cmd.approve({ reviewer: 'agent-x' })).thenRefused('self_approval_forbidden');
      given(submittedByUpper).when(cmd.approve({ reviewer: 'agent-y' })).thenEventTypes('ApprovalVoteRecorded', 'ApprovalGranted');
    });

    it('an approved job: the submitter gets 403 self_approval_forbidden and a reviewer without the rule role 403 forbidden, never already_approved', () => {
      given(history.approved()).when(cmd.approve({ reviewer: 'Agent-7' })).thenRefused('self_approval_forbidden');
      given(history.approved()).when(cmd.approve({ reviewer: SAM, reviewer_roles: ['reviewer'] })).thenRefused('forbidden', { required_roles: ['finance-approver'] });
      given(history.approved()).when(cmd.approve({ reviewer: SAM })).thenNoEvents().thenOutcome({ job_id: JOB_ID, status: 'already_approved', approval_id: APPROVAL_ID, state: 'PENDING' });
    });

    it('without one of the rule reviewer roles: 403 forbidden, with the roles needed', () => {
      given(history.awaiting())
        .when(cmd.approve({ reviewer_roles: ['reviewer'] }))
        .thenRefused('forbidden', { required_roles: ['finance-approver'] });
    });

    it('with any one of several rule roles: counted', () => {
      given(history.awaiting({ reviewers: ['cfo', 'finance-approver'] }))
        .when(cmd.approve({ reviewer_roles: ['cfo'] }))
        .thenEventTypes('ApprovalVoteRecorded', 'ApprovalGranted');
    });

    it('a rule with no reviewer roles: any reviewer counts', () => {
      given(history.awaiting({ reviewers: [] }))
        .when(cmd.approve({ reviewer_roles: [] }))
        .thenEventTypes('ApprovalVoteRecorded', 'ApprovalGranted');
    });
  });

  describe('integrity', () => {
    it('reviewed another snapshot: 409 stale_review', () => {
      given(history.awaiting())
        .when(cmd.approve({ reviewed_snapshot: SNAP_B }))
        .thenRefused('stale_review', { field: 'policy_snapshot', expected: SNAP_A, reviewed: SNAP_B });
    });

    it('reviewed another job: 409 stale_review', () => {
      given(history.awaiting())
        .when(cmd.approve({ reviewed_job_hash: HASH_2 }))
        .thenRefused('stale_review', { field: 'job_hash', expected: HASH_1, reviewed: HASH_2 });
    });

    it('reviewed exactly what the approval is bound to: counted', () => {
      given(history.awaiting())
        .when(cmd.approve({ reviewed_snapshot: SNAP_A, reviewed_job_hash: HASH_1 }))
        .thenEventTypes('ApprovalVoteRecorded', 'ApprovalGranted');
    });

    it('active snapshot changed (strict): 409 snapshot_changed with expected/current and NO event', () => {
      const then = given(history.awaiting())
        .when(cmd.approve({ active_policy_snapshot: SNAP_B }))
        .thenRefused('snapshot_changed', { expected: SNAP_A, current: SNAP_B });
      // No ApprovalInvalidated: a rolled-back policy makes the approval usable again.
      expect(then.after.status).toBe('APPROVAL_REQUIRED');
      given(history.awaiting()).when(cmd.approve({ commandId: 'cmd-2' })).thenEventTypes('ApprovalVoteRecorded', 'ApprovalGranted');
    });

    it('active snapshot changed, caller judged it not equivalent: 409 snapshot_changed', () => {
      given(history.awaiting())
        .when(cmd.approve({ active_policy_snapshot: SNAP_B, snapshot_equivalent: false }))
        .thenRefused('snapshot_changed');
    });

    it('decision mode, equivalent snapshot: counted, the equivalent snapshot recorded on vote and grant', () => {
      given(history.awaiting())
        .when(cmd.approve({ active_policy_snapshot: SNAP_B, snapshot_equivalent: true }))
        .thenEvents([vote(RITA, 1, 1, { equivalent_snapshot: SNAP_B }), grant([RITA], { equivalent_snapshot: SNAP_B })]);
    });

    it('snapshot_equivalent is ignored when the snapshot did not change', () => {
      given(history.awaiting())
        .when(cmd.approve({ snapshot_equivalent: true }))
        .thenEvents([vote(RITA, 1, 1), grant([RITA])]);
    });

    it('the job as known now has another hash: 409 job_request_changed', () => {
      given(history.awaiting())
        .when(cmd.approve({ current_job_hash: HASH_2 }))
        .thenRefused('job_request_changed', { expected: HASH_1, current: HASH_2 });
    });

    it('decision mode does not excuse a changed job', () => {
      given(history.awaiting())
        .when(cmd.approve({ active_policy_snapshot: SNAP_B, snapshot_equivalent: true, current_job_hash: HASH_2 }))
        .thenRefused('job_request_changed');
    });
  });

  describe('order of checks: the first failing check answers', () => {
    const awaiting = history.awaiting;
    it.each([
      ['invalid command before not_found', [], { reviewer: '' }, 'invalid_request'],
      ['not_found before anything about the job', [], { reviewer: SUBMITTER, active_policy_snapshot: SNAP_B }, 'not_found'],
      ['not_awaiting_approval before self approval', history.allowed(), { reviewer: SUBMITTER }, 'not_awaiting_approval'],
      ['self approval before already_approved', history.approved(), { reviewer: SUBMITTER, active_policy_snapshot: SNAP_B, current_job_hash: HASH_2 }, 'self_approval_forbidden'],
      ['roles before already_approved', history.approved(), { reviewer_roles: [] }, 'forbidden'],
      ['already_approved before integrity', history.approved(), { active_policy_snapshot: SNAP_B, current_job_hash: HASH_2 }, null],
      ['self approval before already_rejected', history.rejected(), { reviewer: SUBMITTER }, 'self_approval_forbidden'],
      ['roles before already_rejected', history.rejected(), { reviewer_roles: [] }, 'forbidden'],
      ['already_rejected for an eligible reviewer', history.rejected(), {}, 'already_rejected'],
      ['self approval before expired (due)', awaiting(), { reviewer: SUBMITTER, reviewer_roles: [], now: EXPIRES_AT }, 'self_approval_forbidden'],
      ['expired (due) before stale_review', awaiting(), { now: EXPIRES_AT, reviewed_snapshot: SNAP_B }, 'expired'],
      ['self approval before invalidated', history.invalidated(), { reviewer: SUBMITTER }, 'self_approval_forbidden'],
      ['self approval before roles', awaiting(), { reviewer: SUBMITTER, reviewer_roles: [] }, 'self_approval_forbidden'],
      ['roles before stale_review', awaiting(), { reviewer_roles: [], reviewed_snapshot: SNAP_B }, 'forbidden'],
      ['stale_review before snapshot_changed', awaiting(), { reviewed_job_hash: HASH_2, active_policy_snapshot: SNAP_B }, 'stale_review'],
      ['snapshot_changed before job_request_changed', awaiting(), { active_policy_snapshot: SNAP_B, current_job_hash: HASH_2 }, 'snapshot_changed'],
    ] as const)('%s', (_name, stream, over, code) => {
      const then = given(stream).when(cmd.approve(over as Parameters<typeof cmd.approve>[0]));
      if (code === null) then.thenNoEvents().thenOutcome({ job_id: JOB_ID, status: 'already_approved', approval_id: APPROVAL_ID, state: 'PENDING' });
      else then.thenRefused(code);
    });

    it('integrity is checked before a repeated vote is answered', () => {
      given(history.awaiting({ required: 2 }), ev.vote(RITA, 1, 2))
        .when(cmd.approve({ active_policy_snapshot: SNAP_B }))
        .thenRefused('snapshot_changed');
    });
  });

  describe('invalid commands', () => {
    it.each([
      ['no reviewer', { reviewer: '' }],
      ['roles not a list', { reviewer_roles: 'admin' as unknown as string[] }],
      ['no approval id', { approval_id: '' }],
      ['no active snapshot', { active_policy_snapshot: '' }],
      ['no current job hash', { current_job_hash: '' }],
      ['another job id than the stream', { job_id: 'job-other' }],
    ])('%s: invalid_request', (_name, over) => {
      given(history.awaiting()).when(cmd.approve(over)).thenRefused('invalid_request');
    });
  });
});
