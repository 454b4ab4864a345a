import { describe, expect, it } from 'vitest';
import type { VoteDelegation } from './job.commands';
import { APPROVAL_ID, APPROVAL_REF, HASH_1, JOB_ID, RITA, SAM, SNAP_A, SUBMITTER, TOM, cmd, ev, given, history } from './testing/job.test-kit';

/*
 * Votes cast under a delegation (issue 12 section 4), given/when/then on the job decider: the vote
 * counts as the delegator's, records who cast it and the chain, and never lets the submitter
 * (anywhere on the chain) approve, nor one person count twice towards a quorum.
 */

const BOB = 'bob';
const link = (delegator: string, delegate: string) => ({ delegation_id: `d-${delegator}-${delegate}`, delegator, delegate });
/** `cast_by` voting for the first link's delegator through `links`. */
const via = (cast_by: string, ...links: ReturnType<typeof link>[]): VoteDelegation => ({ cast_by, on_behalf_of: links });

describe('ApproveJob on behalf of a delegator', () => {
  it('bob votes for rita: the vote and the grant are rita\'s and record cast_by bob and the delegation', () => {
    const delegation = via(BOB, link(RITA, BOB));
    given(history.awaiting())
      .when(cmd.approve({ reviewer: RITA, delegation, actor: BOB }))
      .thenEvents([
        {
          type: 'ApprovalVoteRecorded',
          data: { job_id: JOB_ID, approval_ref: APPROVAL_REF, reviewer: RITA, reason: 'invoice checked', approvals: 1, required: 1, approved_job_hash: HASH_1, cast_by: BOB, on_behalf_of: [link(RITA, BOB)] },
        },
        {
          type: 'ApprovalGranted',
          data: {
            job_id: JOB_ID,
            approval_ref: APPROVAL_REF,
            approval_id: APPROVAL_ID,
            approved_by: [RITA],
            policy_snapshot: SNAP_A,
            job_hash: HASH_1,
            reason: 'invoice checked',
            cast_by: BOB,
            on_behalf_of: [link(RITA, BOB)],
          },
        },
      ])
      .thenStatus('PENDING');
  });

  it('the folded vote keeps who cast it', () => {
    const then = given(history.awaiting({ required: 2 })).when(cmd.approve({ reviewer: RITA, delegation: via(BOB, link(RITA, BOB)), actor: BOB }));
    const approval = then.after.status === 'APPROVAL_REQUIRED' ? then.after.approval : null;
    expect(approval?.votes).toMatchObject([{ reviewer: RITA, cast_by: BOB, on_behalf_of: [link(RITA, BOB)] }]);
  });

  it('quorum 2: the delegator and the delegate count once, in either order', () => {
    // rita voted herself; bob for rita is her vote again.
    given(history.awaiting({ required: 2 }), ev.vote(RITA, 1, 2))
      .when(cmd.approve({ reviewer: RITA, delegation: via(BOB, link(RITA, BOB)), actor: BOB }))
      .thenNoEvents()
      .thenOutcome({ job_id: JOB_ID, status: 'approval_recorded', approvals: 1, required: 2 });
    // bob voted for rita; bob in his own name is the same person again.
    const bobForRita = given(history.awaiting({ required: 2 })).when(cmd.approve({ reviewer: RITA, delegation: via(BOB, link(RITA, BOB)), actor: BOB }));
    given(history.awaiting({ required: 2 }), ...bobForRita.events)
      .when(cmd.approve({ reviewer: BOB, actor: BOB }))
      .thenNoEvents()
      .thenOutcome({ job_id: JOB_ID, status: 'approval_recorded', approvals: 1, required: 2 });
    // ... and rita in her own name is the voter again.
    given(history.awaiting({ required: 2 }), ...bobForRita.events).when(cmd.approve({ reviewer: RITA })).thenNoEvents();
    // A third person completes the quorum.
    given(history.awaiting({ required: 2 }), ...bobForRita.events).when(cmd.approve({ reviewer: SAM })).thenEventTypes('ApprovalVoteRecorded', 'ApprovalGranted');
  });

  it('one person voting for two distinct delegators counts once (four eyes are two people)', () => {
    const bobForRita = given(history.awaiting({ required: 2 })).when(cmd.approve({ reviewer: RITA, delegation: via(BOB, link(RITA, BOB)), actor: BOB }));
    given(history.awaiting({ required: 2 }), ...bobForRita.events)
      .when(cmd.approve({ reviewer: SAM, delegation: via(BOB, link(SAM, BOB)), actor: BOB }))
      .thenNoEvents()
      .thenOutcome({ job_id: JOB_ID, status: 'approval_recorded', approvals: 1, required: 2 });
  });

  it('self-approval through a delegation: refused when the submitter is the delegate, the delegator or anyone on the chain', () => {
    // The submitter casts for rita.
    given(history.awaiting()).when(cmd.approve({ reviewer: RITA, delegation: via(SUBMITTER, link(RITA, SUBMITTER)), actor: SUBMITTER })).thenRefused('self_approval_forbidden');
    // bob casts for the submitter.
    given(history.awaiting()).when(cmd.approve({ reviewer: SUBMITTER, delegation: via(BOB, link(SUBMITTER, BOB)), actor: BOB })).thenRefused('self_approval_forbidden');
    // rita -> submitter -> bob: the submitter is in the middle (any spelling).
    given(history.awaiting())
      .when(cmd.approve({ reviewer: RITA, delegation: via(BOB, link(RITA, 'AGENT-7'), link('AGENT-7', BOB)), actor: BOB }))
      .thenRefused('self_approval_forbidden');
    given(history.awaiting())
      .when(cmd.reject({ reviewer: RITA, delegation: via(BOB, link(RITA, SUBMITTER), link(SUBMITTER, BOB)), actor: BOB }))
      .thenRefused('self_approval_forbidden');
  });

  it('the rule\'s reviewer roles are checked against the delegated roles, not the caster\'s', () => {
    given(history.awaiting({ reviewers: ['finance-approver'] }))
      .when(cmd.approve({ reviewer: RITA, reviewer_roles: ['reviewer'], delegation: via(BOB, link(RITA, BOB)), actor: BOB }))
      .thenRefused('forbidden');
  });

  it('a malformed delegation is invalid_request', () => {
    given(history.awaiting()).when(cmd.approve({ delegation: { cast_by: '', on_behalf_of: [link(RITA, BOB)] } })).thenRefused('invalid_request');
    given(history.awaiting()).when(cmd.approve({ delegation: via(BOB) })).thenRefused('invalid_request');
  });
});

describe('RejectJob on behalf of a delegator', () => {
  it('tom rejects for rita: ApprovalRejected is rita\'s, cast by tom', () => {
    given(history.awaiting())
      .when(cmd.reject({ reviewer: RITA, delegation: via(TOM, link(RITA, TOM)), actor: TOM }))
      .thenEvents([
        { type: 'ApprovalRejected', data: { job_id: JOB_ID, approval_ref: APPROVAL_REF, rejected_by: RITA, reason: 'amount too high', cast_by: TOM, on_behalf_of: [link(RITA, TOM)] } },
      ])
      .thenStatus('REJECTED');
  });
});
