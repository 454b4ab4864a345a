import { describe, it } from 'vitest';
import { HISTORY_BY_STATUS, JOB_ID, KEY, REQUEST, cmd, ev, given, history } from './testing/job.test-kit';

const TENANT = REQUEST.tenant;

const NEVER_DISPATCHABLE = [
  ['initial', 'not_found'],
  ['APPROVAL_REQUIRED', 'forbidden'],
  ['DENIED', 'policy_denied'],
  ['REJECTED', 'already_rejected'],
  ['EXPIRED', 'expired'],
  ['INVALIDATED', 'invalidated'],
] as const;

describe('RecordJobStarted', () => {
  it('a dispatched job starts: JobStarted, state RUNNING', () => {
    given(history.dispatched())
      .when(cmd.started())
      .thenEvents([{ type: 'JobStarted', data: { job_id: JOB_ID, idempotency_key: KEY, worker: 'worker-1' } }])
      .thenOutcome({ job_id: JOB_ID, status: 'started', state: 'RUNNING' })
      .thenStatus('RUNNING');
  });

  it('claimed but the publish not recorded yet (dispatcher slow or dead): accepted', () => {
    given(history.claimed()).when(cmd.started()).thenEventTypes('JobStarted').thenStatus('RUNNING');
  });

  it('after a replay opened attempt 2: a late start of attempt 1 is accepted (same key)', () => {
    given(history.dispatched(), ev.replayed(2)).when(cmd.started()).thenEventTypes('JobStarted').thenStatus('RUNNING');
  });

  it('again: already_started, no events', () => {
    given(history.running()).when(cmd.started()).thenNoEvents().thenOutcome({ job_id: JOB_ID, status: 'already_started' });
  });

  it.each([
    ['SUCCEEDED', 'succeeded'],
    ['FAILED', 'failed'],
  ] as const)('after completion (%s): already_completed, the state never moves back', (status, result) => {
    given(HISTORY_BY_STATUS[status]())
      .when(cmd.started())
      .thenNoEvents()
      .thenOutcome({ job_id: JOB_ID, status: 'already_completed', result_status: result })
      .thenStatus(status);
  });

  it('never claimed: not_dispatched, nothing recorded (a forged start cannot take a job out of replay)', () => {
    given(history.approved()).when(cmd.started()).thenRefused('not_dispatched').thenStatus('PENDING');
  });

  it('another key: not_dispatched, the job stays DISPATCHED', () => {
    given(history.dispatched()).when(cmd.started({ idempotency_key: 'forged' })).thenRefused('not_dispatched').thenStatus('DISPATCHED');
  });

  it('an attempt that was never claimed (the right key, attempt 2 while only attempt 1 was dispatched): not_dispatched', () => {
    given(history.dispatched()).when(cmd.started({ attempt: 2 })).thenRefused('not_dispatched').thenStatus('DISPATCHED');
    // Attempt 2 opened by a replay but not claimed yet: still nothing to report on.
    given(history.dispatched(), ev.replayed(2)).when(cmd.started({ attempt: 2 })).thenRefused('not_dispatched');
  });

  it('an attempt claimed after a replay: accepted, and so is a late report of attempt 1', () => {
    given(history.dispatched(), ev.replayed(2), ev.claimed(2)).when(cmd.started({ attempt: 2 })).thenEventTypes('JobStarted');
    given(history.dispatched(), ev.replayed(2), ev.claimed(2)).when(cmd.started({ attempt: 1 })).thenEventTypes('JobStarted');
  });

  it('a worker whose credential covers other tenants only: forbidden; one covering the job tenant: accepted', () => {
    given(history.dispatched()).when(cmd.started({ reporter_tenants: ['other'] })).thenRefused('forbidden').thenStatus('DISPATCHED');
    given(history.dispatched()).when(cmd.started({ reporter_tenants: [] })).thenRefused('forbidden');
    given(history.dispatched()).when(cmd.started({ reporter_tenants: ['other', TENANT] })).thenEventTypes('JobStarted');
    given(history.dispatched()).when(cmd.started({ reporter_tenants: null })).thenEventTypes('JobStarted');
    // A scope that is not a list is refused, not matched by substring and not thrown on.
    for (const scope of [{}, TENANT, `${TENANT}-and-more`, [TENANT, 7], 42]) {
      const reporter_tenants = scope as unknown as string[];
      given(history.dispatched()).when(cmd.started({ reporter_tenants })).thenRefused('invalid_request').thenStatus('DISPATCHED');
      given(history.dispatched()).when(cmd.completed({ reporter_tenants })).thenRefused('invalid_request');
      given(history.running()).when(cmd.unknown({ reporter_tenants })).thenRefused('invalid_request').thenStatus('RUNNING');
    }
  });

  it('no attempt or a bad one: invalid_request', () => {
    given(history.dispatched()).when(cmd.started({ attempt: 0 })).thenRefused('invalid_request');
    given(history.dispatched()).when(cmd.started({ attempt: undefined as unknown as number })).thenRefused('invalid_request');
  });

  it('no worker: invalid_request', () => {
    given(history.dispatched()).when(cmd.started({ worker: '' })).thenRefused('invalid_request');
  });

  it.each(NEVER_DISPATCHABLE)('never from %s: %s', (status, code) => {
    given(HISTORY_BY_STATUS[status]()).when(cmd.started()).thenRefused(code);
  });
});

describe('RecordJobCompleted', () => {
  it('succeeded with a result: JobCompleted, state SUCCEEDED', () => {
    given(history.running())
      .when(cmd.completed())
      .thenEvents([
        { type: 'JobCompleted', data: { job_id: JOB_ID, idempotency_key: KEY, status: 'succeeded', result: { paid: true } } },
      ])
      .thenOutcome({ job_id: JOB_ID, status: 'completed', result_status: 'succeeded', state: 'SUCCEEDED' })
      .thenStatus('SUCCEEDED');
  });

  it('failed with an error: state FAILED', () => {
    given(history.running())
      .when(cmd.completed({ status: 'failed', result: undefined, error: 'bank refused' }))
      .thenEvents([
        { type: 'JobCompleted', data: { job_id: JOB_ID, idempotency_key: KEY, status: 'failed', error: 'bank refused' } },
      ])
      .thenOutcome({ job_id: JOB_ID, status: 'completed', result_status: 'failed', state: 'FAILED' })
      .thenStatus('FAILED');
  });

  it.each([
    ['DISPATCHED (started report lost)', history.dispatched],
    ['PENDING, claimed (publish not recorded)', history.claimed],
    ['DISPATCH_ABANDONED', history.abandoned],
  ])('from %s: accepted', (_name, make) => {
    given(make()).when(cmd.completed()).thenEventTypes('JobCompleted').thenStatus('SUCCEEDED');
  });

  it('the same result again: already_completed, no events', () => {
    given(history.succeeded())
      .when(cmd.completed())
      .thenNoEvents()
      .thenOutcome({ job_id: JOB_ID, status: 'already_completed', result_status: 'succeeded' });
  });

  it('a conflicting second result: invalid_request, the first stands', () => {
    given(history.succeeded()).when(cmd.completed({ status: 'failed' })).thenRefused('invalid_request').thenStatus('SUCCEEDED');
  });

  it('never claimed: not_dispatched, nothing recorded', () => {
    given(history.allowed()).when(cmd.completed()).thenRefused('not_dispatched').thenStatus('PENDING');
  });

  it('another key: not_dispatched', () => {
    given(history.running()).when(cmd.completed({ idempotency_key: 'forged' })).thenRefused('not_dispatched').thenStatus('RUNNING');
  });

  it('an attempt that was never claimed: not_dispatched; a worker of another tenant: forbidden', () => {
    given(history.dispatched()).when(cmd.completed({ attempt: 3 })).thenRefused('not_dispatched').thenStatus('DISPATCHED');
    given(history.dispatched()).when(cmd.completed({ reporter_tenants: ['other'] })).thenRefused('forbidden').thenStatus('DISPATCHED');
  });

  it('an unknown status: invalid_request', () => {
    given(history.running())
      .when(cmd.completed({ status: 'started' as 'succeeded' }))
      .thenRefused('invalid_request');
  });

  it.each(NEVER_DISPATCHABLE)('never from %s: %s', (status, code) => {
    given(HISTORY_BY_STATUS[status]()).when(cmd.completed()).thenRefused(code);
  });
});
