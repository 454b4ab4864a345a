import { describe, expect, it } from 'vitest';
import type { JobEvent } from '@signoff/contracts';
import { foldJob } from './job.state';
import { toJobView } from './job.view';
import { APPROVAL_ID, HISTORY_BY_STATUS, JOB_ID, KEY, cmd, ev, given, history } from './testing/job.test-kit';

/** States in which a job may never be dispatched, with the code a dispatch command gets. */
const NEVER_DISPATCHABLE = [
  ['initial', 'not_found'],
  ['APPROVAL_REQUIRED', 'forbidden'],
  ['DENIED', 'policy_denied'],
  ['REJECTED', 'already_rejected'],
  ['EXPIRED', 'expired'],
  ['INVALIDATED', 'invalidated'],
] as const;

describe('ClaimDispatch', () => {
  it.each([
    ['an allowed job', history.allowed],
    ['an approved job', history.approved],
  ])('claims attempt 1 of %s', (_name, make) => {
    given(make())
      .when(cmd.claim())
      .thenEvents([
        { type: 'DispatchClaimed', data: { job_id: JOB_ID, attempt: 1, idempotency_key: KEY, claimed_by: 'dispatcher-a' } },
      ])
      .thenOutcome({ job_id: JOB_ID, status: 'claimed', attempt: 1, idempotency_key: KEY, claimed_by: 'dispatcher-a' })
      .thenStatus('PENDING');
  });

  it('the same claimant again before recording the publish: claimed, no events (publish again)', () => {
    given(history.claimed())
      .when(cmd.claim())
      .thenNoEvents()
      .thenOutcome({ job_id: JOB_ID, status: 'claimed', attempt: 1, idempotency_key: KEY, claimed_by: 'dispatcher-a' });
  });

  it('another dispatcher: claim_lost, no events, told who holds it', () => {
    given(history.claimed())
      .when(cmd.claim({ claimed_by: 'dispatcher-b' }))
      .thenNoEvents()
      .thenOutcome({ job_id: JOB_ID, status: 'claim_lost', attempt: 1, claimed_by: 'dispatcher-a', state: 'PENDING' });
  });

  it('the same claimant with another key: claim_lost (never publish under a second key)', () => {
    given(history.claimed()).when(cmd.claim({ idempotency_key: 'other' })).thenNoEvents().thenOutcome({
      job_id: JOB_ID,
      status: 'claim_lost',
      attempt: 1,
      claimed_by: 'dispatcher-a',
      state: 'PENDING',
    });
  });

  it.each([
    ['DISPATCHED', 'DISPATCHED'],
    ['RUNNING', 'RUNNING'],
    ['SUCCEEDED', 'SUCCEEDED'],
    ['FAILED', 'FAILED'],
    ['DISPATCH_ABANDONED', 'FAILED'],
  ] as const)('past dispatch (%s): claim_lost', (status, apiState) => {
    const then = given(HISTORY_BY_STATUS[status]()).when(cmd.claim({ attempt: status === 'DISPATCH_ABANDONED' ? 2 : 1 }));
    then.thenNoEvents();
    expect(then.outcome).toMatchObject({ status: 'claim_lost', state: apiState });
  });

  it('an attempt that is not open: invalid_request', () => {
    given(history.approved()).when(cmd.claim({ attempt: 2 })).thenRefused('invalid_request');
  });

  it('after a replay: attempt 2 is claimed with the same key; attempt 1 is lost; another key refused', () => {
    const stream = [...history.dispatched(), ev.replayed(2)];
    given(stream)
      .when(cmd.claim({ attempt: 2, claimed_by: 'dispatcher-b' }))
      .thenEvents([
        { type: 'DispatchClaimed', data: { job_id: JOB_ID, attempt: 2, idempotency_key: KEY, claimed_by: 'dispatcher-b' } },
      ]);
    given(stream)
      .when(cmd.claim({ attempt: 1 }))
      .thenNoEvents()
      .thenOutcome({ job_id: JOB_ID, status: 'claim_lost', attempt: 2, claimed_by: null, state: 'PENDING' });
    given(stream).when(cmd.claim({ attempt: 2, idempotency_key: 'idem-other' })).thenRefused('invalid_request');
  });

  it.each(NEVER_DISPATCHABLE)('never from %s: %s', (status, code) => {
    given(HISTORY_BY_STATUS[status]()).when(cmd.claim()).thenRefused(code);
  });

  it('a denied job is refused with its rule id', () => {
    given(history.denied()).when(cmd.claim()).thenRefused('policy_denied', { rule_id: 'deny-rule' });
  });

  it.each([
    ['attempt 0', { attempt: 0 }],
    ['no key', { idempotency_key: '' }],
    ['no claimant', { claimed_by: '' }],
  ])('%s: invalid_request', (_name, over) => {
    given(history.approved()).when(cmd.claim(over)).thenRefused('invalid_request');
  });
});

describe('RecordDispatch', () => {
  it('records the publish of the claimed attempt: JobDispatched, state DISPATCHED', () => {
    given(history.claimed())
      .when(cmd.record())
      .thenEvents([
        {
          type: 'JobDispatched',
          data: { job_id: JOB_ID, attempt: 1, idempotency_key: KEY, topic: 'signoff.jobs.dispatch', partition: 3, offset: '17' },
        },
      ])
      .thenOutcome({ job_id: JOB_ID, status: 'dispatched', attempt: 1, state: 'DISPATCHED' })
      .thenStatus('DISPATCHED');
  });

  it('again: already_dispatched with the first partition/offset, no events', () => {
    given(history.dispatched())
      .when(cmd.record({ partition: 5, offset: '99' }))
      .thenNoEvents()
      .thenOutcome({ job_id: JOB_ID, status: 'already_dispatched', attempt: 1, partition: 3, offset: '17' });
  });

  it.each([
    ['RUNNING', [ev.started()], 'RUNNING'],
    ['SUCCEEDED', [ev.completed('succeeded')], 'SUCCEEDED'],
  ] as const)('the worker reported first (%s): the publish is recorded, the state kept', (_name, reports, status) => {
    given(history.claimed(), reports)
      .when(cmd.record())
      .thenEventTypes('JobDispatched')
      .thenOutcome({ job_id: JOB_ID, status: 'dispatched', attempt: 1, state: status })
      .thenStatus(status);
  });

  it('an unclaimed attempt: invalid_request', () => {
    given(history.approved()).when(cmd.record()).thenRefused('invalid_request');
  });

  it('a superseded or unopened attempt: invalid_request', () => {
    given(history.dispatched(), ev.replayed(2), ev.claimed(2)).when(cmd.record({ attempt: 1 })).thenRefused('invalid_request');
    given(history.claimed()).when(cmd.record({ attempt: 2 })).thenRefused('invalid_request');
  });

  it('another key: invalid_request', () => {
    given(history.claimed()).when(cmd.record({ idempotency_key: 'other' })).thenRefused('invalid_request');
  });

  it.each(NEVER_DISPATCHABLE)('never from %s: %s', (status, code) => {
    given(HISTORY_BY_STATUS[status]()).when(cmd.record()).thenRefused(code);
  });

  it.each([
    ['negative partition', { partition: -1 }],
    ['fractional partition', { partition: 1.5 }],
    ['no offset', { offset: '' }],
    ['no topic', { topic: '' }],
    ['attempt 0', { attempt: 0 }],
  ])('%s: invalid_request', (_name, over) => {
    given(history.claimed()).when(cmd.record(over)).thenRefused('invalid_request');
  });
});

describe('ReplayDispatch', () => {
  it('not_published: a pending job never claimed gets attempt 2', () => {
    given(history.approved())
      .when(cmd.replay({ reason: 'not_published' }))
      .thenEvents([{ type: 'DispatchReplayed', data: { job_id: JOB_ID, attempt: 2, reason: 'not_published' } }])
      .thenOutcome({ job_id: JOB_ID, status: 'replayed', attempt: 2 })
      .thenStatus('PENDING');
  });

  it('not_recorded: a claimed attempt never recorded is replayed; the claim is cleared, the key kept', () => {
    const then = given(history.claimed()).when(cmd.replay({ reason: 'not_recorded' })).thenEventTypes('DispatchReplayed');
    const after = then.after;
    expect(after.status === 'PENDING' && after.dispatch).toMatchObject({ attempt: 2, idempotency_key: KEY, claim: null });
  });

  it('not_acknowledged: a dispatched job goes back to PENDING for attempt 2', () => {
    given(history.dispatched())
      .when(cmd.replay())
      .thenEvents([{ type: 'DispatchReplayed', data: { job_id: JOB_ID, attempt: 2, reason: 'not_acknowledged' } }])
      .thenStatus('PENDING');
  });

  it('another replayer opened the attempt already: already_replayed, no events', () => {
    given(history.dispatched(), ev.replayed(2))
      .when(cmd.replay())
      .thenNoEvents()
      .thenOutcome({ job_id: JOB_ID, status: 'already_replayed', attempt: 2 });
  });

  it.each([
    ['claimed since (not_published)', [...history.claimed()], 'not_published', 'PENDING'],
    ['recorded since (not_recorded)', [...history.dispatched()], 'not_recorded', 'DISPATCHED'],
    ['started since', [...history.running()], 'not_acknowledged', 'RUNNING'],
    ['completed since', [...history.succeeded()], 'not_acknowledged', 'SUCCEEDED'],
    ['failed since', [...history.failed()], 'not_acknowledged', 'FAILED'],
  ] as const)('the job got further, %s: not_needed, no events', (_name, stream, reason, state) => {
    given(stream as JobEvent[])
      .when(cmd.replay({ reason }))
      .thenNoEvents()
      .thenOutcome({ job_id: JOB_ID, status: 'not_needed', state });
  });

  it('a reason for a stage the attempt has not reached: invalid_request', () => {
    given(history.approved()).when(cmd.replay({ reason: 'not_acknowledged' })).thenRefused('invalid_request');
    given(history.claimed()).when(cmd.replay({ reason: 'not_acknowledged' })).thenRefused('invalid_request');
  });

  it('an attempt that skips one, or attempt 1: invalid_request', () => {
    given(history.dispatched()).when(cmd.replay({ attempt: 3 })).thenRefused('invalid_request');
    given(history.dispatched()).when(cmd.replay({ attempt: 1 })).thenRefused('invalid_request');
  });

  describe('bounded attempts', () => {
    const atAttempt3 = () => [
      ...history.dispatched(),
      ev.replayed(2),
      ev.claimed(2),
      ev.dispatched(2),
      ev.replayed(3),
      ev.claimed(3),
      ev.dispatched(3),
    ];

    it('the last allowed attempt is still replayed', () => {
      given(atAttempt3().slice(0, -3)).when(cmd.replay({ attempt: 3, max_attempts: 3 })).thenEventTypes('DispatchReplayed');
    });

    it('beyond max_attempts: DispatchAbandoned, terminal, shown as FAILED', () => {
      const then = given(atAttempt3())
        .when(cmd.replay({ attempt: 4, max_attempts: 3 }))
        .thenEvents([
          { type: 'DispatchAbandoned', data: { job_id: JOB_ID, attempts: 3, max_attempts: 3, reason: 'not_acknowledged' } },
        ])
        .thenOutcome({ job_id: JOB_ID, status: 'abandoned', attempts: 3, max_attempts: 3 })
        .thenStatus('DISPATCH_ABANDONED');
      expect(toJobView(then.after)).toMatchObject({
        state: 'FAILED',
        dispatch: { attempt: 3, abandoned: { attempts: 3, max_attempts: 3, reason: 'not_acknowledged' } },
      });
      expect(toJobView(then.after)?.result).toBeUndefined();
    });

    it('max_attempts 1: the first replay abandons', () => {
      given(history.dispatched()).when(cmd.replay({ max_attempts: 1 })).thenEventTypes('DispatchAbandoned');
    });

    it('after abandonment: replay answers already_abandoned, claim is lost', () => {
      given(history.abandoned())
        .when(cmd.replay({ attempt: 3 }))
        .thenNoEvents()
        .thenOutcome({ job_id: JOB_ID, status: 'already_abandoned', attempts: 2 });
      given(history.abandoned()).when(cmd.claim({ attempt: 2 })).thenNoEvents();
    });

    it('after abandonment a late worker report is still recorded (the side effect did run)', () => {
      given(history.abandoned()).when(cmd.started()).thenEventTypes('JobStarted').thenStatus('RUNNING');
      given(history.abandoned()).when(cmd.completed()).thenEventTypes('JobCompleted').thenStatus('SUCCEEDED');
    });
  });

  it.each(NEVER_DISPATCHABLE)('never from %s: %s', (status, code) => {
    given(HISTORY_BY_STATUS[status]()).when(cmd.replay()).thenRefused(code);
  });

  it.each([
    ['max_attempts 0', { max_attempts: 0 }],
    ['unknown reason', { reason: 'bored' as 'not_published' }],
  ])('%s: invalid_request', (_name, over) => {
    given(history.dispatched()).when(cmd.replay(over)).thenRefused('invalid_request');
  });
});

describe('ReplayDispatch that claims the attempt it opens (one append)', () => {
  const claim = { claimed_by: 'dispatcher-b', idempotency_key: 'fresh-key' };

  it('not_acknowledged: DispatchReplayed and DispatchClaimed of attempt 2, the first key kept', () => {
    const then = given(history.dispatched())
      .when(cmd.replay({ claim }))
      .thenEvents([
        { type: 'DispatchReplayed', data: { job_id: JOB_ID, attempt: 2, reason: 'not_acknowledged' } },
        { type: 'DispatchClaimed', data: { job_id: JOB_ID, attempt: 2, idempotency_key: KEY, claimed_by: 'dispatcher-b' } },
      ])
      .thenOutcome({
        job_id: JOB_ID,
        status: 'replayed',
        attempt: 2,
        claimed: { job_id: JOB_ID, status: 'claimed', attempt: 2, idempotency_key: KEY, claimed_by: 'dispatcher-b' },
      })
      .thenStatus('PENDING');
    expect(then.after.status === 'PENDING' && then.after.dispatch).toMatchObject({ attempt: 2, claim: { claimed_by: 'dispatcher-b' }, published: null });
  });

  it('the same two events as a replay followed by a claim of the opened attempt', () => {
    const together = given(history.claimed()).when(cmd.replay({ reason: 'not_recorded', claim })).events;
    const replayed = given(history.claimed()).when(cmd.replay({ reason: 'not_recorded' })).events;
    const claimed = given([...history.claimed(), ...replayed]).when(cmd.claim({ attempt: 2, claimed_by: 'dispatcher-b' })).events;
    expect(together).toEqual([...replayed, ...claimed]);
  });

  it('a job never claimed (no key fixed yet) gets the key the claim brings', () => {
    given(history.approved())
      .when(cmd.replay({ reason: 'not_published', claim }))
      .thenEvents([
        { type: 'DispatchReplayed', data: { job_id: JOB_ID, attempt: 2, reason: 'not_published' } },
        { type: 'DispatchClaimed', data: { job_id: JOB_ID, attempt: 2, idempotency_key: 'fresh-key', claimed_by: 'dispatcher-b' } },
      ]);
  });

  it('the claim fences: another dispatcher loses attempt 2, the claimant records its publish', () => {
    const stream = [...history.dispatched(), ...given(history.dispatched()).when(cmd.replay({ claim })).events];
    given(stream)
      .when(cmd.claim({ attempt: 2, claimed_by: 'dispatcher-a' }))
      .thenNoEvents()
      .thenOutcome({ job_id: JOB_ID, status: 'claim_lost', attempt: 2, claimed_by: 'dispatcher-b', state: 'PENDING' });
    given(stream).when(cmd.claim({ attempt: 2, claimed_by: 'dispatcher-b' })).thenNoEvents();
    given(stream).when(cmd.record({ attempt: 2, offset: '18' })).thenEventTypes('JobDispatched').thenStatus('DISPATCHED');
  });

  it('no claim where the replay opens no attempt: abandoned, already replayed, not needed, void grant', () => {
    given(history.dispatched()).when(cmd.replay({ max_attempts: 1, claim })).thenEventTypes('DispatchAbandoned');
    given(history.dispatched(), ev.replayed(2)).when(cmd.replay({ claim })).thenNoEvents();
    given(history.running()).when(cmd.replay({ claim })).thenNoEvents();
    given(history.approved())
      .when(cmd.replay({ reason: 'not_published', claim, grant_fact: { approval_id: APPROVAL_ID, active_policy_snapshot: 'another-snapshot' } }))
      .thenEventTypes('ApprovalInvalidated');
  });

  it.each([
    ['no claimant', { claim: { claimed_by: '', idempotency_key: 'k' } }],
    ['no key', { claim: { claimed_by: 'dispatcher-b', idempotency_key: '' } }],
  ])('a claim with %s: invalid_request', (_name, over) => {
    given(history.dispatched()).when(cmd.replay(over)).thenRefused('invalid_request');
  });
});

describe('a whole dispatch with a replay', () => {
  it('keeps one idempotency key from the first claim to the result', () => {
    let stream: JobEvent[] = history.approved();
    const steps = [
      cmd.claim(),
      cmd.record(),
      cmd.replay({ attempt: 2, reason: 'not_acknowledged' }),
      cmd.claim({ attempt: 2, claimed_by: 'dispatcher-b' }),
      cmd.record({ attempt: 2, offset: '18' }),
      cmd.started(),
      cmd.completed(),
    ];
    for (const command of steps) {
      const then = given(stream).when(command);
      expect(then.result.ok, JSON.stringify(then.result)).toBe(true);
      expect(then.events).toHaveLength(1);
      stream = [...stream, ...then.events];
    }
    const keys = stream.flatMap((e) => ('idempotency_key' in e.data ? [e.data.idempotency_key] : []));
    expect(keys).toHaveLength(6);
    expect(new Set(keys)).toEqual(new Set([KEY]));
    expect(toJobView(foldJob(stream))).toMatchObject({
      state: 'SUCCEEDED',
      dispatch: { attempt: 2, claimed_by: 'dispatcher-b', offset: '18', replays: 1 },
      result: { status: 'succeeded', result: { paid: true } },
    });
  });
});
