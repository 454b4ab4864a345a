import { describe, expect, it } from 'vitest';
import type { JobEvent } from '@signoff/contracts';
import { toJobView } from './job.view';
import {
  HISTORY_BY_STATUS,
  JOB_ID,
  KEY,
  OPERATOR,
  REQUEST,
  RESOLVE_REASON,
  UNKNOWN_REASON,
  at,
  cmd,
  ev,
  given,
  history,
  NEVER_DISPATCHABLE,
} from './testing/job.test-kit';

/** JobStarted of the test kit is at +63 s; WORKER_RUN_TIMEOUT_MS of these tests is 5 minutes. */
const RUN_TIMEOUT_MS = 300_000;
const STARTED_AT_MS = 63_000;


describe('RecordJobOutcomeUnknown (a worker found the lease lost after the effect began, no outcome recorded)', () => {
  it('a running job: JobOutcomeUnknown with who found it and why, state UNKNOWN', () => {
    const then = given(history.running())
      .when(cmd.unknown())
      .thenEvents([
        {
          type: 'JobOutcomeUnknown',
          data: { job_id: JOB_ID, idempotency_key: KEY, worker: 'worker-2', reason: UNKNOWN_REASON, fencing_token: 1 },
        },
      ])
      .thenOutcome({ job_id: JOB_ID, status: 'unknown', state: 'UNKNOWN' })
      .thenStatus('UNKNOWN');
    expect(toJobView(then.after)).toMatchObject({
      state: 'UNKNOWN',
      result: { status: 'unknown', worker: 'worker-1', unknown_reason: UNKNOWN_REASON, reported_by: 'worker-2', unknown_since: then.command.metadata.now },
    });
  });

  it.each([
    ['DISPATCHED (the started report was lost)', history.dispatched],
    ['PENDING after a replay opened attempt 2', () => [...history.running(), ev.replayed(2, 'not_completed')]],
    ['DISPATCH_ABANDONED', history.abandoned],
  ])('from %s: accepted', (_name, make) => {
    given(make()).when(cmd.unknown()).thenEventTypes('JobOutcomeUnknown').thenStatus('UNKNOWN');
  });

  it('again: already_unknown, no events', () => {
    given(history.unknown()).when(cmd.unknown()).thenNoEvents().thenOutcome({ job_id: JOB_ID, status: 'already_unknown' });
  });

  it.each([
    ['SUCCEEDED', 'succeeded'],
    ['FAILED', 'failed'],
  ] as const)('after a recorded outcome (%s): already_completed, the outcome stands', (status, result) => {
    given(HISTORY_BY_STATUS[status]())
      .when(cmd.unknown())
      .thenNoEvents()
      .thenOutcome({ job_id: JOB_ID, status: 'already_completed', result_status: result })
      .thenStatus(status);
  });

  it.each([
    ['no worker', history.running(), { worker: '' }],
    ['no reason', history.running(), { reason: ' ' }],
    ['a fencing token of 0', history.running(), { fencing_token: 0 }],
    ['no attempt', history.running(), { attempt: 0 }],
  ] as const)('%s: invalid_request', (_name, stream, over) => {
    given(stream as JobEvent[]).when(cmd.unknown(over)).thenRefused('invalid_request');
  });

  // Checked like every other report (checkReport): an `unknown` about a dispatch that never
  // happened, or from a worker whose credential does not cover the job's tenant, changes nothing.
  it.each([
    ['never claimed', history.approved(), {}, 'PENDING'],
    ['another key', history.running(), { idempotency_key: 'forged' }, 'RUNNING'],
    ['an attempt never claimed', history.running(), { attempt: 2 }, 'RUNNING'],
    ['an attempt opened by a replay, not claimed yet', [...history.running(), ev.replayed(2, 'not_completed')], { attempt: 2 }, 'PENDING'],
  ] as const)('%s: not_dispatched, nothing recorded', (_name, stream, over, status) => {
    given(stream as JobEvent[]).when(cmd.unknown(over)).thenRefused('not_dispatched').thenStatus(status);
  });

  it('a worker whose credential covers other tenants only: forbidden; one covering the job tenant: accepted', () => {
    given(history.running()).when(cmd.unknown({ reporter_tenants: ['other'] })).thenRefused('forbidden').thenStatus('RUNNING');
    given(history.running()).when(cmd.unknown({ reporter_tenants: [] })).thenRefused('forbidden');
    given(history.running()).when(cmd.unknown({ reporter_tenants: ['other', REQUEST.tenant] })).thenEventTypes('JobOutcomeUnknown');
  });

  it('an attempt claimed after a replay: accepted, and so is a report naming the earlier attempt', () => {
    const replayed = () => [...history.running(), ev.replayed(2, 'not_completed'), ev.claimed(2)];
    given(replayed()).when(cmd.unknown({ attempt: 2 })).thenEventTypes('JobOutcomeUnknown');
    given(replayed()).when(cmd.unknown({ attempt: 1 })).thenEventTypes('JobOutcomeUnknown');
  });

  it.each(NEVER_DISPATCHABLE)('never from %s: %s', (status, code) => {
    given(HISTORY_BY_STATUS[status]()).when(cmd.unknown()).thenRefused(code);
  });
});

describe('an UNKNOWN job is never run again', () => {
  it('no claim, no replay; a repeated started report changes nothing', () => {
    given(history.unknown()).when(cmd.claim()).thenNoEvents().thenOutcome({
      job_id: JOB_ID,
      status: 'claim_lost',
      attempt: 1,
      claimed_by: 'dispatcher-a',
      state: 'UNKNOWN',
    });
    given(history.unknown())
      .when(cmd.replay({ reason: 'not_completed', run_timeout_ms: RUN_TIMEOUT_MS, now: at(STARTED_AT_MS + RUN_TIMEOUT_MS * 10) }))
      .thenNoEvents()
      .thenOutcome({ job_id: JOB_ID, status: 'not_needed', state: 'UNKNOWN' });
    given(history.unknown()).when(cmd.started()).thenNoEvents().thenStatus('UNKNOWN');
  });

  it('a genuine outcome that arrives late ends the ambiguity: JobCompleted, state SUCCEEDED', () => {
    given(history.unknown()).when(cmd.completed()).thenEventTypes('JobCompleted').thenStatus('SUCCEEDED');
  });
});

describe('ResolveJobOutcome (an operator decides an UNKNOWN job)', () => {
  it.each([
    ['succeeded', 'SUCCEEDED'],
    ['failed', 'FAILED'],
  ] as const)('%s: JobOutcomeResolved with who and why; the view keeps what made it ambiguous', (outcome, state) => {
    const then = given(history.unknown())
      .when(cmd.resolve({ outcome, now: at(70_000) }))
      .thenEvents([{ type: 'JobOutcomeResolved', data: { job_id: JOB_ID, outcome, reason: RESOLVE_REASON, resolved_by: OPERATOR } }])
      .thenOutcome({ job_id: JOB_ID, status: 'resolved', outcome, resolved_by: OPERATOR, state })
      .thenStatus(state);
    expect(then.events[0].metadata.actor).toBe(OPERATOR);
    expect(toJobView(then.after)).toMatchObject({
      state,
      result: {
        status: outcome,
        completed_at: at(70_000),
        resolution: { resolved_by: OPERATOR, reason: RESOLVE_REASON, resolved_at: at(70_000), unknown_reason: UNKNOWN_REASON, unknown_since: at(65_000) },
      },
    });
  });

  it('the same resolution again: already_resolved, no events', () => {
    given(history.resolved('failed'))
      .when(cmd.resolve({ outcome: 'failed', resolved_by: 'someone-else' }))
      .thenNoEvents()
      .thenOutcome({ job_id: JOB_ID, status: 'already_resolved', outcome: 'failed', resolved_by: OPERATOR });
  });

  it('another resolution after the first: not_ambiguous, the first stands', () => {
    given(history.resolved('succeeded'))
      .when(cmd.resolve({ outcome: 'failed' }))
      .thenRefused('not_ambiguous', { state: 'SUCCEEDED', resolved_outcome: 'succeeded', resolved_by: OPERATOR })
      .thenStatus('SUCCEEDED');
  });

  it('a worker report contradicting the resolution is refused; the resolution stands', () => {
    given(history.resolved('failed')).when(cmd.completed({ status: 'succeeded' })).thenRefused('invalid_request').thenStatus('FAILED');
  });

  it.each([
    ['PENDING', 'PENDING'],
    ['DISPATCHED', 'DISPATCHED'],
    ['RUNNING', 'RUNNING'],
    ['SUCCEEDED', 'SUCCEEDED'],
    ['FAILED', 'FAILED'],
    ['DISPATCH_ABANDONED', 'FAILED'],
    ['APPROVAL_REQUIRED', 'APPROVAL_REQUIRED'],
    ['DENIED', 'DENIED'],
    ['REJECTED', 'REJECTED'],
  ] as const)('a job whose outcome is not unknown (%s): not_ambiguous, nothing recorded', (status, shown) => {
    given(HISTORY_BY_STATUS[status]()).when(cmd.resolve()).thenRefused('not_ambiguous', { state: shown });
  });

  it('no job: not_found', () => {
    given().when(cmd.resolve()).thenRefused('not_found');
  });

  it.each([
    ['no reason', { reason: '' }],
    ['an outcome that is not succeeded or failed', { outcome: 'maybe' as 'succeeded' }],
    ['no operator', { resolved_by: '' }],
  ])('%s: invalid_request', (_name, over) => {
    given(history.unknown()).when(cmd.resolve(over)).thenRefused('invalid_request');
  });
});

describe('ReplayDispatch not_completed (RUNNING past WORKER_RUN_TIMEOUT_MS)', () => {
  const replayRunning = (over: Parameters<typeof cmd.replay>[0] = {}) =>
    cmd.replay({ reason: 'not_completed', run_timeout_ms: RUN_TIMEOUT_MS, now: at(STARTED_AT_MS + RUN_TIMEOUT_MS), ...over });

  it('a started job with no outcome past the run timeout is replayed: attempt 2, same key, state PENDING', () => {
    given(history.running())
      .when(replayRunning())
      .thenEvents([{ type: 'DispatchReplayed', data: { job_id: JOB_ID, attempt: 2, reason: 'not_completed' } }])
      .thenOutcome({ job_id: JOB_ID, status: 'replayed', attempt: 2 })
      .thenStatus('PENDING');
    given(history.running(), ev.replayed(2, 'not_completed'))
      .when(cmd.claim({ attempt: 2 }))
      .thenEvents([{ type: 'DispatchClaimed', data: { job_id: JOB_ID, attempt: 2, idempotency_key: KEY, claimed_by: 'dispatcher-a' } }]);
  });

  it('a forged (or lost-outcome) started does not take the job out of replay: the next attempt reaches a worker', () => {
    // JobStarted straight after the claim, nothing published: the replay still comes once the timeout passed.
    given(history.claimed(), ev.started()).when(replayRunning()).thenEventTypes('DispatchReplayed');
  });

  it('before the run timeout (counted from the start in the stream, not the caller’s index): not_needed', () => {
    given(history.running())
      .when(replayRunning({ now: at(STARTED_AT_MS + RUN_TIMEOUT_MS - 1) }))
      .thenNoEvents()
      .thenOutcome({ job_id: JOB_ID, status: 'not_needed', state: 'RUNNING' });
  });

  it('a running job with another reason: not_needed (it got further than that)', () => {
    given(history.running()).when(cmd.replay({ reason: 'not_acknowledged' })).thenNoEvents().thenOutcome({
      job_id: JOB_ID,
      status: 'not_needed',
      state: 'RUNNING',
    });
  });

  it('not_completed for a job no worker started: invalid_request (a wrong reason, not a race)', () => {
    given(history.dispatched()).when(replayRunning()).thenRefused('invalid_request');
  });

  it('not_completed without run_timeout_ms: invalid_request', () => {
    given(history.running()).when(cmd.replay({ reason: 'not_completed' })).thenRefused('invalid_request');
  });

  it('attempts exhausted for a job a worker started: JobOutcomeUnknown (UNKNOWN), never a silent FAILED', () => {
    const then = given(history.running())
      .when(replayRunning({ max_attempts: 1 }))
      .thenEventTypes('JobOutcomeUnknown')
      .thenOutcome({ job_id: JOB_ID, status: 'outcome_unknown', attempts: 1, max_attempts: 1 })
      .thenStatus('UNKNOWN');
    expect(then.events[0].data).toMatchObject({ job_id: JOB_ID, idempotency_key: KEY, worker: 'worker-1' });
    expect(toJobView(then.after)?.state).toBe('UNKNOWN');
    // Also when the start was in an earlier attempt and the last one was never acknowledged.
    given(history.running(), ev.replayed(2, 'not_completed'), ev.claimed(2), ev.dispatched(2))
      .when(cmd.replay({ attempt: 3, max_attempts: 2 }))
      .thenEventTypes('JobOutcomeUnknown')
      .thenStatus('UNKNOWN');
  });

  it('attempts exhausted for a job no worker ever started: DispatchAbandoned as before', () => {
    given(history.dispatched()).when(cmd.replay({ max_attempts: 1 })).thenEventTypes('DispatchAbandoned').thenStatus('DISPATCH_ABANDONED');
  });
});
