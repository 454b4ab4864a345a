import { describe, expect, it } from 'vitest';
import type { ApprovalGrantedData, JobEvent } from '@signoff/contracts';
import { NO_ACTIVE_POLICY } from './job.decider';
import { foldJob, grantAwaitingLogCheck } from './job.state';
import { apiStateOf, toJobView } from './job.view';
import { APPROVAL_ID, APPROVAL_REF, JOB_ID, KEY, RITA, SNAP_A, SNAP_B, cmd, ev, given, history } from './testing/job.test-kit';

/*
 * DESIGN section 12: the log decides races between streams. The dispatcher reads from the global
 * log which policy was active at the grant's position (`grant_fact`) and passes it with the
 * dispatch commands; the decider voids a grant the log does not confirm.
 */

const SNAP_C = `sha256:${'c'.repeat(64)}`;

/** The policy active at the grant's place in the global log, as the dispatcher read it. */
const at = (snapshot: string | null, approval_id = APPROVAL_ID) => ({ grant_fact: { approval_id, active_policy_snapshot: snapshot } });

/** A grant whose completing vote was checked against `equivalent` in SNAPSHOT_MODE=decision. */
function grantedEquivalent(equivalent: string): JobEvent {
  const granted = ev.granted([RITA]);
  return { ...granted, data: { ...(granted.data as ApprovalGrantedData), equivalent_snapshot: equivalent } } as JobEvent;
}
const approvedUnder = (equivalent: string) => [...history.awaiting(), ev.vote(RITA, 1, 1), grantedEquivalent(equivalent)];

const voided = (current: string) => [
  {
    type: 'ApprovalInvalidated' as const,
    data: { job_id: JOB_ID, approval_ref: APPROVAL_REF, code: 'snapshot_changed', expected: SNAP_A, current },
  },
];

describe('the log decides a grant before its first claim (strict, the default)', () => {
  it('the policy active at the grant’s position is the approval’s snapshot: the grant stands and the claim is made', () => {
    given(history.approved())
      .when(cmd.claim(at(SNAP_A)))
      .thenEventTypes('DispatchClaimed')
      .thenOutcome({ job_id: JOB_ID, status: 'claimed', attempt: 1, idempotency_key: KEY, claimed_by: 'dispatcher-a' });
  });

  it('another policy was active at the grant’s position: ApprovalInvalidated (snapshot_changed), INVALIDATED, nothing claimed', () => {
    given(history.approved())
      .when(cmd.claim(at(SNAP_B)))
      .thenEvents(voided(SNAP_B))
      .thenOutcome({ job_id: JOB_ID, status: 'invalidated', state: 'INVALIDATED', expected: SNAP_A, current: SNAP_B })
      .thenStatus('INVALIDATED');
  });

  it('no activation precedes the grant in the log: void, current "none"', () => {
    given(history.approved())
      .when(cmd.claim(at(null)))
      .thenEvents(voided(NO_ACTIVE_POLICY))
      .thenStatus('INVALIDATED');
  });

  it('a void grant is final: no claim, no replay, no record, no approve afterwards', () => {
    const stream = [...history.approved(), ...given(history.approved()).when(cmd.claim(at(SNAP_B))).events];
    given(stream).when(cmd.claim(at(SNAP_A))).thenRefused('invalidated');
    given(stream).when(cmd.replay({ reason: 'not_published', ...at(SNAP_A) })).thenRefused('invalidated');
    given(stream).when(cmd.record()).thenRefused('invalidated');
    given(stream).when(cmd.approve({ reviewer: 'sam', approval_id: 'approval-2' })).thenRefused('invalidated');
  });

  it('a void grant is shown as INVALIDATED with why, and keeps who granted it', () => {
    const state = foldJob([...history.approved(), ...given(history.approved()).when(cmd.claim(at(SNAP_B))).events]);
    expect(apiStateOf(state)).toBe('INVALIDATED');
    expect(state).toMatchObject({ status: 'INVALIDATED', approval: { grant: { approval_id: APPROVAL_ID } } });
    expect(toJobView(state)).toMatchObject({
      state: 'INVALIDATED',
      approval: {
        state: 'invalidated',
        approval_id: APPROVAL_ID,
        approved_by: [RITA],
        invalidated: { code: 'snapshot_changed', expected: SNAP_A, current: SNAP_B },
      },
    });
  });

  it('an ApprovalInvalidated only closes an approval: an allowed job and a claimed grant are left as they are', () => {
    const invalidated = given(history.approved()).when(cmd.claim(at(SNAP_B))).events;
    expect(foldJob([...history.allowed(), ...invalidated]).status).toBe('PENDING');
    expect(foldJob([...history.claimed(), ...invalidated]).status).toBe('PENDING');
    expect(foldJob([...history.dispatched(), ...invalidated]).status).toBe('DISPATCHED');
  });

  it('without the log’s fact, or with a fact about another grant, an approved job is not claimed (invalid_request)', () => {
    given(history.approved()).when(cmd.claim({ grant_fact: undefined })).thenRefused('invalid_request');
    given(history.approved()).when(cmd.claim(at(SNAP_A, 'approval-of-someone-else'))).thenRefused('invalid_request');
    given(history.approved())
      .when(cmd.claim({ ...at(SNAP_A), snapshot_mode: 'lenient' as 'strict' }))
      .thenRefused('invalid_request');
    given(history.approved()).when(cmd.claim(at(''))).thenRefused('invalid_request');
  });

  it('an allowed job has no grant: it is claimed without a fact', () => {
    given(history.allowed()).when(cmd.claim({ grant_fact: undefined })).thenEventTypes('DispatchClaimed');
    given(history.allowed()).when(cmd.claim(at(SNAP_B))).thenEventTypes('DispatchClaimed');
  });

  it('only the first claim is judged: later attempts of a confirmed grant need no fact and ignore one', () => {
    given(history.claimed())
      .when(cmd.replay({ attempt: 2, reason: 'not_recorded', grant_fact: undefined }))
      .thenEventTypes('DispatchReplayed');
    given([...history.claimed(), ev.replayed(2, 'not_recorded')])
      .when(cmd.claim({ attempt: 2, ...at(SNAP_B) }))
      .thenEventTypes('DispatchClaimed');
    expect(grantAwaitingLogCheck(foldJob(history.claimed()))).toBeNull();
    expect(grantAwaitingLogCheck(foldJob(history.allowed()))).toBeNull();
    expect(grantAwaitingLogCheck(foldJob(history.approved()))).toMatchObject({ grant: { approval_id: APPROVAL_ID } });
  });

  it('the replay of a grant never claimed (not_published) is judged too: invalidated instead of replayed or abandoned', () => {
    given(history.approved())
      .when(cmd.replay({ reason: 'not_published', ...at(SNAP_B) }))
      .thenEvents(voided(SNAP_B))
      .thenOutcome({ job_id: JOB_ID, status: 'invalidated', state: 'INVALIDATED', expected: SNAP_A, current: SNAP_B });
    given(history.approved())
      .when(cmd.replay({ reason: 'not_published', max_attempts: 1, ...at(SNAP_B) }))
      .thenEvents(voided(SNAP_B));
    given(history.approved()).when(cmd.replay({ reason: 'not_published', grant_fact: undefined })).thenRefused('invalid_request');
    given(history.approved()).when(cmd.replay({ reason: 'not_published', ...at(SNAP_A) })).thenEventTypes('DispatchReplayed');
  });

  it('a replayed attempt that was never claimed is still judged at its claim', () => {
    const stream = [...history.approved(), ev.replayed(2, 'not_published')];
    given(stream).when(cmd.claim({ attempt: 2, ...at(SNAP_B) })).thenEvents(voided(SNAP_B));
    given(stream).when(cmd.claim({ attempt: 2, ...at(SNAP_A) })).thenEventTypes('DispatchClaimed');
  });

  it('a stale claim of a superseded attempt is claim_lost whatever the fact (nothing to judge)', () => {
    given([...history.approved(), ev.replayed(2, 'not_published')])
      .when(cmd.claim({ attempt: 1, ...at(SNAP_B) }))
      .thenNoEvents()
      .thenOutcome({ job_id: JOB_ID, status: 'claim_lost', attempt: 2, claimed_by: null, state: 'PENDING' });
  });
});

describe('the log decides a grant in SNAPSHOT_MODE=decision', () => {
  const decision = (snapshot: string | null) => ({ ...at(snapshot), snapshot_mode: 'decision' as const });

  it('valid when the policy at the grant’s position is the requested snapshot or the equivalent one its vote was checked against', () => {
    given(approvedUnder(SNAP_B)).when(cmd.claim(decision(SNAP_B))).thenEventTypes('DispatchClaimed');
    given(approvedUnder(SNAP_B)).when(cmd.claim(decision(SNAP_A))).thenEventTypes('DispatchClaimed');
  });

  it('void under any other snapshot (never evaluated for this job), as in strict mode', () => {
    given(approvedUnder(SNAP_B)).when(cmd.claim(decision(SNAP_C))).thenEvents(voided(SNAP_C)).thenStatus('INVALIDATED');
    given(history.approved()).when(cmd.claim(decision(SNAP_B))).thenEvents(voided(SNAP_B));
    given(approvedUnder(SNAP_B)).when(cmd.claim(decision(null))).thenEvents(voided(NO_ACTIVE_POLICY));
  });

  it('strict mode does not honour an equivalent snapshot recorded in decision mode', () => {
    given(approvedUnder(SNAP_B)).when(cmd.claim(at(SNAP_B))).thenEvents(voided(SNAP_B));
    given(approvedUnder(SNAP_B)).when(cmd.claim({ ...at(SNAP_B), snapshot_mode: 'strict' })).thenEvents(voided(SNAP_B));
  });
});
