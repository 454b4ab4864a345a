import { describe, expect, it } from 'vitest';
import type { JobEvent } from '@signoff/contracts';
import { evolve, foldJob, initialState, isReleased } from './job.state';
import { HISTORY_BY_STATUS, KEY, RITA, SAM, ev, history } from './testing/job.test-kit';

describe('evolve / foldJob', () => {
  it('starts from initial; folding nothing stays there', () => {
    expect(initialState()).toEqual({ status: 'initial' });
    expect(foldJob([])).toEqual({ status: 'initial' });
  });

  it.each(Object.entries(HISTORY_BY_STATUS))('the %s history folds to that status', (status, make) => {
    expect(foldJob(make()).status).toBe(status);
  });

  it('foldJob continues from a given state', () => {
    const stream = history.succeeded();
    const half = foldJob(stream.slice(0, 5));
    expect(foldJob(stream.slice(5), half)).toEqual(foldJob(stream));
  });

  it('never mutates the state it is given', () => {
    let state = Object.freeze(initialState());
    for (const event of history.succeeded()) {
      const next = evolve(state, Object.freeze(event));
      expect(next).not.toBe(state);
      state = Object.freeze(next);
    }
  });

  it.each([
    ['a grant with no job', [], ev.granted([RITA])],
    ['a claim before approval', history.awaiting(), ev.claimed()],
    ['a start of a denied job', history.denied(), ev.started()],
    ['a second JobSubmitted of an existing job', history.awaiting(), ev.submitted({ job_hash: 'sha256:other' })],
    ['a vote after the grant', history.approved(), ev.vote(SAM, 2, 1)],
    ['a second publish record', history.dispatched(), ev.dispatched(1, 9, '99')],
    ['a start after completion', history.succeeded(), ev.started('w-2')],
    ['a second result', history.succeeded(), ev.completed('failed')],
    ['a replay of a completed job', history.succeeded(), ev.replayed(2, 'not_completed')],
    ['a replay of a job whose outcome is unknown', history.unknown(), ev.replayed(2, 'not_completed')],
    ['a resolution of a job whose outcome is known', history.succeeded(), ev.resolved('failed')],
    ['a second resolution', history.resolved('succeeded'), ev.resolved('failed')],
    ['an unknown outcome after completion', history.succeeded(), ev.unknown()],
    ['an abandonment of a completed job', history.succeeded(), ev.abandoned(1)],
    ['ApprovalRequested for an allowed job', history.allowed(), ev.requested()],
    ['an expiry after rejection', history.rejected(), ev.expired()],
  ] as const)('an event that does not fit is ignored: %s', (_name, stream, misfit) => {
    const before = foldJob(stream as readonly JobEvent[]);
    expect(evolve(before, misfit)).toEqual(before);
  });

  it('a duplicate vote event counts once', () => {
    const state = foldJob([...history.awaiting({ required: 3 }), ev.vote(SAM, 1, 3), ev.vote(SAM, 1, 3)]);
    expect(state.status === 'APPROVAL_REQUIRED' && state.approval.votes.map((v) => v.reviewer)).toEqual([SAM]);
  });

  it('an event type it does not know is skipped', () => {
    const before = foldJob(history.approved());
    const future = { type: 'JobArchived', data: {}, metadata: ev.started().metadata } as unknown as JobEvent;
    expect(evolve(before, future)).toBe(before);
  });

  it('a replay clears the claim and publish of the attempt but keeps the key and counts replays', () => {
    const state = foldJob([...history.dispatched(), ev.replayed(2)]);
    expect(state.status).toBe('PENDING');
    expect(isReleased(state) && state.dispatch).toMatchObject({
      attempt: 2,
      idempotency_key: KEY,
      claim: null,
      published: null,
      replays: [{ attempt: 2, reason: 'not_acknowledged' }],
    });
  });

  it('a late publish record after the worker reported keeps the later state', () => {
    const state = foldJob([...history.claimed(), ev.started(), ev.dispatched()]);
    expect(state.status).toBe('RUNNING');
    expect(isReleased(state) && state.dispatch.published).toMatchObject({ partition: 3, offset: '17' });
  });

  it('a worker report after abandonment keeps the abandonment for the record', () => {
    const state = foldJob([...history.abandoned(), ev.completed('succeeded')]);
    expect(state.status).toBe('SUCCEEDED');
    expect(isReleased(state) && state.abandonment).toMatchObject({ attempts: 2, max_attempts: 2 });
  });
});
