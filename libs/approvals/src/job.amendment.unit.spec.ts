import { describe, expect, it } from 'vitest';
import type { ApprovalRequirement, JobRequest } from '@signoff/contracts';
import { changedPaths, MAX_AMENDMENTS, MAX_CHANGED_PATHS, noStricterThan, releasedRequestOf, type AmendmentEvaluation, type ApproveAmendment } from './job.amendment';
import { isReleased } from './job.state';
import { toJobView } from './job.view';
import { APPROVAL_ID, APPROVAL_REF, HASH_1, HASH_2, JOB_ID, REQUEST, REQUIREMENT, RITA, RULE, SAM, SNAP_A, cmd, ev, given, history } from './testing/job.test-kit';

const HASH_3 = `sha256:${'3'.repeat(64)}`;
const LOWER: JobRequest = { ...REQUEST, payload: { amount: 900, currency: 'EUR' } };
const OTHER: JobRequest = { ...REQUEST, payload: { amount: 800, currency: 'EUR' } };
const ALLOW: AmendmentEvaluation = { decision: 'allow', rule_id: 'allow-small', reason: 'small payment' };
const SAME_RULE: AmendmentEvaluation = { decision: 'require_human', rule_id: RULE, reason: 'prod finance', requirement: REQUIREMENT };

const amend = (request: JobRequest = LOWER, job_hash = HASH_2, evaluation: AmendmentEvaluation = ALLOW): ApproveAmendment => ({ request, job_hash, evaluation });

const proposed = (request: JobRequest = LOWER, amendment_hash = HASH_2, proposed_by = RITA, changed = ['payload.amount'], decision: 'allow' | 'require_human' = 'allow', rule_id: string | null = 'allow-small') => ({
  type: 'JobAmendmentProposed' as const,
  data: {
    job_id: JOB_ID,
    approval_ref: APPROVAL_REF,
    amendment_hash,
    amends_job_hash: HASH_1,
    request,
    changed_paths: changed,
    proposed_by,
    evaluation: { decision, rule_id, policy_snapshot: SNAP_A },
  },
});
const vote = (reviewer: string, approvals: number, required: number, approved_job_hash = HASH_2) => ({
  type: 'ApprovalVoteRecorded' as const,
  data: { job_id: JOB_ID, approval_ref: APPROVAL_REF, reviewer, reason: 'invoice checked', approvals, required, approved_job_hash },
});
const grant = (approved_by: string[], job_hash = HASH_2) => ({
  type: 'ApprovalGranted' as const,
  data: { job_id: JOB_ID, approval_ref: APPROVAL_REF, approval_id: APPROVAL_ID, approved_by, policy_snapshot: SNAP_A, job_hash, reason: 'invoice checked' },
});

/** Stored events of an amendment proposed by `by` and its vote. */
const amendedVote = (by: string, approvals: number, required: number, request = LOWER, hash = HASH_2) => ev.amendedVote(by, approvals, required, request, hash);

describe('ApproveJob with an amended request (edit before approve)', () => {
  describe('given an open approval (1 of 1), when a reviewer approves a lower amount', () => {
    const then = given(history.awaiting()).when(cmd.approve({ amendment: amend() }));

    it('then the amendment is recorded with what changed and who, the vote and the grant bind its hash', () => {
      then
        .thenEvents([proposed(), vote(RITA, 1, 1), grant([RITA])])
        .thenOutcome({ job_id: JOB_ID, status: 'approved', approval_id: APPROVAL_ID, state: 'PENDING', approvals: 1, required: 1, approved_job_hash: HASH_2 })
        .thenStatus('PENDING');
    });

    it('then the job is released with the amended request and its hash (what the dispatch carries)', () => {
      const after = then.after;
      expect(isReleased(after)).toBe(true);
      if (!isReleased(after)) return;
      expect(releasedRequestOf(after)).toEqual({ request: LOWER, job_hash: HASH_2 });
      expect(after.job.request).toEqual(REQUEST);
      expect(after.job.job_hash).toBe(HASH_1);
    });

    it('then GET /jobs/:id shows the original hash, the amendment with its votes, and the grant bound to the amendment', () => {
      const view = toJobView(then.after);
      expect(view).toMatchObject({ job_hash: HASH_1, approval: { state: 'approved', job_hash: HASH_1, approvals: 0, voters: [], approved_job_hash: HASH_2, approved_by: [RITA] } });
      expect(view?.approval?.amendments).toEqual([
        { job_hash: HASH_2, changed_paths: ['payload.amount'], proposed_by: RITA, proposed_at: then.command.metadata.now, decision: 'allow', rule_id: 'allow-small', approvals: 1, voters: [RITA] },
      ]);
    });
  });

  it('a plain approve of a job without amendments is released with its submitted request', () => {
    const after = given(history.approved()).state;
    if (!isReleased(after)) throw new Error('expected a released job');
    expect(releasedRequestOf(after)).toEqual({ request: REQUEST, job_hash: HASH_1 });
    expect(toJobView(after)?.approval).not.toHaveProperty('amendments');
    expect(toJobView(after)?.approval).not.toHaveProperty('approved_job_hash');
  });

  it('an amended request identical to the original (same hash) is a plain vote: no amendment recorded', () => {
    given(history.awaiting())
      .when(cmd.approve({ amendment: amend(REQUEST, HASH_1) }))
      .thenEvents([vote(RITA, 1, 1, HASH_1), grant([RITA], HASH_1)])
      .thenOutcome({ job_id: JOB_ID, status: 'approved', approval_id: APPROVAL_ID, state: 'PENDING', approvals: 1, required: 1 });
  });

  it('an amendment under the same rule and requirement (require_human) is accepted', () => {
    given(history.awaiting())
      .when(cmd.approve({ amendment: amend(LOWER, HASH_2, SAME_RULE) }))
      .thenEvents([proposed(LOWER, HASH_2, RITA, ['payload.amount'], 'require_human', RULE), vote(RITA, 1, 1), grant([RITA])]);
  });

  describe('quorum counts distinct reviewers per approved hash', () => {
    it('given SAM approved the original (2 of M), when RITA approves an amendment, then no grant: votes on different hashes do not add up', () => {
      given(history.awaiting({ required: 2 }), ev.vote(SAM, 1, 2))
        .when(cmd.approve({ amendment: amend() }))
        .thenEvents([proposed(), vote(RITA, 1, 2)])
        .thenOutcome({ job_id: JOB_ID, status: 'approval_recorded', approvals: 1, required: 2, approved_job_hash: HASH_2 })
        .thenStatus('APPROVAL_REQUIRED');
    });

    it('given two different amendments of one vote each (2 of M), then no grant', () => {
      const first = given(history.awaiting({ required: 2 })).when(cmd.approve({ amendment: amend() }));
      const second = given(history.awaiting({ required: 2 }), first.events).when(cmd.approve({ reviewer: SAM, amendment: amend(OTHER, HASH_3) }));
      second
        .thenEvents([proposed(OTHER, HASH_3, SAM), vote(SAM, 1, 2, HASH_3)])
        .thenOutcome({ job_id: JOB_ID, status: 'approval_recorded', approvals: 1, required: 2, approved_job_hash: HASH_3 })
        .thenStatus('APPROVAL_REQUIRED');
      const view = toJobView(second.after);
      expect(view?.approval?.amendments?.map((a) => [a.job_hash, a.voters])).toEqual([
        [HASH_2, [RITA]],
        [HASH_3, [SAM]],
      ]);
    });

    it('given RITA proposed an amendment (2 of M), when SAM approves the same amended request, then it grants, bound to the amendment, with no second JobAmendmentProposed', () => {
      given(history.awaiting({ required: 2 }), amendedVote(RITA, 1, 2))
        .when(cmd.approve({ reviewer: SAM, amendment: amend() }))
        .thenEvents([vote(SAM, 2, 2), grant([RITA, SAM])])
        .thenOutcome({ job_id: JOB_ID, status: 'approved', approval_id: APPROVAL_ID, state: 'PENDING', approvals: 2, required: 2, approved_job_hash: HASH_2 });
    });

    it('given RITA proposed an amendment (2 of M), when SAM approves the original, then no grant', () => {
      given(history.awaiting({ required: 2 }), amendedVote(RITA, 1, 2))
        .when(cmd.approve({ reviewer: SAM }))
        .thenEvents([vote(SAM, 1, 2, HASH_1)])
        .thenOutcome({ job_id: JOB_ID, status: 'approval_recorded', approvals: 1, required: 2 });
    });

    it('a reviewer who approved the original and then an amendment has one vote for each; a repeat for the amendment adds nothing', () => {
      const g = given(history.awaiting({ required: 2 }), ev.vote(RITA, 1, 2));
      const t = g.when(cmd.approve({ amendment: amend() }));
      t.thenEvents([proposed(), vote(RITA, 1, 2)]);
      given(g.events, t.events)
        .when(cmd.approve({ amendment: amend(), commandId: 'cmd-2' }))
        .thenNoEvents()
        .thenOutcome({ job_id: JOB_ID, status: 'approval_recorded', approvals: 1, required: 2, approved_job_hash: HASH_2 });
      const view = toJobView(t.after);
      expect(view?.approval).toMatchObject({ approvals: 1, voters: [RITA], amendments: [{ job_hash: HASH_2, voters: [RITA] }] });
    });

    it('under a delegation one person counts once per hash: bob voting for rita on an amendment, then rita on it, is a repeat', () => {
      const delegation = { cast_by: 'bob', on_behalf_of: [{ delegation_id: 'd-rita-bob', delegator: RITA, delegate: 'bob' }] };
      const g = given(history.awaiting({ required: 2 }));
      const t = g.when(cmd.approve({ reviewer: RITA, delegation, actor: 'bob', amendment: amend() }));
      t.thenEventTypes('JobAmendmentProposed', 'ApprovalVoteRecorded');
      expect(t.events[1]!.data).toMatchObject({ reviewer: RITA, cast_by: 'bob', approved_job_hash: HASH_2 });
      given(g.events, t.events).when(cmd.approve({ reviewer: 'bob', amendment: amend(), commandId: 'cmd-2' })).thenNoEvents();
      given(g.events, t.events).when(cmd.approve({ amendment: amend(), commandId: 'cmd-3' })).thenNoEvents();
    });

    it('votes recorded before amendments existed (no approved_job_hash) count for the original', () => {
      given(history.awaiting({ required: 2 }), ev.vote(SAM, 1, 2))
        .when(cmd.approve())
        .thenEvents([vote(RITA, 2, 2, HASH_1), grant([SAM, RITA], HASH_1)]);
    });
  });

  describe('refusals', () => {
    it('a reserved label smuggled in by an amendment: reserved_label, no event', () => {
      const smuggled = { ...REQUEST, labels: { env: 'production', Approval_granted: 'true' } };
      given(history.awaiting()).when(cmd.approve({ amendment: amend(smuggled) })).thenRefused('reserved_label', { labels: ['Approval_granted'] });
      const fullWidth = { ...REQUEST, labels: { 'ｓｉｇｎｏｆｆ.approved': 'yes' } };
      given(history.awaiting()).when(cmd.approve({ amendment: amend(fullWidth) })).thenRefused('reserved_label');
    });

    it.each([
      ['topic', { topic: 'finance.payment.refund' }],
      ['priority', { priority: 'low' }],
      ['tenant', { tenant: 'other' }],
      ['submitted_by', { submitted_by: 'someone-else' }],
    ] as const)('a changed %s: amendment_field_fixed naming the field', (field, change) => {
      given(history.awaiting())
        .when(cmd.approve({ amendment: amend({ ...LOWER, ...change }) }))
        .thenRefused('amendment_field_fixed', { field: `amended_request.${field}` });
    });

    it('the active policy denies the amended request: amendment_denied with the rule and its reason', () => {
      const deny: AmendmentEvaluation = { decision: 'deny', rule_id: 'deny-sanctioned', reason: 'recipient is sanctioned' };
      given(history.awaiting())
        .when(cmd.approve({ amendment: amend(LOWER, HASH_2, deny) }))
        .thenRefused('amendment_denied', { rule_id: 'deny-sanctioned', reason: 'recipient is sanctioned', amendment_hash: HASH_2 });
    });

    it('the amended request needs more reviewers than the open approval: amendment_needs_new_approval', () => {
      const stricter: AmendmentEvaluation = { decision: 'require_human', rule_id: 'big', reason: 'big', requirement: { ...REQUIREMENT, required: 2 } };
      given(history.awaiting())
        .when(cmd.approve({ amendment: amend(LOWER, HASH_2, stricter) }))
        .thenRefused('amendment_needs_new_approval', { rule_id: 'big', required: 2, reviewers: ['finance-approver'], open_required: 1, open_reviewers: ['finance-approver'] });
    });

    it('the amended request admits other reviewer roles than the open approval: amendment_needs_new_approval', () => {
      const cfo: AmendmentEvaluation = { decision: 'require_human', rule_id: 'cfo', reason: 'cfo', requirement: { ...REQUIREMENT, reviewers: ['cfo'] } };
      given(history.awaiting()).when(cmd.approve({ amendment: amend(LOWER, HASH_2, cfo) })).thenRefused('amendment_needs_new_approval');
    });

    it('eligibility and integrity come first: a submitter is self_approval_forbidden, a stale review stale_review', () => {
      given(history.awaiting()).when(cmd.approve({ reviewer: 'agent-7', amendment: amend() })).thenRefused('self_approval_forbidden');
      // reviewed_job_hash is what the reviewer saw: the original, never the amendment.
      given(history.awaiting()).when(cmd.approve({ reviewed_job_hash: HASH_2, amendment: amend() })).thenRefused('stale_review');
      given(history.awaiting()).when(cmd.approve({ reviewed_job_hash: HASH_1, amendment: amend() })).thenEventTypes('JobAmendmentProposed', 'ApprovalVoteRecorded', 'ApprovalGranted');
      given(history.awaiting()).when(cmd.approve({ current_job_hash: HASH_3, amendment: amend() })).thenRefused('job_request_changed');
    });

    it(`at most ${MAX_AMENDMENTS} amendments are recorded: a new one beyond is too_many_amendments, a recorded one may still be voted for`, () => {
      const hashOf = (i: number) => `sha256:${i.toString(16).padStart(64, 'c')}`;
      const requestOf = (i: number): JobRequest => ({ ...REQUEST, payload: { amount: 100 + i, currency: 'EUR' } });
      const recorded = Array.from({ length: MAX_AMENDMENTS }, (_, i) => ev.amendedVote(`reviewer-${i}`, 1, 3, requestOf(i), hashOf(i)));
      given(history.awaiting({ required: 3 }), ...recorded)
        .when(cmd.approve({ amendment: amend(requestOf(99), hashOf(99)) }))
        .thenRefused('too_many_amendments', { max: MAX_AMENDMENTS });
      given(history.awaiting({ required: 3 }), ...recorded)
        .when(cmd.approve({ amendment: amend(requestOf(0), hashOf(0)) }))
        .thenEvents([vote(RITA, 2, 3, hashOf(0))]);
    });

    it('a malformed amendment is invalid_request before anything is decided', () => {
      for (const amendment of [null, { request: LOWER, evaluation: ALLOW }, { request: null, job_hash: HASH_2, evaluation: ALLOW }, { request: LOWER, job_hash: HASH_2, evaluation: { decision: 'throttle' } }, { request: LOWER, job_hash: HASH_2, evaluation: { decision: 'require_human', rule_id: 'r', reason: 'r' } }]) {
        given(history.awaiting())
          .when(cmd.approve({ amendment: amendment as unknown as ApproveAmendment }))
          .thenRefused('invalid_request');
      }
    });

    it('on a granted approval an amended approve is answered already_approved (no event)', () => {
      given(history.approved())
        .when(cmd.approve({ amendment: amend() }))
        .thenNoEvents()
        .thenOutcome({ job_id: JOB_ID, status: 'already_approved', approval_id: APPROVAL_ID, state: 'PENDING' });
    });
  });
});

describe('noStricterThan', () => {
  const open: ApprovalRequirement = { ...REQUIREMENT, required: 2, reviewers: ['finance-approver'] };
  it.each([
    ['same requirement', { required: 2, reviewers: ['finance-approver'] }, true],
    ['fewer reviewers', { required: 1, reviewers: ['finance-approver'] }, true],
    ['any reviewer', { required: 2, reviewers: [] }, true],
    ['more roles admitted', { required: 2, reviewers: ['finance-approver', 'cfo'] }, true],
    ['more reviewers', { required: 3, reviewers: ['finance-approver'] }, false],
    ['other roles', { required: 2, reviewers: ['cfo'] }, false],
  ] as const)('%s -> %s', (_name, amended, expected) => {
    expect(noStricterThan({ ...REQUIREMENT, ...amended }, open)).toBe(expected);
  });
  it('an open approval for any reviewer is stricter-checked: an amended rule naming roles needs a new approval', () => {
    expect(noStricterThan({ ...REQUIREMENT, reviewers: ['cfo'] }, { ...REQUIREMENT, reviewers: [] })).toBe(false);
  });
});

describe('changedPaths', () => {
  it('names nested members, added and removed keys, array items and labels, in key order', () => {
    const original: JobRequest = { ...REQUEST, labels: { env: 'production', team: 'ap' }, payload: { amount: 1200, to: { iban: 'DE1' }, lines: [1, 2], note: null } };
    const amended: JobRequest = { ...REQUEST, labels: { env: 'staging' }, payload: { amount: 900, to: { iban: 'DE2', bic: 'X' }, lines: [1], memo: 'm' } };
    expect(changedPaths(original, amended)).toEqual([
      'payload.amount',
      'payload.lines[1]',
      'payload.memo',
      'payload.note',
      'payload.to.bic',
      'payload.to.iban',
      'labels.env',
      'labels.team',
    ]);
  });

  it('a subtree that changes type is one path; nothing changed is no path', () => {
    expect(changedPaths({ ...REQUEST, payload: { a: [1] } }, { ...REQUEST, payload: { a: { 0: 1 } } })).toEqual(['payload.a']);
    expect(changedPaths({ ...REQUEST, payload: null }, { ...REQUEST, payload: { a: 1 } })).toEqual(['payload']);
    expect(changedPaths(REQUEST, structuredClone(REQUEST))).toEqual([]);
  });

  it(`is bounded: at most ${MAX_CHANGED_PATHS} paths, then how many more`, () => {
    const wide = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${String(i).padStart(3, '0')}`, i]));
    const paths = changedPaths({ ...REQUEST, payload: {} }, { ...REQUEST, payload: wide });
    expect(paths).toHaveLength(MAX_CHANGED_PATHS + 1);
    expect(paths[0]).toBe('payload.k000');
    expect(paths.at(-1)).toBe(`...and ${200 - MAX_CHANGED_PATHS} more`);
  });
});

